"""rules/privacy.py, unit by unit: what tests/api/test_privacy.py (the kinds of data, a whole
payload, the end-to-end run) leaves out - how keys are read, how masks inherit down a
structure, the exact depth limit, the checksums that tell an ID or card number from any
other digits, which regions' phone formats are read, and the edges of redact_payload and
redact_rule."""

import json

import pytest

from rules.privacy import (
    KINDS,
    MAX_DEPTH,
    MAX_JSON_STRING,
    classify,
    key_tokens,
    label,
    redact,
    redact_payload,
    redact_rule,
    redact_text,
)


def nested(levels: int, leaf, wrap=lambda inner: {"a": inner}):
    for _ in range(levels):
        leaf = wrap(leaf)
    return leaf


def thai_id(first12: str) -> str:
    """A Thai national ID in its printed form, with its mod-11 check digit."""
    total = sum(int(d) * (13 - i) for i, d in enumerate(first12))
    n = first12 + str((11 - total % 11) % 10)
    return f"{n[0]}-{n[1:5]}-{n[5:10]}-{n[10:12]}-{n[12]}"


def other_last_digit(text: str) -> str:
    return text[:-1] + str((int(text[-1]) + 1) % 10)


# ------------------------------------------------------------------- keys


@pytest.mark.parametrize(("key", "tokens"), [
    ("x-tts-access-token", ("x", "tts", "access", "token")),
    ("AddressLine1", ("address", "line", "1")),
    ("IDNumber", ("id", "number")),
    ("buyerEmailAddress", ("buyer", "email", "address")),
    ("ship_to.Postal-Code", ("ship", "to", "postal", "code")),
    ("", ()),
])
def test_keys_are_read_in_snake_camel_and_kebab_style(key, tokens):
    assert key_tokens(key) == tokens


@pytest.mark.parametrize(("parent", "kind"), [
    ("", "name"), ("recipient", "name"), ("order", "name"), ("product", None), ("skus", None),
    ("warehouse", None), ("sales_attributes", None), ("shop", None), ("carrier", None), ("errors", None),
])
def test_a_bare_name_is_a_persons_unless_it_sits_under_a_thing(parent, kind):
    assert classify("name", parent) == kind


@pytest.mark.parametrize("key", [
    "address_type", "address_count", "addressIds", "pagination_token", "cursor", "page_size", "sign_method",
    "tax_rate", "idempotency_token",
])
def test_keys_that_point_at_records_or_pages_are_not_personal(key):
    assert classify(key) is None


@pytest.mark.parametrize(("key", "kind"), [
    ("shipto", "address"), ("cvv", "secret"), ("otp", "secret"), ("auth_code", "secret"),
    ("code_verifier", "secret"), ("session_id", "secret"), ("cardholder_name", "name"),
    ("consignee", "name"), ("nik", "id"), ("tax_registration_number", "id"), ("whatsapp", "phone"),
])
def test_keys_named_in_the_modules_lists(key, kind):
    assert classify(key) == kind


@pytest.mark.parametrize("key", ["ship_to", "ShipTo", "shipTo", "bill_to", "BillTo", "ship-to", "SHIP_TO",
                                 "ship_from", "shipFrom", "ship_to_address", "billToContact"])
def test_ship_to_and_bill_to_name_an_address_in_any_style(key):
    assert classify(key) == "address"


@pytest.mark.parametrize("key", ["ship_to_id", "reply_to", "sent_from", "to", "from", "ship_method"])
def test_other_keys_with_to_or_from_name_no_address(key):
    assert classify(key) != "address"


def test_amazon_shippings_ship_to_object_is_masked_whole():
    masked = redact({"shipTo": {"name": "Jane Doe", "addressLine1": "1 Main St", "city": "Seattle",
                                "postalCode": "98109", "countryCode": "US", "phoneNumber": "2065550100"},
                     "serviceId": "std-us-swa-mfn"})
    assert masked["serviceId"] == "std-us-swa-mfn"
    assert "Seattle" not in str(masked) and "98109" not in str(masked) and "Jane" not in str(masked)


# ------------------------------------------------------------- structures


def test_under_a_secret_everything_is_secret_whatever_its_own_key_says():
    masked = redact({"credentials": {"email": "ops@example.com", "user": "erp", "retries": 5, "nested": {"x": "y"}}})
    assert masked == {"credentials": {"email": "[secret]", "user": "[secret]", "retries": "[secret]",
                                      "nested": {"x": "[secret]"}}}


def test_under_a_person_each_value_takes_its_own_kind_or_the_persons():
    masked = redact({"buyer": {"email": "zhang.wei@example.com", "phone": "13912345678", "id": 7494,
                               "note": "leave at door", "address": {"city": "Shenzhen"}}})
    assert masked == {"buyer": {"email": "[email]", "phone": "[phone]", "id": "[personal]",
                                "note": "[personal]", "address": {"city": "[address]"}}}


