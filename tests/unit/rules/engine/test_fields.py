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
    ("regular_price is not of type string", "regular_price"),
    ("shop_cipher is not allowed in this api", "shop_cipher"),
    ("Invalid enumerated value 'Parcels' for attribute 'merchant_shipping_group'.", "merchant_shipping_group"),
    ('"price" must be a number', "price"),
    ("Key: 'Order.Items[0].Sku' Error:Field validation for 'Sku' failed on the 'required' tag", "Sku"),
    ("The value 'abc' is not valid for Quantity.", "Quantity"),
    ("The selected status is invalid.", "status"),
    ("Title can't be blank", "Title"),
    ("/items/0/sku must be string", "items.0.sku"),
    ("Price must be greater than 0", "Price"),
    ("Stock cannot be negative", "Stock"),
    ("Error converting value \"abc\" to type 'System.Int32'. Path 'quantity', line 1, position 20.", "quantity"),
    ("The field quantity must be a number.", "quantity"),
    ("quantity: A valid integer is required.", "quantity"),
])
def test_the_field_a_message_names(message, field):
    assert from_message(message) == field


@pytest.mark.parametrize("message", ["The postcode is not valid for the selected country",
                                     "Request must be signed", "Value must be positive",
                                     "Invalid credentials.", "The sign is invalid", "Missing required parameter",
                                     "Invalid request, please check your input.", "Parameter is missing",
                                     "Invalid Date Format", "The product does not exist", "Invalid request id"])
def test_messages_that_name_no_field(message):
    assert from_message(message) is None


@pytest.mark.parametrize("body, field", [
    ([{"code": "DELIVERY_METHOD_NOT_AVAILABLE", "message": "m", "path": "/serviceId"}], "serviceId"),
    ({"code": "90244", "message": "m", "attributeName": "merchant_shipping_group"}, "merchant_shipping_group"),
    ({"message": "The given data was invalid.", "errors": {"title": ["The title field is required."]}}, "title"),
    ({"title": "One or more validation errors occurred.", "status": 400, "errors": {"Name": ["required"]}}, "Name"),
    ({"type": "about:blank", "invalid-params": [{"name": "age", "reason": "must be positive"}]}, "age"),
    ({"errors": [{"status": "422", "source": {"pointer": "/data/attributes/title"}, "detail": "x"}]},
     "data.attributes.title"),
    ({"detail": [{"loc": ["body", "items", 0, "sku"], "msg": "field required", "type": "missing"}]}, "items.0.sku"),
    ({"errors": [{"instancePath": "/items/0/sku", "message": "must be string"}]}, "items.0.sku"),
    ({"error": {"code": "X", "message": "Y"}}, None),
])
def test_the_field_a_body_names(body, field):
    assert FieldFinder(normalize({"status": 400, "endpoint": "/x", "body": body})).named(
        "validation.invalid_value", {}) == field


def test_the_field_as_the_request_spelled_it():
    fact = normalize({"status": 400, "endpoint": "https://x/reports?pageSize=10&reportTypes=X",
                      "body": {"errors": [{"code": "InvalidInput", "message": "Invalid Report Type __X__"}]}})
    assert FieldFinder(fact).named("validation.invalid_value", {}) == "reportTypes"
    fact = normalize({"status": 422, "endpoint": "/offers", "body": {"message": "Currency is incorrect for the market"},
                      "request": {"body": {"sellingMode": {"price": {"amount": "1", "currency": "PLN"}}}}})
    assert FieldFinder(fact).named("validation.invalid_value", {}) == "sellingMode.price.currency"
    fact = normalize({"status": 400, "endpoint": "https://m.example/api/orders/1/ship?shop_id=9",
                      "body": "Client error: `PUT https://m.example/api/orders/1/ship?shop_id=9` resulted in a 400"})
    assert FieldFinder(fact).named("validation.invalid_value", {}) is None, "a URL in the message names no field"
    fact = normalize({"status": 400, "endpoint": "/token", "body": {"error": "invalid_request",
                                                                    "error_description": "Missing grant type"}})
    assert FieldFinder(fact).named("validation.missing_field", {"field": "grant type"}) == "grant_type"


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
