"""Every platform's error envelope becomes the same fact; what is absent is inferred."""

import pytest

from rules.engine.normalize import normalize

TT = "https://open-api.tiktokglobalshop.com"


@pytest.mark.parametrize("body, code, message, error_type", [
    # TikTok Shop
    ({"code": 106001, "message": "Invalid credentials. The 'sign' query parameter is invalid.",
      "request_id": "2023"}, "106001", "Invalid credentials. The 'sign' query parameter is invalid.", None),
    # SP-API: first code, every message
    ({"errors": [{"code": "InvalidInput", "message": "a"}, {"code": "X", "message": "b"}]},
     "InvalidInput", "a | b", None),
    # Shopee
    ({"error": "error_auth", "message": "Invalid access_token.", "request_id": "r"},
     "error_auth", "Invalid access_token.", None),
    # Lazada
    ({"type": "ISV", "code": "IllegalAccessToken", "message": "The specified access token is invalid"},
     "IllegalAccessToken", "The specified access token is invalid", "ISV"),
    # OAuth 2.0 token endpoint
    ({"error": "invalid_grant", "error_description": "expired"}, "invalid_grant", "expired", None),
    # nested error object
    ({"error": {"code": "E1", "message": "boom"}}, "E1", "boom", None),
    # a JSON document sent as a string
    ('{"code": 1, "message": "m"}', "1", "m", None),
    # plain text
    ("upstream connect error", None, "upstream connect error", None),
    # an array of errors
    ([{"code": "A", "message": "first"}], "A", "first", None),
    # the TOP gateway (Taobao, AliExpress) wraps its error, even inside an SDK's own envelope
    ({"ok": False, "message": "Bad request", "error_response": {"type": "ISV", "code": "IllegalAccessToken",
      "msg": "The specified access token is invalid or expired"}},
     "IllegalAccessToken", "The specified access token is invalid or expired", "ISV"),
    ({"error_response": {"code": 25, "msg": "Invalid signature"}}, "25", "Invalid signature", None),
    # a numeric error beside its message
    ({"errormsg": "Invalid value for parameter limit[name] provided", "error": 99},
     "99", "Invalid value for parameter limit[name] provided", None),
    # a batch answer holds its failures deeper down (Ozon result.items[].errors[])
    ({"result": {"items": [{"status": "failed", "errors": [{"code": "bad_request_error",
      "message": "Неверно указана валюта"}]}], "total": 1}}, "bad_request_error", "Неверно указана валюта", None),
])
def test_envelopes(body, code, message, error_type):
    fact = normalize({"status": 400, "endpoint": "/x", "body": body})
    assert (fact.code, fact.message, fact.error_type) == (code, message, error_type)


def test_html_error_page_is_reduced_to_its_text():
    page = ("<!DOCTYPE html><html><head><title>502 Bad Gateway</title><style>p{}</style></head>"
            "<body><h1>Bad Gateway</h1><script>x()</script></body></html>")
    fact = normalize({"status": 502, "endpoint": "/x", "body": page})
    assert fact.body_format == "html"
    assert fact.message == "502 Bad Gateway Bad Gateway"


def test_sp_api_error_type_and_request_id_come_from_headers():
    fact = normalize({"status": 400, "endpoint": "https://sellingpartnerapi-eu.amazon.com/orders/v0/orders",
                      "headers": {"x-amzn-ErrorType": "ValidationException", "X-Amzn-RequestId": "abc"},
                      "body": {"errors": [{"code": "InvalidInput", "message": "m"}]}})
    assert fact.error_type == "ValidationException"
    assert fact.request_id == "abc"
    assert fact.derived["api_region"] == "eu"