def test_a_masked_value_keeps_its_shape_and_its_empty_null_and_boolean_values():
    masked = redact({"shipping_address": {"line2": "", "verified": True, "zip": None,
                                          "lines": ["1 Main St", "Apt 2"], "geo": [22.5, 113.9]}})
    assert masked == {"shipping_address": {"line2": "", "verified": True, "zip": None,
                                           "lines": ["[address]", "[address]"], "geo": ["[address]", "[address]"]}}


def test_items_of_a_list_are_read_under_the_lists_key():
    masked = redact({"items": [{"name": "Phone case"}], "recipients": [{"name": "Jane Roe"}]})
    assert masked == {"items": [{"name": "Phone case"}], "recipients": [{"name": "[name]"}]}


def test_a_value_stored_under_a_named_field_is_masked_by_that_name():
    assert redact("13912345678", key="phone") == "[phone]"
    assert redact({"scheme": "Bearer", "value": "x"}, key="Authorization") == {
        "scheme": "[secret]", "value": "[secret]"}
    assert redact("Bearer abcdefgh12345 refused", key="message") == "Bearer [secret] refused"


def test_tuples_come_back_as_lists_and_other_scalars_as_they_were():
    assert redact(("ops@example.com", 3, 2.5, None, False)) == ["[email]", 3, 2.5, None, False]


def test_json_text_of_an_array_is_masked_inside_and_text_that_only_looks_like_json_as_text():
    assert json.loads(redact({"body": '[{"email": "a.b@example.com", "code": 7}]'})["body"]) == [
        {"email": "[email]", "code": 7}]
    assert redact({"body": "{not json, mail a.b@example.com"}) == {"body": "{not json, mail [email]"}


def test_json_text_too_large_to_parse_is_still_masked_as_text():
    body = json.dumps({"buyer_name": "Jane Roe", "buyer_email": "jane@example.com", "pad": "x" * MAX_JSON_STRING})
    masked = redact({"body": body})["body"]
    assert "Jane Roe" not in masked and "jane@example.com" not in masked
    assert masked.startswith('{"buyer_name": "[name]", "buyer_email": "[email]"')


# ------------------------------------------------------------------ depth


def test_the_depth_limit_is_exact_a_value_at_max_depth_is_kept_one_level_further_dropped():
    at_limit = redact(nested(MAX_DEPTH, "mail a.b@example.com"))
    assert at_limit == nested(MAX_DEPTH, "mail [email]")
    past = redact(nested(MAX_DEPTH + 1, "mail a.b@example.com"))
    assert past == nested(MAX_DEPTH + 1, None)


def test_arrays_count_as_levels_and_numbers_past_the_limit_are_dropped_too():
    as_lists = redact(nested(MAX_DEPTH + 1, 13912345678, wrap=lambda inner: [inner]))
    assert as_lists == nested(MAX_DEPTH + 1, None, wrap=lambda inner: [inner])


def test_past_the_limit_under_a_personal_key_the_whole_rest_is_its_label():
    masked = redact({"buyer": nested(MAX_DEPTH + 5, {"email": "a.b@example.com"})})
    flat = json.dumps(masked)
    assert "example.com" not in flat and "[personal]" in flat


# ------------------------------------------------------- checked formats


@pytest.mark.parametrize(("valid", "invalid"), [
    (thai_id("110170020345"), other_last_digit(thai_id("110170020345"))),
    ("S1234567D", "S1234567A"),  # Singapore NRIC check letter
    ("A123456789", "A123456788"),  # Taiwan
    ("123.456.789-09", "123.456.789-00"),  # Brazil CPF
    ("4111 1111 1111 1111", "4111 1111 1111 1112"),  # Luhn
    ("378282246310005", "378282246310006"),
])
def test_id_and_card_numbers_are_masked_only_when_their_check_digits_hold(valid, invalid):
    assert "[" in redact_text(f"number {valid} rejected")
    assert redact_text(f"number {invalid} rejected") == f"number {invalid} rejected"


def test_a_run_of_the_same_digit_is_not_a_cpf():
    assert redact_text("CPF 111.111.111-11") == "CPF 111.111.111-11"


@pytest.mark.parametrize("text", ["MyKad 900101-14-5678 rejected", "NIK 3174012501900001 ditolak"])
def test_malaysian_and_indonesian_id_numbers_in_their_formats(text):
    assert "[id]" in redact_text(text) and not any(c.isdigit() for c in redact_text(text))


def test_a_ten_digit_id_is_not_a_chinese_landline_without_its_trunk_zero():
    assert redact_text("shop 2112345678 rejected") == "shop 2112345678 rejected"
    assert redact_text("call 021-1234-5678") == "call [phone]"
    assert redact_text("call +86 21 1234 5678") == "call [phone]"


# --------------------------------------------------------------- secrets


