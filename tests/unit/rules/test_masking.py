"""Masking in detail (rules/redact.py): which keys are personal or secret and what they mask
beneath them, the checked formats of ID and card numbers, the credentials found in free
text, strings that hold JSON, the regions whose local phone formats count, and the depth
past which nothing is read. test_privacy.py holds the end-to-end view."""

import json

import pytest

from rules.privacy import MAX_DEPTH, MAX_JSON_STRING, classify, redact, redact_payload, redact_rule, redact_text

# ----------------------------------------------------------------------- keys


@pytest.mark.parametrize(("key", "kind"), [
    ("db_password", "secret"), ("session_cookies", "secret"), ("sessionId", "secret"), ("auth_code", "secret"),
    ("code_verifier", "secret"), ("otp", "secret"), ("cvv", "secret"), ("auth_token", "secret"),
    ("client_credentials", "secret"), ("x-api-key", "secret"), ("AccessToken", "secret"),
    ("emailAddress", "email"), ("contact_mail", "email"), ("mobileNo", "phone"), ("fax", "phone"),
    ("passport", "id"), ("citizen_id", "id"), ("tax_registration_no", "id"), ("documentNumber", "id"),
    ("tin", "id"), ("idnum", "id"), ("street", "address"), ("billing_address_line2", "address"),
    ("shipto", "address"), ("consignee", "name"), ("contact_name", "name"),
    ("holder_name", "name"), ("nickname", "name"), ("buyer_user_id", "personal"), ("customers", "personal"),
    ("billTo", "address"), (42, None),
])
def test_more_keys_that_name_personal_data_or_secrets(key, kind):
    assert classify(key) == kind


@pytest.mark.parametrize("key", [
    "next_token", "sync_token", "idempotency_token", "continuation_token", "page_tokens", "address_id",
    "address_type", "address_count", "tax_rate", "tax_rate_number", "sku_name", "", "---", "id", "card_type",
])
def test_more_keys_that_are_not_personal(key):
    assert classify(key) is None


@pytest.mark.parametrize(("parent", "kind"), [
    ("product", None), ("skus", None), ("warehouse", None), ("attribute", None), ("buyer", "name"), ("", "name"),
    ("recipient_address", "name"), ("logistics", None),
])
def test_a_bare_name_is_a_thing_s_name_under_a_thing_else_a_person_s(parent, kind):
    assert classify("name", parent) == kind
    assert classify("buyer_name", parent) == "name"


def test_everything_under_a_person_is_masked_by_the_kind_of_each_key():
    buyer = {"email": "zhang.wei@example.com", "phone": "13912345678", "note": "leave at door", "age": 30,
             "tags": ["vip", ""], "vip": True, "alias": None, "id_card": "110101199003074477",
             "profile": {"name": "Zhang Wei", "bio": "hi"}, "pair": ("a", "b")}
    assert redact({"buyer": buyer}) == {"buyer": {
        "email": "[email]", "phone": "[phone]", "note": "[personal]", "age": "[personal]",
        "tags": ["[personal]", ""], "vip": True, "alias": None, "id_card": "[id]",
        "profile": {"name": "[name]", "bio": "[personal]"}, "pair": ["[personal]", "[personal]"]}}


def test_under_a_secret_everything_stays_secret_whatever_its_key():
    assert redact({"credentials": {"email": "a@example.com", "user": {"phone": "13912345678"}, "n": 5}}) == {
        "credentials": {"email": "[secret]", "user": {"phone": "[secret]"}, "n": "[secret]"}}


def test_an_address_keeps_a_web_address_and_masks_its_secrets():
    masked = redact({"shipping_address": {"line1": "1 Main St", "callback": "https://erp.example.com/cb?sign=abc123"}})
    assert masked == {"shipping_address": {"line1": "[address]", "callback": "https://erp.example.com/cb?sign=[secret]"}}
    assert redact({"address": "ftp://files.example.com/a"}) == {"address": "ftp://files.example.com/a"}
    assert redact({"address": "see https://example.com/x"}) == {"address": "[address]"}


def test_values_outside_personal_keys_keep_their_type():
    value = {"count": 3, "ratio": 0.5, "ok": False, "none": None, "list": (1, "x"), "nested": [[2]]}
    assert redact(value) == {"count": 3, "ratio": 0.5, "ok": False, "none": None, "list": [1, "x"], "nested": [[2]]}


# ---------------------------------------------------------------------- depth


def lists(levels: int, leaf):
    for _ in range(levels):
        leaf = [leaf]
    return leaf


def test_the_depth_limit_counts_lists_as_levels_too():
    """The root is level 0; a value at level MAX_DEPTH is still read, one below it is dropped."""
    email = "mail zhang.wei@example.com"
    assert redact(lists(MAX_DEPTH, email)) == lists(MAX_DEPTH, "mail [email]")
    assert redact(lists(MAX_DEPTH + 1, email)) == lists(MAX_DEPTH + 1, None)
    assert redact(lists(MAX_DEPTH + 2, email)) == lists(MAX_DEPTH + 1, None)
    assert redact({"a": lists(MAX_DEPTH - 1, email)}) == {"a": lists(MAX_DEPTH - 1, "mail [email]")}
    assert redact({"a": lists(MAX_DEPTH, email)}) == {"a": lists(MAX_DEPTH, None)}


