"""The product brief's scenarios, each through HTTP as an ERP would call it."""

import pytest

from rules.runtime import KnowledgeBase
from service.web.app import create_app

TT = "https://open-api.tiktokglobalshop.com"


def diagnose(client, payload, lang="en"):
    response = client.post("/diagnose", json=payload, headers={"Accept-Language": lang})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def top(client, payload, lang="en"):
    result = diagnose(client, payload, lang)
    assert result["matched"] is True
    return result["diagnoses"][0]


def test_1_missing_required_field_is_named(client):
    result = diagnose(client, {
        "status": 400, "method": "POST", "endpoint": f"{TT}/order/202309/orders",
        "body": {"message": "missing required field: shipping_address.postal_code", "request_id": "202311"},
    })
    assert (result["platform"], result["domain"]) == ("tiktok_shop", "orders")
    assert {"platform", "domain"} <= set(result["inferred"])
    first = result["diagnoses"][0]
    assert first["category"] == "validation.missing_field"
    assert first["owner"] == "integrator"
    assert first["evidence"]["field"] == "shipping_address.postal_code"
    assert any("shipping_address.postal_code" in step for step in first["repair_steps"])
    assert first["doc_url"].startswith("https://")
    assert 0 < first["confidence"] <= 1


def test_1_in_chinese(client):
    first = top(client, {"status": 400, "endpoint": f"{TT}/order/202309/orders",
                         "body": {"message": "missing required field: shipping_address.postal_code"}},
                lang="zh-CN,zh;q=0.9,en;q=0.8")
    assert any("\u4e00" <= ch <= "\u9fff" for ch in first["title"] + first["explanation"])
    assert any("shipping_address.postal_code" in step for step in first["repair_steps"])


def test_2_category_of_another_region(client):
    first = top(client, {
        "status": 400, "method": "POST", "endpoint": f"{TT}/product/202309/products", "region": "US",
        "body": {"message": "category_id not found in current region"},
        "request": {"body": {"category_id": "601226", "title": "Tee"}},
    })
    assert first["category"] == "region.category_unavailable"


def test_3_quantity_sent_as_a_string(client):
    first = top(client, {
        "status": 400, "method": "POST",
        "endpoint": f"{TT}/product/202309/products/1729384756/inventory/update",
        "body": {"code": 36009004, "message": "Invalid parameter"},
        "request": {"body": {"skus": [{"id": "1729", "inventory": [{"warehouse_id": "7068", "quantity": "100"}]}]}},
    })
    assert first["category"] == "validation.type_mismatch"


@pytest.mark.parametrize("headers, message, category", [
    ({"X-RateLimit-Remaining": "0", "X-RateLimit-Limit": "50"}, "Too many requests", "rate_limit.exceeded"),
    ({"X-RateLimit-Remaining": "37"}, "Your IP address has been blocked due to too many requests",
     "rate_limit.ip_blocked"),
    ({}, "access token expired", "auth.token_expired"),
])
def test_4_the_three_faces_of_429(client, headers, message, category):
    first = top(client, {"status": 429, "endpoint": "https://api.erp.example.com/v1/orders",
                         "headers": headers, "body": {"message": message}})
    assert first["category"] == category
    if category == "rate_limit.exceeded":
        assert first["evidence"]["headers.x-ratelimit-remaining"] == 0


def test_4_401_with_expired_token_message(client):
    first = top(client, {"status": 401, "endpoint": "https://api.erp.example.com/v1/orders",
                         "body": {"message": "The access token expired"}})
    assert first["category"] == "auth.token_expired"


def test_5_sandbox_token_against_production_host(client):
    first = top(client, {"status": 401, "endpoint": "https://partner.shopeemobile.com/api/v2/order/get_order_list",
                         "context": {"environment": "sandbox"},
                         "body": {"error": "invalid_acceess_token", "message": "Invalid access_token."}})
    assert first["category"] == "auth.environment_mismatch"
    assert first["evidence"]["derived.environment_mismatch"] is True


SIGN_ERROR = {
    "status": 401, "method": "GET", "endpoint": f"{TT}/authorization/202309/shops?app_key=x&timestamp=1&sign=y",
    "body": {"code": 106001, "message": "Invalid credentials. The 'sign' query parameter is invalid.",
             "request_id": "2023"},
}


def test_6_signature_error_with_a_skewed_clock(client):
    first = top(client, {**SIGN_ERROR, "headers": {"Date": "Tue, 25 Nov 2025 10:10:00 GMT"},
                         "context": {"sent_at": "2025-11-25T10:00:00Z"}})
    assert first["category"] == "signature.timestamp_out_of_range"
    assert first["evidence"]["clock_skew_seconds"] == 600


def test_6_signature_error_without_skew(client):
    first = top(client, {**SIGN_ERROR, "headers": {"Date": "Tue, 25 Nov 2025 10:00:03 GMT"},
                         "context": {"sent_at": "2025-11-25T10:00:00Z"}})
    assert first["category"] == "signature.invalid"


def test_7_webhook_answered_500_by_the_erp(client):
    first = top(client, {"status": 500, "method": "POST", "domain": "webhook",
                         "endpoint": "https://erp.example.com/callbacks/tiktok",
                         "body": "Internal Server Error"})
    assert first["category"] == "webhook.delivery_failed"
    assert first["owner"] == "integrator"


@pytest.mark.parametrize("status, body, category", [
    (401, {"code": 105002, "message": "Expired credentials. The access token has expired."}, "auth.token_expired"),
    (403, {"error": "insufficient_scope", "error_description": "The request requires higher privileges"},
     "auth.permission_denied"),
    (403, {"message": "The shop is not authorized for this app"}, "auth.shop_not_authorized"),
])
def test_8_unauthorized_and_forbidden(client, status, body, category):
    first = top(client, {"status": status, "endpoint": f"{TT}/order/202309/orders/search", "body": body})
    assert first["category"] == category


def test_no_match_answers_from_the_status_alone(tmp_path):
    empty = create_app({"TESTING": True}, kb=KnowledgeBase(None, tmp_path))
    result = empty.test_client().post("/diagnose", json={"status": 502, "endpoint": "/zzz"}).get_json()
    assert result["matched"] is False
    [only] = result["diagnoses"]
    assert (only["category"], only["owner"], only["rule_id"]) == ("unknown", "platform", None)
    assert "502" in only["title"]