@pytest.mark.parametrize("endpoint, platform, region, domain", [
    (f"{TT}/order/202309/orders/search", "tiktok_shop", None, "orders"),
    (f"{TT}/product/202309/products/1729/inventory/update", "tiktok_shop", None, "inventory"),
    (f"{TT}/authorization/202309/shops", "tiktok_shop", None, "auth"),
    ("https://auth.tiktok-shops.com/api/v2/token/refresh", "tiktok_shop", None, "auth"),
    ("https://partner.shopeemobile.com/api/v2/logistics/get_channel_list", "shopee", None, "logistics"),
    ("https://partner.shopeemobile.com/api/v2/product/add_item", "shopee", None, "products"),
    ("https://api.lazada.co.id/rest/product/create", "lazada", "ID", "products"),
    ("https://api.lazada.vn/rest/finance/transaction/details/get", "lazada", "VN", "finance"),
    ("https://sellingpartnerapi-na.amazon.com/orders/v0/orders?MarketplaceIds=ATVPDKIKX0DER",
     "amazon_sp", "US", "orders"),
    ("https://sellingpartnerapi-eu.amazon.com/fba/inventory/v1/summaries?marketplaceIds=A1F83G8C2ARO7P",
     "amazon_sp", "GB", "inventory"),
    ("https://erp.example.com/webhooks/tiktok", "generic", None, "webhook"),
    ("/api/v1/things", "generic", None, "other"),
])
def test_inference_from_the_endpoint(endpoint, platform, region, domain):
    fact = normalize({"status": 400, "endpoint": endpoint})
    assert (fact.platform, fact.region, fact.domain) == (platform, region, domain)
    assert "platform" in fact.inferred and "domain" in fact.inferred
    assert ("region" in fact.inferred) == (region is not None)


def test_what_the_caller_says_wins_over_inference():
    fact = normalize({"status": 400, "endpoint": f"{TT}/order/202309/orders",
                      "platform": "tiktok_shop", "region": "us", "domain": "products"})
    assert (fact.platform, fact.region, fact.domain, fact.inferred) == ("tiktok_shop", "US", "products", [])


def test_clock_skew_from_sent_at_and_the_date_header():
    fact = normalize({"status": 401, "endpoint": f"{TT}/order/202309/orders",
                      "headers": {"Date": "Tue, 25 Nov 2025 10:10:00 GMT"},
                      "context": {"sent_at": "2025-11-25T10:00:00Z"}})
    assert fact.derived["clock_skew_seconds"] == 600


def test_clock_skew_counts_either_way():
    """An ERP clock ahead of the platform's is as wrong as one behind: the skew is its size."""
    fact = normalize({"status": 401, "endpoint": f"{TT}/order/202309/orders",
                      "headers": {"Date": "Tue, 25 Nov 2025 10:00:00 GMT"},
                      "context": {"sent_at": "2025-11-25T10:10:00Z"}})
    assert fact.derived["clock_skew_seconds"] == 600


@pytest.mark.parametrize("endpoint, given, env, mismatch", [
    (f"{TT}/order/202309/orders", "sandbox", "production", True),
    ("https://partner.test-stable.shopeemobile.com/api/v2/shop/get_shop_info", "production", "sandbox", True),
    ("https://sandbox.sellingpartnerapi-na.amazon.com/orders/v0/orders", "sandbox", "sandbox", False),
    ("https://erp.example.com/api", "sandbox", None, None),
])
def test_environment_of_host_and_credentials(endpoint, given, env, mismatch):
    derived = normalize({"status": 401, "endpoint": endpoint, "context": {"environment": given}}).derived
    assert derived.get("host_environment") == env
    assert derived.get("environment_mismatch") == mismatch


@pytest.mark.parametrize("payload", [
    {}, {"status": "x", "endpoint": 5}, {"status": 400, "endpoint": "http://[::1"},
    {"status": 400, "endpoint": "/x", "headers": "nope", "context": [], "request": "x"},
    {"status": 400, "endpoint": "/x", "body": "<html><body><p>unclosed"},
    {"status": 400, "endpoint": "/x", "body": b"\xff\xfe bytes"},
    {"status": 400, "endpoint": "/x", "headers": {"Date": "garbage"}, "context": {"sent_at": "also garbage"}},
])
def test_anything_is_accepted_without_raising(payload):
    fact = normalize(payload)
    assert fact.platform == "generic"


