"""A validation error's field, named as the platform names it, and what the request held there."""

import pytest

from rules.engine.fields import FieldFinder, as_sent, from_message
from rules.engine.normalize import normalize


@pytest.mark.parametrize("message, field", [
    ("param body.shipping_address.postal_code is missing", "body.shipping_address.postal_code"),
    ("Missing or invalid request parameters: [marketplaceIds]", "marketplaceIds"),
    ("1 validation error detected: Value null at 'marketplaceIds' failed to satisfy constraint", "marketplaceIds"),
    ("The request has an invalid parameter : scope", "scope"),
    ("Skus is a required field and has not been provided.", "Skus"),
    ("$.shipping_address.postal_code: is missing but it is required", "shipping_address.postal_code"),
    ("The input parameter “seller_sku” that is mandatory for processing this request is not supplied", "seller_sku"),
    ("Missing required field: package_weight", "package_weight"),
    ("'sku' is a required property", "sku"),
    ("The title field is required.", "title"),
    ("Invalid ShipmentStatus: READY_TO_SHIP", "ShipmentStatus"),
    ("createdAfter: must not be null", "createdAfter"),
    ("page_size must be between 1 and 100", "page_size"),
    ("order_sn_list is required", "order_sn_list"),
    ("Invalid category ID", "category_id"),
    ("invalid shipping provider id: null", "shipping_provider_id"),
    ("the shop id is invalid", "shop_id"),
    ("Invalid value for parameter limit[name] provided", "limit"),
    ("invalid value for field: quantity", "quantity"),
    ("Invalid SellerSKU specified: SellerSKU must not be empty.", "SellerSKU"),
])
def test_the_field_a_message_names(message, field):
    assert from_message(message) == field


@pytest.mark.parametrize("message", ["Invalid credentials.", "The sign is invalid", "Missing required parameter",
                                     "Invalid request, please check your input.", "Parameter is missing",
                                     "Invalid Date Format", "The product does not exist", "Invalid request id"])
def test_messages_that_name_no_field(message):
    assert from_message(message) is None


def test_only_validation_diagnoses_name_a_field_and_a_rule_group_wins():
    fact = normalize({"status": 400, "endpoint": "/x", "body": {"message": "Missing required field: sku",
                                                                  "field": "items[0].sku"}})
    finder = FieldFinder(fact)
    assert finder.named("validation.missing_field", {}) == "items[0].sku", "the body's own field key first"
    assert finder.named("auth.token_invalid", {}) is None
    assert finder.named("auth.token_invalid", {"field": "app_key"}) == "app_key"


@pytest.mark.parametrize("body, state", [
    ({"shipping_address": {"city": "x"}}, "absent"), ({"shipping_address": {"postal_code": None}}, "null"),
    ({"shipping_address": {"postal_code": ""}}, "empty"), ({"shipping_address": {"postal_code": "100"}}, "string"),
    ({"shipping_address": {"postal_code": 100}}, "number"), ({"shipping_address": [{"postal_code": [1]}]}, "array"),
])
def test_what_was_sent_at_the_field(body, state):
    fact = normalize({"status": 400, "endpoint": "/x", "request": {"body": body}})
    assert as_sent(fact, "body.shipping_address.postal_code") == state
    assert as_sent(normalize({"status": 400, "endpoint": "/x"}), "x") is None, "no request body: nothing to say"


def test_the_answer_names_the_field_and_fills_it_into_the_text(client):
    payload = {"status": 200, "endpoint": "https://open-api.tiktokglobalshop.com/order/202309/orders",
               "body": {"code": 36009004, "message": "param body.shipping_address.postal_code is missing"},
               "request": {"body": {"shipping_address": {"city": "Austin"}}}}
    top = client.post("/diagnose", json=payload).get_json()["diagnoses"][0]
    assert top["category"] == "validation.missing_field"
    assert top["field"] == "body.shipping_address.postal_code" and top["field_sent"] == "absent"
    assert "shipping_address.postal_code" in top["title"] + top["explanation"] + " ".join(top["repair_steps"])
