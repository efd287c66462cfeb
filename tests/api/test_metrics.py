"""/metrics in one process (the default registry): what /diagnose answered, by label."""

from prometheus_client.parser import text_string_to_metric_families

MATCHED = {  # a 429 from SP-API: rate_limit.exceeded, the integrator's to fix
    "status": 429,
    "endpoint": "https://sellingpartnerapi-na.amazon.com/orders/v0/orders",
    "body": {"errors": [{"code": "QuotaExceeded", "message": "You exceeded your quota for the requested resource."}]},
}
UNMATCHED = {"status": 418, "endpoint": "https://open-api.tiktokglobalshop.com/x/y", "body": "teapot"}


def samples(client) -> dict:
    response = client.get("/metrics")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    out = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def delta(before, after, name, **labels):
    key = (name, tuple(sorted(labels.items())))
    return after.get(key, 0) - before.get(key, 0)


def test_two_diagnoses_are_counted_with_their_labels(client):
    before = samples(client)
    first = client.post("/diagnose", json=MATCHED).get_json()
    second = client.post("/diagnose", json=UNMATCHED).get_json()
    after = samples(client)

    answer = first["diagnoses"][0]
    assert first["matched"] and (first["platform"], answer["category"]) == ("amazon_sp", "rate_limit.exceeded")
    assert delta(before, after, "opsdiag_diagnoses_total", category=answer["category"], owner=answer["owner"],
                 platform="amazon_sp") == 1
    assert not second["matched"] and second["platform"] == "tiktok_shop"
    fallback = second["diagnoses"][0]
    assert fallback["category"] == "unknown"
    assert delta(before, after, "opsdiag_diagnoses_total", category="unknown", owner=fallback["owner"],
                 platform="tiktok_shop") == 1
    assert delta(before, after, "opsdiag_unmatched_total", platform="tiktok_shop") == 1
    assert delta(before, after, "opsdiag_unmatched_total", platform="amazon_sp") == 0
    assert delta(before, after, "opsdiag_http_request_duration_seconds_count",
                 method="POST", route="/diagnose", status="200") == 2


def test_refused_requests_are_timed_but_not_counted_as_diagnoses(client):
    before = samples(client)
    assert client.post("/diagnose", json={"status": "x"}).status_code == 422
    assert client.get("/no/such/path/123").status_code == 404
    after = samples(client)
    diagnoses = [k for k in after if k[0] == "opsdiag_diagnoses_total" and after[k] != before.get(k, 0)]
    assert diagnoses == []
    assert delta(before, after, "opsdiag_http_request_duration_seconds_count",
                 method="POST", route="/diagnose", status="422") == 1
    # an unknown path is one label value, never the path itself (bounded cardinality)
    assert delta(before, after, "opsdiag_http_request_duration_seconds_count",
                 method="GET", route="unmatched", status="404") == 1
    assert not any("/no/such/path" in str(k) for k in after)


def test_knowledge_base_version_and_reloads(client, local_kb):
    after = samples(client)
    status = local_kb.status()
    assert after[("opsdiag_kb_info", (("kb_source", "kb_content"), ("kb_version", status.kb_version)))] == 1
    assert after[("opsdiag_kb_rules", ())] == status.rule_count
    assert after[("opsdiag_kb_reloads", ())] == status.reloads
