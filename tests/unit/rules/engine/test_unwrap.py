"""Bodies that arrive as a client library's rendering are read for the envelope inside."""

import pytest

from rules.engine.normalize import normalize
from rules.engine.unwrap import unwrap

RENDERINGS = [
    # (as an ERP logged it, code, message)
    ("('invalid_client', 'Client authentication failed', 401)", "invalid_client", "Client authentication failed"),
    ("[{'message': 'Missing or invalid request parameters: [marketplaceIds]', 'code': 'InvalidInput'}]",
     "InvalidInput", "Missing or invalid request parameters: [marketplaceIds]"),
    ('Error: Status code 403: {\n  "errors": [\n    {\n      "message": "Signature expired: 20230601T095950Z is now '
     'earlier than 20230601T135450Z (20230601T135950Z - 5 min.)",\n     "code": "InvalidSignature"\n    }\n  ]\n}',
     "InvalidSignature", "Signature expired: 20230601T095950Z is now earlier than 20230601T135450Z "
     "(20230601T135950Z - 5 min.)"),
    ("{\n      code: 'InvalidInput',\n      message: 'The input you have submitted is not valid.',\n"
     "      details: ''\n    }",
     "InvalidInput", "The input you have submitted is not valid."),
    ('{"errors"=>[{"message"=>"Access to requested resource is denied.", "code"=>"Unauthorized"}]}',
     "Unauthorized", "Access to requested resource is denied."),
    ("Array\n(\n    [errors] => Array\n        (\n            [0] => Array\n                (\n"
     "                    [code] => InvalidInput\n                    [message] => Invalid Input\n", "InvalidInput",
     "Invalid Input"),
    ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>No AWSAccessKey was presented.'
     "</Message><RequestId>SA8V</RequestId></Error>", "AccessDenied", "No AWSAccessKey was presented."),
    ("oauth_problem=timestamp_refused", "timestamp_refused", "timestamp_refused"),
    ("oauth_problem=An+error+occurred+validating+the+nonce", None, "An error occurred validating the nonce"),
    ('"{\\"error\\":\\"invalid_scope\\",\\"error_description\\":\\"The requested scope is invalid\\"}"',
     "invalid_scope", "The requested scope is invalid"),
    ("[400] Client error: `GET https://x.example/reports?pageSize=10` resulted in a `400 Bad Request` response: "
     '{ "errors": [ { "code": "InvalidInput", "message": "Invalid Report Type", "details": "" } ] }',
     "InvalidInput", "Invalid Report Type"),
    ('Exception when calling OrdersApi->getAllOrders: [401] {"error":[{"code":"UNAUTHORIZED.GMP_GATEWAY_API",'
     '"description":"Unauthorized"}]}', "UNAUTHORIZED.GMP_GATEWAY_API", None),
]


@pytest.mark.parametrize("text, code, message", RENDERINGS)
def test_the_envelope_inside_a_rendering_is_read(text, code, message):
    fact = normalize({"status": 400, "endpoint": "/x", "body": text})
    assert fact.code == code
    if message is not None:
        assert fact.message == message
    assert fact.body_format == "json"


def test_an_oauth_error_name_in_plain_text_is_the_code():
    fact = normalize({"status": 400, "endpoint": "/x", "body": "Error: invalid_scope - The requested scope is invalid"})
    assert (fact.code, fact.body_format) == ("invalid_scope", "text")
    assert fact.message.startswith("Error: invalid_scope")


@pytest.mark.parametrize("text", [
    "Request denied: your IP address has been blocked", "{ not an envelope }", "(1, 2, 3)", "list [1, 2]",
    "x" * 100_000, "{" * 5000, "([{" * 3000, "__import__('os').system('true')", "{'a': __import__('os')}",
])
def test_text_that_carries_no_envelope_stays_text(text):
    assert unwrap(text) is None
    assert normalize({"status": 400, "endpoint": "/x", "body": text}).body_format == "text"