@pytest.mark.parametrize("payload, direction", [
    ({"endpoint": "https://open-api.tiktokglobalshop.com/event/202309/webhooks", "method": "PUT"}, "outbound"),
    ({"endpoint": "https://api.allegro.pl/order/events?from=1&limit=100", "method": "GET"}, "outbound"),
    ({"endpoint": "https://erp.example.com/webhooks/shopee", "method": "DELETE"}, "outbound"),
    ({"endpoint": "https://erp.example.com/webhooks/shopee", "method": "POST"}, "inbound"),
    ({"endpoint": "https://erp.example.com/webhooks/shopee", "method": "GET", "context": {"direction": "inbound"}},
     "inbound"),
])
def test_which_way_the_call_went(payload, direction):
    """A delivery is POSTed to the ERP's callback; reading or removing events is a call the ERP makes."""
    assert normalize({"status": 400, **payload}).derived.get("direction") == direction


def test_wordpress_per_parameter_reasons_are_read_with_the_message():
    fact = normalize({"status": 400, "endpoint": "/wp-json/wc/v3/products", "body": {
        "code": "rest_invalid_param", "message": "Invalid parameter(s): regular_price",
        "data": {"status": 400, "params": {"regular_price": "regular_price is not of type string."}}}})
    assert fact.message == "Invalid parameter(s): regular_price | regular_price is not of type string."


@pytest.mark.parametrize("payload, direction", [
    ({"endpoint": f"{TT}/order/202309/orders"}, "outbound"),  # a platform's own host
    ({"endpoint": f"{TT}/order/202309/orders", "platform": "tiktok_shop"}, "outbound"),
    ({"endpoint": "https://erp.example.com/callbacks/tiktok"}, "inbound"),  # another host, a callback path
    ({"endpoint": "/webhooks/shopee"}, "inbound"),
    ({"endpoint": "https://erp.example.com/api/orders"}, None),
    ({"endpoint": "/"}, None),
    ({"endpoint": "https://erp.example.com/callbacks/tiktok", "context": {"direction": "outbound"}}, "outbound"),
    ({"endpoint": f"{TT}/order/202309/orders", "context": {"direction": "inbound"}}, "inbound"),
    ({"endpoint": "https://erp.example.com/api/orders", "context": {"direction": "sideways"}}, None),
])
def test_the_direction_of_the_call(payload, direction):
    derived = normalize({"status": 400, **payload}).derived
    assert derived.get("direction") == direction
    assert ("direction" in derived) == (direction is not None)


def test_a_platform_given_for_another_host_does_not_make_the_call_outbound():
    """The host says whose API was called; a platform named by the caller does not."""
    fact = normalize({"status": 400, "endpoint": "https://erp.example.com/api/orders", "platform": "shopee"})
    assert fact.derived.get("direction") is None


@pytest.mark.parametrize("sent_at, skew", [
    ("2025-11-25T10:00:00Z", 600), ("2025-11-25T10:00:00", 600), ("2025-11-25T12:00:00+02:00", 600),
    ("Tue, 25 Nov 2025 10:05:00 GMT", 300), (1764064800, 600), (1764064800000, 600), (1764064800.5, 600),
    ("yesterday", None), ("", None), (True, None), (None, None), (10**20, None), ("01 Jan 99999999999999999999", None),
])
def test_clock_skew_reads_every_form_of_sent_at(sent_at, skew):
    """ISO 8601 (Z, an offset or none: UTC), an HTTP date, epoch seconds or milliseconds."""
    fact = normalize({"status": 401, "endpoint": "/x", "headers": {"Date": "Tue, 25 Nov 2025 10:10:00 GMT"},
                      "context": {"sent_at": sent_at}})
    assert fact.derived.get("clock_skew_seconds") == skew


def test_no_skew_without_both_times():
    assert "clock_skew_seconds" not in normalize({"status": 401, "endpoint": "/x",
                                                  "context": {"sent_at": "2025-11-25T10:00:00Z"}}).derived
    assert "clock_skew_seconds" not in normalize({"status": 401, "endpoint": "/x",
                                                  "headers": {"Date": "Tue, 25 Nov 2025 10:10:00 GMT"}}).derived