def test_under_a_personal_key_past_the_depth_limit_the_label_replaces_the_rest():
    """Not even a null is kept there: what lies past the limit is not looked at."""
    assert redact({"email": lists(MAX_DEPTH - 1, "a@example.com")}) == {"email": lists(MAX_DEPTH - 1, "[email]")}
    assert redact({"email": lists(MAX_DEPTH - 1, None)}) == {"email": lists(MAX_DEPTH - 1, None)}
    assert redact({"email": lists(MAX_DEPTH, None)}) == {"email": lists(MAX_DEPTH, "[email]")}
    assert redact({"email": lists(MAX_DEPTH + 1, "a@example.com")}) == {"email": lists(MAX_DEPTH, "[email]")}
    assert redact(lists(3, "x"), key="email") == lists(3, "[email]")
    assert redact(lists(MAX_DEPTH, "x"), key="email") == lists(MAX_DEPTH, "[email]")
    assert redact(lists(MAX_DEPTH + 2, "x"), key="email") == lists(MAX_DEPTH + 1, "[email]")


def test_json_inside_a_string_counts_its_own_levels():
    inner = json.dumps(lists(MAX_DEPTH - 2, "zhang.wei@example.com"))
    assert json.loads(redact({"body": inner})["body"]) == lists(MAX_DEPTH - 2, "[email]")
    deeper = json.dumps(lists(MAX_DEPTH - 1, "zhang.wei@example.com"))
    assert json.loads(redact({"body": deeper})["body"]) == lists(MAX_DEPTH - 1, None)


# ------------------------------------------------------------- strings of JSON


def test_strings_that_hold_json_are_masked_inside_and_others_as_text():
    assert json.loads(redact(' [{"email": "a@example.com"}]')) == [{"email": "[email]"}]
    assert redact('{"note": "mail a@example.com", "n": 1}') == '{"note": "mail [email]", "n": 1}'
    assert redact('{"email": "a@example.com"') == '{"email": "[email]"'  # not JSON: quoted pairs as text
    assert redact('"a@example.com"') == '"[email]"'
    assert redact("{not json, mail a@example.com}") == "{not json, mail [email]}"
    assert redact('{"名": "张伟"}') == '{"名": "[name]"}', "unicode kept as it is"


def test_a_json_string_past_the_size_limit_is_masked_as_text():
    body = {"email": "a@example.com", "pad": "x" * MAX_JSON_STRING}
    text = json.dumps(body)
    masked = redact({"body": text})["body"]
    assert masked.startswith('{"email": "[email]", "pad": "xxx')
    assert len(masked) == len(text) - len("a@example.com") + len("[email]")


def test_long_text_is_masked_like_short_text():
    text = "x " * 600 + "mail zhang.wei@example.com, call 13912345678"
    assert redact_text(text) == "x " * 600 + "mail [email], call [phone]"


def test_empty_and_broken_text():
    assert redact_text("") == "" and redact_text(None) is None
    assert redact_text("mail a@example.com \ud800") == "mail [email] \ufffd"


# ----------------------------------------------------------------- credentials


@pytest.mark.parametrize(("text", "expected"), [
    ("token abcdefgh is wrong", "token abcdefgh is wrong"),  # a word, not a token: short and no digit
    ("token abcdefghijklmnopqrst expired", "token [secret] expired"),
    ("token abcdefg1 expired", "token [secret] expired"),
    ("Bearer abcdefgh", "Bearer [secret]"),
    ("basic dXNlcjpwYXNz", "basic [secret]"),
    ("api_key: abcdefgh", "api_key: abcdefgh"),
    ("api_key: abcdefg1", "api_key: [secret]"),
    ("api_key: abcdefghijklmnop", "api_key: [secret]"),
    ("order_no: 123456789012", "order_no: 123456789012"),
    ("password= and more", "password= and more"),
    ("password=x&page=2", "password=[secret]&page=2"),
    ("email=a%40example.com", "email=[email]"),
    ('{"password": "hunter2"}', '{"password": "[secret]"}'),
    ('{"password": ""}', '{"password": ""}'),
    ("{'email': 'jane@example'}", "{'email': '[email]'}"),
    ('"phone": 13912345678', '"phone": "[phone]"'),
    ('"count": 13912345678', '"count": [phone]'),
    ("odk_1a2b3c_ABCDEFGHIJKLMNOP0123 leaked", "[secret] leaked"),
    ("ASIAABCDEFGHIJKLMNOP", "[secret]"),
])
def test_credentials_in_text(text, expected):
    assert redact_text(text) == expected


# --------------------------------------------------------------- checked numbers