def test_keys_are_read_whatever_their_case():
    body = {"Title": "Unauthorized", "Status": 401, "Detail": "TokenExpired: token expired at 04/09/2023"}
    fact = normalize({"status": 401, "endpoint": "/x", "body": body})
    assert fact.message == "TokenExpired: token expired at 04/09/2023"


def test_graphql_and_square_error_lists():
    graphql = normalize({"status": 200, "endpoint": "/graphql.json", "body": {"data": None, "errors": [
        {"message": "ScriptTagCreate access denied", "extensions": {"code": "ACCESS_DENIED"}}]}})
    assert (graphql.code, graphql.message) == ("ACCESS_DENIED", "ScriptTagCreate access denied")
    square = normalize({"status": 500, "endpoint": "/v2/x", "body": {"errors": [
        {"category": "API_ERROR", "code": "INTERNAL_SERVER_ERROR", "detail": "unable to authorize"}]}})
    assert (square.code, square.message) == ("INTERNAL_SERVER_ERROR", "unable to authorize")
    shopify = normalize({"status": 401, "endpoint": "/x", "body": {"errors": "[API] Invalid API key or access token"}})
    assert shopify.message == "[API] Invalid API key or access token"


def test_listings_issues_are_read_errors_first():
    """SP-API Listings Items answers INVALID with issues[]; a WARNING before the ERROR is not the cause."""
    fact = normalize({"status": 400, "endpoint": "https://sellingpartnerapi-na.amazon.com/listings/2021-08-01/items/A/S",
                      "body": {"sku": "S", "status": "INVALID", "issues": [
                          {"code": "W1", "message": "a warning", "severity": "WARNING"},
                          {"code": "90220", "message": "'item_name' is required but not supplied.",
                           "severity": "ERROR", "attributeNames": ["item_name"]}]}})
    assert fact.code == "90220"
    assert fact.message.startswith("'item_name' is required")


@pytest.mark.parametrize("text, code, message", [
    ("Array ( [request_id] => 7c29cd [msg] => no partner_id [error] => error_param ) )", "error_param",
     "no partner_id"),
    ("Exception Object\n(\n    [message:protected] => Invalid access token\n    [*code] => 36004004\n)",
     "36004004", "Invalid access token"),
    ('"errors": [\n {\n "code": "InvalidInput",\n "message": "Application do not have access (truncated...)',
     "InvalidInput", "Application do not have access (truncated...)"),
    ("original-record-number\tsku\terror-code\terror-type\terror-message\n1\tS263\t6039\tError\tMerchant is not "
     "authorized to sell products under this restricted product group.", "6039", "Merchant is not authorized to "
     "sell products under this restricted product group."),
    # Laravel's dd() of a TikTok Shop answer (EcomPHP/tiktokshop-php#40) and a Symfony object dump
    ('array:3 [\n  "code" => 105005\n  "message" => "you should apply auth pkg for this api"\n'
     '  "request_id" => "20240710170328026B85572D809D2BFFC5"\n]', "105005", "you should apply auth pkg for this api"),
    ('App\\Exceptions\\ApiError {#812\n  +"code": "E0501"\n  +"message": "Invalid Request Format"\n}',
     "E0501", "Invalid Request Format"),
])
def test_dumps_cut_json_and_reports(text, code, message):
    fact = normalize({"status": 200, "endpoint": "/x", "body": text})
    assert (fact.code, fact.message) == (code, message)