@pytest.mark.parametrize(("text", "expected"), [
    ("token abcdefgh rejected", "token abcdefgh rejected"),  # a word, not a credential
    ("token abcdefgh1 rejected", "token [secret] rejected"),
    ("token abcdefghijklmnopqrst rejected", "token [secret] rejected"),
    ("Basic dXNlcjpwYXNzd29yZA==", "Basic [secret]"),
    ("key ASIAABCDEFGHIJKLMNOP", "key [secret]"),
    ("key odk_abc123_ABCDEFGHIJKLMNOPqr", "key [secret]"),
    ("sign: 0f0f0f0f0f0f0f0f0f", "sign: [secret]"),
    ("sign: md5", "sign: md5"),  # too short and no digit: a word
    ("password=hunter2&user=x", "password=[secret]&user=x"),
    ("?password=&x=1", "?password=&x=1"),  # nothing to mask
])
def test_secrets_in_text(text, expected):
    assert redact_text(text) == expected


# ------------------------------------------------------------ free text


MIXED = ("buyer Jane Roe (jane.roe@example.com, +86 139 1234 5678) at 221B Baker Street; "
         "Authorization: Bearer abcdefgh12345; card 4111 1111 1111 1111; 身份证 110105194912310021")


def test_masks_hold_no_digit_so_masking_twice_changes_nothing():
    once = redact_text(MIXED)
    assert redact_text(once) == once
    assert not any(c.isdigit() for kind in KINDS for c in label(kind))


def test_long_text_is_masked_as_short_text_is():
    long_text = MIXED + " " + "padding " * 100
    assert len(long_text) > 512
    assert redact_text(long_text).startswith(redact_text(MIXED))


def test_text_that_is_not_valid_unicode_comes_back_as_utf8():
    masked = redact_text("bad \udc80 byte a.b@example.com")
    masked.encode("utf-8")
    assert masked.endswith("byte [email]")


@pytest.mark.parametrize("empty", ["", None])
def test_empty_text_is_returned_as_is(empty):
    assert redact_text(empty) == empty


# --------------------------------------------------------------- regions


def test_uk_is_read_as_gb_and_unknown_regions_are_ignored():
    assert redact_text("call 07911 123456", ["uk"]) == "call [phone]"
    assert redact_text("call 07911 123456", ["GB"]) == "call [phone]"
    assert redact_text("call 07911 123456", ["FR"]) == "call 07911 123456"
    assert redact_text("call 07911 123456") == "call 07911 123456"  # not a Chinese number
    assert redact_text("call 13912345678", ["XX", None, ""]) == "call [phone]"  # nothing usable: the default


def test_international_numbers_are_found_whatever_the_region():
    assert redact_text("call +86 139 1234 5678", ["FR"]) == "call [phone]"
    assert redact_text("call +44 7911 123456", ["ID"]) == "call [phone]"


def test_chinese_numbers_are_found_when_other_regions_are_named():
    assert redact_text("call 13912345678", ["ID"]) == "call [phone]"
    assert redact_text("call 0812 3456 7890 or 13912345678", ["ID"]) == "call [phone] or [phone]"
    assert redact({"note": "call 13912345678"}, regions=["TH"]) == {"note": "call [phone]"}


def test_a_payload_is_masked_with_the_phone_formats_of_its_region_and_chinese_ones():
    payload = {"status": 400, "endpoint": "/x", "region": "TH",
               "body": {"message": "call 081 234 5678 or 13912345678"}}
    assert redact_payload(payload)["body"]["message"] == "call [phone] or [phone]"
    assert redact_text("call 081 234 5678") == "call 081 234 5678"


def test_a_payload_whose_region_is_not_text_is_masked_with_the_default_formats():
    masked = redact_payload({"status": 400, "endpoint": "/x", "region": 66, "body": "call 13912345678"})
    assert masked == {"status": 400, "endpoint": "/x", "region": 66, "body": "call [phone]"}
    assert redact_payload(["call 13912345678"]) == ["call [phone]"]


# ----------------------------------------------------------------- rules


@pytest.mark.parametrize("body", ["not a rule", None, {"id": "generic.x.y"}, {"id": "generic.x.y", "examples": [1]}])
def test_a_rule_without_an_examples_mapping_is_returned_as_is(body):
    assert redact_rule(body) == body


def test_every_kind_of_example_entry_is_masked():
    body = {"id": "generic.x.y", "when": {"message": {"regex": "a@b"}},
            "examples": {"match": ["mail a.b@example.com", {"body": {"buyer_email": "a.b@example.com"}}],
                         "notes": "mail a.b@example.com"}}
    masked = redact_rule(body)
    assert masked["examples"] == {"match": ["mail [email]", {"body": {"buyer_email": "[email]"}}],
                                  "notes": "mail [email]"}
    assert masked["when"] == body["when"] and body["examples"]["notes"] == "mail a.b@example.com"
