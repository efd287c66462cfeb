"""POST /diagnose/batch: many payloads in one request, answered in order, per-item errors."""

import json

PROBLEM = "application/problem+json"
EXPIRED = {"id": "E1", "status": 401, "platform": "tiktok_shop",
           "endpoint": "https://open-api.tiktokglobalshop.com/order/202309/orders",
           "body": {"code": 105002, "message": "Expired credentials. The 'x-tts-access-token' header has expired."}}
DOWN = {"status": 503, "endpoint": "https://api.lazada.sg/rest/orders/get"}


def post(client, body, **kw):
    return client.post("/diagnose/batch", data=json.dumps(body), content_type="application/json", **kw)


def test_items_are_answered_in_order_with_per_item_errors(client):
    items = [EXPIRED, {"id": "bad", "status": "oops", "endpoint": "/orders"}, DOWN, "not an object",
             {"status": 401, "endpoint": "/x", "context": {"retry_count": -1}}]
    response = post(client, {"items": items})
    assert response.status_code == 200
    body = response.get_json()
    assert (body["count"], body["failed"]) == (5, 3)
    results = body["results"]
    assert [r["index"] for r in results] == [0, 1, 2, 3, 4]
    assert results[0]["id"] == "E1" and results[0]["diagnoses"][0]["category"] == "auth.token_expired"
    assert results[1]["id"] == "bad" and [p["name"] for p in results[1]["error"]["invalid-params"]] == ["status"]
    assert results[1]["error"]["status"] == 422
    assert results[2]["platform"] == "lazada" and results[2]["diagnoses"][0]["owner"] == "platform"
    assert "object" in results[3]["error"]["detail"]
    assert [p["name"] for p in results[4]["error"]["invalid-params"]] == ["context.retry_count"]


def test_each_answer_is_the_single_diagnose_answer(client):
    single = client.post("/diagnose", data=json.dumps(EXPIRED), content_type="application/json",
                         headers={"Accept-Language": "zh-CN"}).get_json()
    batch = post(client, {"items": [EXPIRED]}, headers={"Accept-Language": "zh-CN"})
    assert batch.headers["Content-Language"] == "zh-CN"
    item = batch.get_json()["results"][0]
    assert item["diagnoses"] == single["diagnoses"]
    assert item["kb_version"] == single["kb_version"]


def test_a_thousand_items_are_taken(client):
    response = post(client, {"items": [DOWN] * 1000})
    assert response.status_code == 200
    assert len(response.get_json()["results"]) == 1000


def test_more_than_a_thousand_items_is_a_422_naming_items(client):
    response = post(client, {"items": [DOWN] * 1001})
    assert response.status_code == 422
    assert response.mimetype == PROBLEM
    params = response.get_json()["invalid-params"]
    assert params[0]["name"] == "items" and "1000" in params[0]["reason"]


def test_malformed_batches_are_problems_not_500s(client):
    for body, status, name in [([DOWN], 400, None), ({"items": "x"}, 422, "items"), ({}, 422, "items"),
                               ({"items": [], "extra": 1}, 422, "extra")]:
        response = post(client, body)
        assert response.status_code == status, body
        assert response.mimetype == PROBLEM
        if name:
            assert name in [p["name"] for p in response.get_json()["invalid-params"]]
    response = client.post("/diagnose/batch", data=b"{", content_type="application/json")
    assert response.status_code == 400 and response.mimetype == PROBLEM


def test_a_batch_over_the_byte_limit_is_a_413(app, client):
    before = app.config.get("MAX_BATCH_CONTENT_LENGTH")
    app.config["MAX_BATCH_CONTENT_LENGTH"] = 1000
    try:
        response = post(client, {"items": [DOWN] * 50})
    finally:
        app.config["MAX_BATCH_CONTENT_LENGTH"] = before
    assert response.status_code == 413 and response.mimetype == PROBLEM