def test_header_names_are_lowercased_and_values_become_text():
    fact = normalize({"status": 400, "endpoint": "/x", "headers": {
        "X-Amzn-RequestId": "abc", "Retry-After": 3, "Via": ["a", "b"], "X-Flag": True}})
    assert fact.headers == {"x-amzn-requestid": "abc", "retry-after": "3", "via": "a, b", "x-flag": "true"}
    assert normalize({"status": 400, "endpoint": "/x", "headers": ["x"]}).headers == {}


def test_every_field_of_the_fact():
    fact = normalize({
        "status": 429, "method": "post", "endpoint": "https://Open-API.TikTokGlobalShop.com/order/202309/orders?a=1&b=x",
        "platform": "tiktok_shop", "region": "us",
        "headers": {"X-Request-Id": "rid-1"}, "body": {"code": 7, "message": "m"},
        "request": {"headers": {"Content-Type": "application/json"}, "body": '{"order_id": "1"}'},
        "context": {"shop_id": "s"},
    })
    assert (fact.status, fact.method, fact.host, fact.path) == (429, "POST", "open-api.tiktokglobalshop.com",
                                                                "/order/202309/orders")
    assert fact.query == {"a": "1", "b": "x"} and fact.region == "US" and fact.request_id == "rid-1"
    assert fact.endpoint.endswith("/orders?a=1&b=x") and fact.body == {"code": 7, "message": "m"}
    assert fact.request_headers == {"content-type": "application/json"}
    assert fact.request_body == {"order_id": "1"} and fact.context == {"shop_id": "s"}


@pytest.mark.parametrize("payload, host, path", [
    ({"endpoint": "/orders/1"}, "", "/orders/1"), ({"endpoint": "orders/1"}, "", "/orders/1"),
    ({"endpoint": "https://api.example.com"}, "api.example.com", "/"), ({}, "", "/"),
])
def test_an_endpoint_without_a_host_or_a_path(payload, host, path):
    fact = normalize({"status": 400, **payload})
    assert (fact.host, fact.path, fact.status) == (host, path, 400)


@pytest.mark.parametrize("status", [True, "400", None, 4.5])
def test_a_status_that_is_not_a_whole_number_is_0(status):
    assert normalize({"status": status, "endpoint": "/x"}).status == 0


@pytest.mark.parametrize("body, code, message", [
    ({"errors": [{"error_code": "E7", "message": "a"}]}, "E7", "a"),
    ({"code": 3, "errors": "[API] Invalid API key"}, "3", "[API] Invalid API key"),
    ({"error": {"type": "OAuthException", "description": "d"}}, "OAuthException", "d"),
    ({"error": {"code": "X", "info": "i"}}, "X", "i"),
    # SP-API says why in details: read beside the message when it is a sentence, not a class name or ""
    ({"errors": [{"code": "Unauthorized", "message": "Access to requested resource is denied.",
                  "details": "The access token you provided has expired."}]}, "Unauthorized",
     "Access to requested resource is denied. | The access token you provided has expired."),
    ({"code": "Unauthorized", "message": "Access to requested resource is denied.",
      "details": "The LWA secret token you provided has expired."}, "Unauthorized",
     "Access to requested resource is denied. | The LWA secret token you provided has expired."),
    ({"errors": [{"code": "InvalidInput", "message": "Invalid Input", "details": ""}]},
     "InvalidInput", "Invalid Input"),
    ({"errors": [{"code": "VALIDATION_ERROR", "message": "m", "details": "ConstraintViolationException.X"}]},
     "VALIDATION_ERROR", "m"),
    # Apigee gateways
    ({"fault": {"faultstring": "Access Token expired",
                "detail": {"errorcode": "keymanagement.service.access_token_expired"}}},
     "keymanagement.service.access_token_expired", "Access Token expired"),
    # problem+json whose cause is in an extension list (NetSuite); Walmart's description beside a code
    ({"title": "Unauthorized", "status": 401, "o:errorDetails": [{"detail": "Invalid login attempt.",
                                                                  "o:errorCode": "INVALID_LOGIN"}]},
     "INVALID_LOGIN", "Unauthorized | Invalid login attempt."),
    ({"code": "UNSUPPORTED_MEDIA_TYPE.GMP_ITEM_QUERY_API", "description": "HTTP 415 Unsupported Media Type",
      "info": "Unsupported Media Type."},
     "UNSUPPORTED_MEDIA_TYPE.GMP_ITEM_QUERY_API", "HTTP 415 Unsupported Media Type"),
    ({"type": "about:blank", "title": "Resource Not Found", "status": 404}, None, "Resource Not Found"),
    # a number and a PascalCase code name, nothing else: the name is the code
    ("300100 InvalidPart", "InvalidPart", "300100 InvalidPart"),
    # Django REST framework: the body maps fields to their messages
    ({"quantity": ["A valid integer is required."], "title": ["This field is required."]}, None,
     "quantity: A valid integer is required. | title: This field is required."),
])
def test_more_envelopes(body, code, message):
    fact = normalize({"status": 400, "endpoint": "/x", "body": body})
    assert (fact.code, fact.message) == (code, message)


