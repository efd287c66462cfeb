"""Bodies that arrive as a client library's rendering are read for the envelope inside."""

import pytest

from rules.normalize import normalize
from rules.unwrap import unwrap

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
