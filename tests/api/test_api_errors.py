"""Bad input of every kind gets a 4xx problem+json that names what is wrong, never a 500."""

import json

import pytest

PROBLEM = "application/problem+json"
OK = {"status": 400, "endpoint": "https://open-api.tiktokglobalshop.com/order/202309/orders"}


def post(client, body, content_type="application/json", **kw):
    data = body if isinstance(body, bytes | str) else json.dumps(body)
    return client.post("/diagnose", data=data, content_type=content_type, **kw)


def names(response):
    return [p["name"] for p in response.get_json()["invalid-params"]]


def test_wrong_media_type_is_415(client):
    response = post(client, "status=400", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415
    assert response.mimetype == PROBLEM
    assert response.get_json()["status"] == 415


@pytest.mark.parametrize("raw", [b"{", b"not json", b'{"status": 400,}', b"\xff\xfe{}"])
def test_broken_json_is_400(client, raw):
    response = post(client, raw)
    assert response.status_code == 400
    assert response.mimetype == PROBLEM
    assert response.get_json()["detail"]


def test_json_that_is_not_an_object_is_400(client):
    response = post(client, [OK])
    assert response.status_code == 400
    assert "object" in response.get_json()["detail"]


def nested_json(levels: int) -> bytes:
    return b'{"body": ' + b"[" * levels + b"]" * levels + b"}"


def test_json_nested_past_the_parser_is_400_not_500(client):
    """200 kB, within the body limit: the parser's refusal is the answer."""
    response = post(client, nested_json(100_000))
    assert response.status_code == 400
    assert response.mimetype == PROBLEM
    assert response.get_json()["detail"] == "the JSON body is nested too deeply"


def test_json_nested_past_the_parser_and_the_body_limit_is_413_before_it_is_parsed(client):
    response = post(client, nested_json(600_000))
    assert response.status_code == 413
    assert [p["name"] for p in response.get_json()["invalid-params"]] == ["content"]


def test_body_over_one_mebibyte_is_413(client):
    response = post(client, {**OK, "body": "x" * (1024 * 1024)})
    assert response.status_code == 413
    assert response.mimetype == PROBLEM


@pytest.mark.parametrize("payload, field", [
    ({"endpoint": "/x"}, "status"),
    ({"status": 400}, "endpoint"),
    ({**OK, "status": "400"}, "status"),
    ({**OK, "status": 600}, "status"),
    ({**OK, "status": True}, "status"),
    ({**OK, "platform": "ebay"}, "platform"),
    ({**OK, "region": "USA"}, "region"),
    ({**OK, "domain": "shipping"}, "domain"),
    ({**OK, "headers": ["X-A: 1"]}, "headers"),
    ({**OK, "headers": {"Bad Header": "1"}}, "headers"),
    ({**OK, "headers": {f"x-h{i}": "1" for i in range(101)}}, "headers"),
    ({**OK, "body": 12}, "body"),
    ({**OK, "body": {"a": json.loads("[" * 40 + "]" * 40)}}, "body"),
    ({**OK, "context": {"environment": "staging"}}, "context.environment"),
    ({**OK, "context": {"retry_count": -1}}, "context.retry_count"),
    ({**OK, "context": {"sent_at": "yesterday"}}, "context.sent_at"),
    ({**OK, "request": {"body": 1}}, "request.body"),
    ({**OK, "context": {"bad key": 1}}, "context.bad key"),
    ({**OK, "context": {f"k{i}": 1 for i in range(33)}}, "context"),
    ({**OK, "context": {"note": "x" * 300_000}}, "context.note"),
])
def test_invalid_fields_are_422_and_named(client, payload, field):
    response = post(client, payload)
    assert response.status_code == 422, response.get_json()
    assert response.mimetype == PROBLEM
    assert field in names(response)
    assert field in response.get_json()["detail"]


def test_unknown_route_and_method_are_problems(client):
    missing = client.get("/nope")
    assert missing.status_code == 404 and missing.mimetype == PROBLEM
    wrong = client.get("/diagnose")
    assert wrong.status_code == 405 and wrong.mimetype == PROBLEM
    assert "POST" in wrong.headers["Allow"]


def test_every_response_carries_security_headers_and_request_id(client):
    response = post(client, OK, headers={"X-Request-ID": "erp-123"})
    assert response.status_code == 200
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Request-ID"] == "erp-123"
    assert response.get_json()["request_id"] == "erp-123"