@pytest.mark.parametrize("text, code", [
    ('36004001 "rt has expired"', "36004001"), ("E034: Order Item must be packed", "E034"),
    ("IncompleteSignature: The request signature does not conform", "IncompleteSignature"),
    ("code=36009002 (too many requests)", "36009002"), ("429 QuotaExceeded", "QuotaExceeded"),
    ("wallet.time_invalid - time range", "wallet.time_invalid"),
    ("lazop.base - ERROR - 1.2.3.4^_^Darwin^_^https://auth.lazada.com/rest/x^_^InvalidCode^_^Invalid authorization"
     " code", "InvalidCode"),
    ("Request denied: your IP address has been blocked", None), ("Internal Server Error", None), ("Forbidden", None),
])
def test_a_code_leading_a_text_body(text, code):
    assert normalize({"status": 200, "endpoint": "/x", "body": text}).code == code


def test_more_envelopes():
    tiktok_batch = {"code": 0, "data": {"errors": [{"code": 12052032, "message": "The product does not exist"}]}}
    assert normalize({"status": 200, "endpoint": "/x", "body": tiktok_batch}).code == "12052032"
    sentence = normalize({"status": 403, "endpoint": "/x", "body": {"error": "Invalid API key: should be x"}})
    assert (sentence.code, sentence.message) == (None, "Invalid API key: should be x")
    wiki = normalize({"status": 200, "endpoint": "/x", "body": {"error": {"code": "blocked", "info": "IP blocked"}}})
    assert (wiki.code, wiki.message) == ("blocked", "IP blocked")
    media = normalize({"status": 200, "endpoint": "/x", "body": {"success": False, "result_code": "ILLEGAL_PARAMETER",
                                                                  "result_message": "bad part"}})
    assert (media.code, media.message) == ("ILLEGAL_PARAMETER", "bad part")


def test_an_exception_class_is_no_code():
    fact = normalize({"status": 403, "endpoint": "/x", "body": "CustomError: Access to requested resource is denied."})
    assert fact.code is None


def test_fastapi_detail_lists_and_a_message_that_is_a_code():
    """FastAPI/pydantic answers {"detail": [{"loc", "msg", "type"}]}; a lone UPPER_SNAKE message is the code."""
    fastapi = normalize({"status": 422, "endpoint": "/items", "body": {"detail": [
        {"loc": ["body", "sku"], "msg": "field required", "type": "value_error.missing"}]}})
    assert (fastapi.code, fastapi.message) == ("value_error.missing", "field required")
    lazada = normalize({"status": 200, "endpoint": "https://api.lazada.sg/rest/product/create",
                        "body": {"detail": [{"message": "BIZ_CHECK_MAIN_IMAGE_REQUIRE"}]}})
    assert lazada.code == "BIZ_CHECK_MAIN_IMAGE_REQUIRE"
    sentence = normalize({"status": 400, "endpoint": "/x", "body": {"message": "Invalid request"}})
    assert sentence.code is None


def test_shopee_batch_failures_and_an_erps_own_log_record():
    """Shopee batch APIs put each failure in response.result_list[]; an ERP's log names its keys its own way."""
    failure = {"order_sn": "X", "fail_error": "logistics.package_can_not_print",
               "fail_message": "The package can not print now."}
    batch = normalize({"status": 200, "endpoint": "https://partner.shopeemobile.com/api/v2/logistics/x",
                       "body": {"error": "common.batch_api_all_failed", "message": "All failed",
                                "response": {"result_list": [failure]}}})
    assert (batch.code, batch.message) == ("logistics.package_can_not_print", "The package can not print now.")
    logged = normalize({"status": 200, "endpoint": "/x", "body": {
        "operation": "get_shipping_parameter", "providerErrorCode": "error_other", "providerMessage": "not eligible"}})
    assert (logged.code, logged.message) == ("error_other", "not eligible")


def test_a_logged_json_body_with_a_raw_line_break_inside_a_string_is_still_json():
    fact = normalize({"status": 401, "endpoint": "/wp-json/wc/v1/products", "body":
                      '{"code":"woocommerce_rest_authentication_error","message":"Invalid Signature - p\nrovided '
                      'signature does not match.","data":{"status":401}}'})
    assert fact.body_format == "json" and fact.code == "woocommerce_rest_authentication_error"
