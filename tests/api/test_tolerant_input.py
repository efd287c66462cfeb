"""Real payloads carry more than the contract names: an ERP's own context keys, fields of
its own log format. They are diagnosed, not refused; wrong types of known fields still are."""

from rules.engine import Engine
from rules.kb.loader import RuleDocument, build_rules
from service.schemas import DiagnoseRequestSchema
from tests.unit.rules.engine.test_score import BASE

OK = {"status": 429, "endpoint": "https://open-api.tiktokglobalshop.com/order/202309/orders",
      "body": {"code": 429, "message": "Too many requests"}}


def test_unknown_top_level_fields_are_ignored_and_named_in_warnings(client):
    response = client.post("/diagnose", json={**OK, "erp_ticket": "T-1", "tls": "1.2"})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["warnings"] == ["unknown field 'erp_ticket' ignored", "unknown field 'tls' ignored"]
    assert "warnings" not in client.post("/diagnose", json=OK).get_json()


def test_a_batch_item_with_unknown_fields_is_answered_with_its_warnings(client):
    response = client.post("/diagnose/batch", json={"items": [{**OK, "note": "x"}, OK]})
    results = response.get_json()["results"]
    assert results[0]["warnings"] == ["unknown field 'note' ignored"] and "warnings" not in results[1]


def test_context_keeps_the_erps_own_keys(client):
    context = {"note": "retried by cron", "tls_version": "1.2", "order_id": 576461413038785752, "flags": ["a"]}
    response = client.post("/diagnose", json={**OK, "context": context})
    assert response.status_code == 200, response.get_json()
    assert DiagnoseRequestSchema().load({**OK, "context": context})["context"] == context


def test_wrong_types_of_known_fields_are_still_refused(client):
    for payload, name in [({**OK, "status": "429"}, "status"), ({**OK, "context": {"retry_count": "x"}},
                                                                "context.retry_count")]:
        response = client.post("/diagnose", json=payload)
        assert response.status_code == 422
        assert name in [p["name"] for p in response.get_json()["invalid-params"]]


def test_a_rule_can_name_an_erps_context_key():
    body = {**BASE, "id": "generic.t.tls", "platforms": ["generic"], "when": {"context": {"tls_version": "1.0"}},
            "then": {**BASE["then"], "category": "network.connection_failed"}}
    engine = Engine(build_rules([RuleDocument("generic/network.yaml", body)]), "t")
    try:
        payload = DiagnoseRequestSchema().load({"status": 0, "endpoint": "/x", "context": {"tls_version": "1.0"}})
        assert engine.diagnose(payload)["diagnoses"][0]["rule_id"] == "generic.t.tls"
    finally:
        engine.close()