def test_a_long_message_is_cut_at_its_limit():
    from rules.engine.normalize import MAX_MESSAGE

    fact = normalize({"status": 400, "endpoint": "/x", "body": {"message": "m" * (MAX_MESSAGE + 5)}})
    assert fact.message == "m" * MAX_MESSAGE
    exact = normalize({"status": 400, "endpoint": "/x", "body": {"message": "m" * MAX_MESSAGE}})
    assert exact.message == "m" * MAX_MESSAGE


@pytest.mark.parametrize("body, code, message, error_type, request_id", [
    ({"error_code": "E1", "msg": "a", "requestId": "r1"}, "E1", "a", None, "r1"),
    ({"errcode": 40001, "errmsg": "invalid credential", "RequestID": "r2"}, "40001", "invalid credential", None, "r2"),
    ({"code": "X", "error_message": "b"}, "X", "b", None, None),
    ({"title": "Not Found", "status": 404}, None, "Not Found", None, None),
    ({"Code": "Y", "Message": "capitalised"}, "Y", "capitalised", None, None),
    ({"error": {"code": "Z", "message": "m", "type": "OAuthException"}}, "Z", "m", "OAuthException", None),
    ({"error": "Invalid API key: wrong", "code": 5}, "5", "Invalid API key: wrong", None, None),
    ({"errors": [{"code": "A", "detail": "d1"}, {"code": "B", "description": "d2"}]}, "A", "d1 | d2", None, None),
    ({"errors": [{"message": "m", "extensions": {"code": "GQL"}}]}, "GQL", "m", None, None),
    ({"code": 0, "data": {"errors": [{"code": 12019015, "message": "inner"}]}, "request_id": "r3"},
     "12019015", "inner", None, "r3"),
    ({"result_code": "E2", "result_message": "media"}, "E2", "media", None, None),
    ([1, 2], None, None, None, None),
])
def test_envelope_keys_of_every_spelling(body, code, message, error_type, request_id):
    fact = normalize({"status": 400, "endpoint": "/x", "body": body})
    assert (fact.code, fact.message, fact.error_type, fact.request_id) == (code, message, error_type, request_id)


@pytest.mark.parametrize("body, fmt", [
    (None, "empty"), ("", "empty"), ({}, "empty"), ([], "empty"), ({"a": 1}, "json"), ([1], "json"),
    ('{"a": 1}', "json"), (" [1]", "json"), (b'{"a": 1}', "json"), ("plain words", "text"),
    ("<html><p>x</p></html>", "html"), ("<!DOCTYPE html><p>x</p>", "html"), ("<BODY>x</BODY>", "html"), (5, "json"),
])
def test_the_format_of_the_body(body, fmt):
    assert normalize({"status": 400, "endpoint": "/x", "body": body}).body_format == fmt