@pytest.mark.parametrize(("number", "masked"), [
    ("T1234567J", True), ("G7654321L", True), ("F1234567N", True), ("M1234567X", True), ("S7654321F", True),
    ("S1234567A", False), ("T1234567D", False), ("M1234567J", False),
    ("A123456789", True), ("A123456780", False),
    ("1-1017-00203-45-0", True), ("1-1017-00203-45-1", False),
    ("123.456.789-09", True), ("123.456.789-08", False), ("111.111.111-11", False),
    ("900101-14-5678", True), ("3171012501900001", True),
    ("11010119900307447X", False), ("110101199003074477", True),
])
def test_id_numbers_are_masked_only_when_their_check_holds(number, masked):
    assert redact_text(f"id {number} rejected") == ("id [id] rejected" if masked else f"id {number} rejected")


@pytest.mark.parametrize(("number", "masked"), [
    ("4111111111111111", True), ("5555555555554444", True), ("6011111111111117", True), ("3512345678901236", True),
    ("2720123456789010", True), ("2220123456789015", False), ("2721123456789019", False),
    ("9123456789012348", False), ("4111111111111112", False),
    ("378282246310005", True), ("341234567890127", True), ("301234567890125", False),
    ("6212 3456 7890 1234 569", True), ("6212-3456-7890-1234-569", True), ("6212345678901234569", False),
    ("7212 3456 7890 1234 568", False),
])
def test_card_numbers_are_masked_by_luhn_length_and_issuer(number, masked):
    assert redact_text(f"card {number} declined") == ("card [card] declined" if masked else f"card {number} declined")


# --------------------------------------------------------------- phones, names


def test_a_phone_found_in_two_regions_is_masked_once():
    assert redact_text("call +62 812-3456-7890 now", ["ID", "CN"]) == "call [phone] now"
    assert redact_text("call 0812-3456-7890 or 13912345678", ["ID"]) == "call [phone] or [phone]"


def test_a_national_number_without_its_trunk_prefix_is_masked_only_as_a_mobile():
    assert redact_text("order 1062345678 failed") == "order 1062345678 failed"
    assert redact_text("call 13912345678") == "call [phone]"
    assert redact_text("call (010) 6234 5678") == "call [phone]"


@pytest.mark.parametrize(("regions", "text", "expected"), [
    (["uk"], "ring 020 7946 0958", "ring [phone]"),
    (["GB", "gb", None], "ring 020 7946 0958", "ring [phone]"),
    (["XX"], "call 0812-3456-7890", "call 0812-3456-7890"),
    ([None], "call 13912345678", "call [phone]"),
    ([], "call 13912345678", "call [phone]"),
])
def test_regions_name_local_phone_formats(regions, text, expected):
    assert redact_text(text, regions) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("buyer J. Smith cancelled", "buyer [name] cancelled"),
    ("buyer NASA cancelled", "buyer NASA cancelled"),
    ("buyer Support Team cancelled", "buyer Support Team cancelled"),
    ("shipped to Jane Doe yesterday", "shipped to [name] yesterday"),
    ("Order for Data Services failed", "Order for Data Services failed"),
    ("sold to Maria da Silva", "sold to [name]"),
])
def test_names_after_their_cue_words(text, expected):
    assert redact_text(text) == expected


# ------------------------------------------------------------ payloads, rules


def test_a_payload_is_masked_with_its_own_region_s_phone_formats():
    payload = {"status": 400, "endpoint": "/x", "region": "id", "body": {"message": "hubungi 0812-3456-7890"}}
    assert redact_payload(payload)["body"]["message"] == "hubungi [phone]"
    no_region = {**payload, "region": 7}
    assert redact_payload(no_region)["body"]["message"] == "hubungi 0812-3456-7890"
    assert redact_payload(["call 13912345678"]) == ["call [phone]"]


def test_a_rule_s_examples_are_masked_whatever_their_shape():
    assert redact_rule("not a rule") == "not a rule"
    assert redact_rule({"id": "x", "examples": ["a@example.com"]}) == {"id": "x", "examples": ["a@example.com"]}
    rule = {"id": "generic.t.x", "examples": {
        "match": [{"region": "ID", "body": {"message": "hubungi 0812-3456-7890"}}, "mail a@example.com"],
        "no_match": {"email": "a@example.com"}, "other": "call 13912345678"}}
    assert redact_rule(rule) == {"id": "generic.t.x", "examples": {
        "match": [{"region": "ID", "body": {"message": "hubungi [phone]"}}, "mail [email]"],
        "no_match": {"email": "[email]"}, "other": "call [phone]"}}


def test_a_value_stored_under_a_key_is_masked_as_that_key_says():
    assert redact("zhang.wei@example.com", key="buyer_email") == "[email]"
    assert redact({"name": "Jane Roe"}, key="buyer") == {"name": "[name]"}
    assert redact("mail a@example.com", key="message") == "mail [email]"
    assert redact({"name": "Red"}, key="attributes") == {"name": "Red"}, "under a thing, a bare name is the thing's"
