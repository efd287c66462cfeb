"""Signature checks: every published signing example reproduced, and a changed input
pinpointed in mutated copies of a correctly signed request (service/debugging/signing.py)."""

import hashlib
import hmac
import json
from dataclasses import replace

import pytest

from service.debugging.signing import SCHEMES, Call, HmacForm, Variant, check, guess_scheme, scheme_for
from tests.fake_marketplace import lazop_sign

TIKTOK, LEGACY, SHOPEE, LAZADA = (SCHEMES[n] for n in ("tiktok_shop", "tiktok_shop_legacy", "shopee_v2", "lazada"))

# TikTok Shop, "Sign your API request", step-by-step breakdown (Get Authorized Shops):
# https://partner.tiktokshop.com/docv2/page/sign-your-api-request
DOC_SECRET = "e59af819cc"
DOC_SIGN = "b596b73e0cc6de07ac26f036364178ab16b0a907af13d43f0a0cd2345f582dc8"
DOC_URL = ("https://open-api.tiktokglobalshop.com/authorization/202309/shops"
           f"?app_key=29a39d&sign={DOC_SIGN}&timestamp=1623812664")
DOC_HEADERS = {"x-tts-access-token": "TTP_pwSm2AAAAABmmtFz1xlyKMnwg74T2GJ5s0uQbS8jPjb",
               "content-type": "application/json"}


def doc_call(**changes) -> Call:
    return replace(Call.from_url("GET", DOC_URL, DOC_HEADERS), **changes)


def test_tiktok_shop_reproduces_the_published_example():
    call = doc_call()
    assert TIKTOK.string_to_sign(call, DOC_SECRET, TIKTOK.variant) == (
        "e59af819cc/authorization/202309/shopsapp_key29a39dtimestamp1623812664e59af819cc")  # the doc's step 5
    assert TIKTOK.sign(call, DOC_SECRET) == DOC_SIGN  # the doc's step 6
    found = check(TIKTOK, call, DOC_SECRET)
    assert found.valid and found.differs is None


def test_tiktok_shop_appends_the_body_as_the_published_webhook_example_shows():
    # the same page, Update Shop Webhook: "/event/202309/webhooksapp_key68xu9ks5p4i8shop_cipher..."
    body = '{    "address":"https://partner.tiktokshop.com",    "event_type": "PACKAGE_UPDATE"}'
    call = Call.from_url("PUT", "https://open-api.tiktokglobalshop.com/event/202309/webhooks?app_key=68xu9ks5p4i8"
                         "&shop_cipher=ROW_xkMbgAAAeVAQra0eZWebFQq5aIK&timestamp=1696909648",
                         {"content-type": "application/json"}, body)
    assert TIKTOK.string_to_sign(call, DOC_SECRET, replace(TIKTOK.variant, wrap=False)) == (
        "/event/202309/webhooksapp_key68xu9ks5p4i8shop_cipherROW_xkMbgAAAeVAQra0eZWebFQq5aIKtimestamp1696909648"
        + body)
    multipart = replace(call, headers={"content-type": "multipart/form-data; boundary=x"})
    assert body not in TIKTOK.string_to_sign(multipart, DOC_SECRET, TIKTOK.variant)


def test_tiktok_shop_legacy_follows_the_published_steps_without_the_body():
    # https://partner.tiktokshop.com/doc/page/274638: request .../api/orders?limit=20&timestamp=1623812664
    # &app_key=12345&access_token=88888888; sign and access_token left out, sorted, path first, wrapped
    call = Call.from_url("POST", "https://open-api.tiktokglobalshop.com/api/orders?limit=20&timestamp=1623812664"
                         "&app_key=12345&access_token=88888888", {"content-type": "application/json"}, '{"a":1}')
    assert LEGACY.string_to_sign(call, "secret", LEGACY.variant) == (
        "secret/api/ordersapp_key12345limit20timestamp1623812664secret")
    assert guess_scheme(call, "open-api.tiktokglobalshop.com") == "tiktok_shop_legacy"
    assert guess_scheme(doc_call(), "open-api.tiktokglobalshop.com") == "tiktok_shop"


@pytest.mark.parametrize(("url", "base"), [
    # Shopee Open Platform "API calls", Signature calculation: the three published base strings
    ("https://partner.shopeemobile.com/api/v2/shop/get_shop_info?partner_id=2001887&timestamp=1655714431"
     "&access_token=59777174636562737266615546704c6d&shop_id=14701711",
     "2001887/api/v2/shop/get_shop_info165571443159777174636562737266615546704c6d14701711"),
    ("https://partner.shopeemobile.com/api/v2/global_product/get_category?partner_id=2001887&timestamp=1655714431"
     "&access_token=09777174636962737266615546704c6d&merchant_id=1000000",
     "2001887/api/v2/global_product/get_category165571443109777174636962737266615546704c6d1000000"),
    ("https://partner.shopeemobile.com/api/v2/public/get_shops_by_partner?partner_id=2001887&timestamp=1655714431",
     "2001887/api/v2/public/get_shops_by_partner1655714431"),
])
def test_shopee_v2_builds_the_published_base_strings(url, base):
    call = Call.from_url("GET", url)
    assert SHOPEE.string_to_sign(call, "partner-key", SHOPEE.variant) == base
    # the doc's sign (56f31d01...) is not reproducible: its partner key is not published
    assert SHOPEE.sign(call, "partner-key") == hmac.new(b"partner-key", base.encode(), hashlib.sha256).hexdigest()


LAZADA_CASES = [  # (method, API name, parameters): the official SDK signs the same parameters
    ("GET", "/orders/get", {"app_key": "100240", "sign_method": "sha256", "timestamp": "1517820392000",
                            "access_token": "50000000a11ce", "created_after": "2017-02-10T09:00:00+08:00"}),
    ("POST", "/product/update", {"app_key": "100240", "sign_method": "sha256", "timestamp": "1517820392000",
                                 "payload": json.dumps({"Request": {"Product": {"ItemId": "1"}}}),
                                 "partner_id": "lazop-sdk-python-20181207"}),
    ("GET", "/seller/get", {"app_key": "100240", "timestamp": "1517820392000", "sign_method": "sha256",
                            "name": "店铺 ร้าน"}),
]


@pytest.mark.parametrize(("method", "api", "params"), LAZADA_CASES)
def test_lazada_agrees_with_the_official_sdk(method, api, params):
    from urllib.parse import urlencode

    official = lazop_sign()("app-secret", api, params)
    signed = urlencode({**params, "sign": official})
    if method == "GET":
        call = Call.from_url("GET", f"https://api.lazada.sg/rest{api}?{signed}")
    else:
        call = Call.from_url("POST", f"https://api.lazada.sg/rest{api}",
                             {"Content-Type": "application/x-www-form-urlencoded"}, signed)
    assert LAZADA.sign(call, "app-secret") == official
    assert check(LAZADA, call, "app-secret").valid


def test_the_declarative_hmac_reproduces_rfc_4231_test_case_2():
    form = HmacForm.parse({"parts": ["literal:what do ya want for nothing?"], "signature": "header:X-Signature"})
    call = Call.from_url("POST", "https://gw.example.com/x", {
        "X-Signature": "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"})
    assert check(form, call, "Jefe").valid
    as_base64 = HmacForm.parse({"parts": ["literal:what do ya want for nothing?"], "encoding": "base64"})
    assert as_base64.sign(call, "Jefe") == "W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM="


@pytest.mark.parametrize(("form", "field"), [
    ({"parts": ["cookie:x"]}, "parts"), ({"digest": "md4x"}, "digest"), ({"encoding": "hex32"}, "encoding"),
    ({"signature": "body:sign"}, "signature"), ({"secret": "x"}, "unknown"), ([], "JSON object"),
])
def test_a_wrong_hmac_form_is_refused_naming_the_field(form, field):
    with pytest.raises(ValueError, match=field):
        scheme_for("hmac", form)


# -- a changed input pinpointed in mutated copies of the published signed request ----------


def test_a_changed_path_is_named():
    found = check(TIKTOK, doc_call(path="/authorization/202309/shops/"), DOC_SECRET)
    assert (found.valid, found.differs) == (False, "path")


def test_a_parameter_added_after_signing_is_named():
    call = doc_call(query=(*doc_call().query, ("shop_cipher", "ROW_x")))
    found = check(TIKTOK, call, DOC_SECRET)
    assert found.differs == "parameters" and "shop_cipher" in found.detail


def test_parameters_signed_in_the_order_sent_are_named():
    call = Call.from_url("GET", "https://open-api.tiktokglobalshop.com/authorization/202309/shops"
                         "?timestamp=1623812664&app_key=29a39d")
    unsorted = TIKTOK.sign(call, DOC_SECRET, replace(TIKTOK.variant, sort=False))
    found = check(TIKTOK, replace(call, query=(*call.query, ("sign", unsorted))), DOC_SECRET)
    assert found.differs == "parameters" and "order" in found.detail


def test_a_body_the_signature_did_not_cover_is_named():
    found = check(TIKTOK, doc_call(method="POST", body='{"page_size":20}'), DOC_SECRET)
    assert found.differs == "body"


def test_a_body_re_serialised_after_signing_is_named():
    compact = '{"address":"https://example.com","event_type":"PACKAGE_UPDATE"}'
    base = doc_call(method="PUT", body=compact)
    signed = TIKTOK.sign(base, DOC_SECRET)
    sent = replace(base, body=json.dumps(json.loads(compact), indent=1), query=tuple(
        (k, signed if k == "sign" else v) for k, v in base.query))
    found = check(TIKTOK, sent, DOC_SECRET)
    assert found.differs == "body" and "compact" in found.detail


def test_a_changed_timestamp_is_named():
    found = check(TIKTOK, doc_call().with_param("timestamp", "1623812964"), DOC_SECRET)
    assert found.differs == "timestamp" and "1623812664" in found.detail


@pytest.mark.parametrize(("sign", "how"), [
    (DOC_SIGN.upper(), "case"),
    (hashlib.sha256(b"e59af819cc/authorization/202309/shopsapp_key29a39dtimestamp1623812664e59af819cc")
     .hexdigest(), "plain SHA-256"),
])
def test_another_algorithm_is_named(sign, how):
    found = check(TIKTOK, doc_call().with_param("sign", sign), DOC_SECRET)
    assert found.differs == "algorithm" and how in found.detail


def test_the_legacy_scheme_used_for_a_202309_call_with_a_body_is_named():
    call = doc_call(method="POST", body='{"a":1}')
    legacy_sign = TIKTOK.sign(call, DOC_SECRET, Variant(body=False))
    found = check(TIKTOK, call.with_param("sign", legacy_sign), DOC_SECRET)
    assert found.differs in ("body", "algorithm")  # the same mistake seen from either side
    assert "without the body" in found.detail or "legacy" in found.detail


def test_another_secret_is_named_and_never_shown():
    found = check(TIKTOK, doc_call(), "not-the-secret")
    assert (found.valid, found.differs) == (False, "secret")
    shown = json.dumps(found.as_dict())
    assert "not-the-secret" not in shown and DOC_SIGN not in shown and "{app_secret}" in shown


def test_lazada_mutations_are_named():
    params = dict(LAZADA_CASES[0][2])
    official = lazop_sign()("app-secret", "/orders/get", params)
    from urllib.parse import urlencode

    call = Call.from_url("GET", f"https://api.lazada.sg/rest/orders/get?{urlencode({**params, 'sign': official})}")
    assert check(LAZADA, call.with_param("timestamp", "1517820392500"), "app-secret").differs == "timestamp"
    added = replace(call, query=(*call.query, ("status", "pending")))
    assert check(LAZADA, added, "app-secret").differs == "parameters"
    assert check(LAZADA, call, "other-secret").differs == "secret"
    assert "50000000a11ce" not in check(LAZADA, call, "app-secret").string_to_sign


def test_shopee_mutations_are_named():
    url = ("https://partner.shopeemobile.com/api/v2/shop/get_shop_info?partner_id=2001887&timestamp=1655714431"
           "&access_token=59777174636562737266615546704c6d&shop_id=14701711")
    call = Call.from_url("GET", url)
    signed = call.with_param("timestamp", "1655714431")
    signed = replace(signed, query=(*signed.query, ("sign", SHOPEE.sign(call, "partner-key"))))
    assert check(SHOPEE, signed, "partner-key").valid
    assert check(SHOPEE, replace(signed, path="/api/v2/shop/get_shop_info/"), "partner-key").differs == "path"
    assert check(SHOPEE, signed.with_param("timestamp", "1655714500"), "partner-key").differs == "timestamp"
    assert check(SHOPEE, signed, "another-key").differs == "secret"


def test_signcheck_tells_the_scheme_from_the_host_of_a_captured_call(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from service.cli import main

    har = {"log": {"entries": [{"request": {"method": "GET", "url": DOC_URL, "headers": [
        {"name": k, "value": v} for k, v in DOC_HEADERS.items()]}, "response": {"status": 200, "content": {}}}]}}
    path = tmp_path / "doc.har"
    path.write_text(json.dumps(har))
    monkeypatch.setenv("TTS_APP_SECRET", DOC_SECRET)
    result = CliRunner().invoke(main, ["signcheck", str(path), "--secret-env", "TTS_APP_SECRET", "--format", "json"])
    assert result.exit_code == 0, result.output
    answer = json.loads(result.output)
    assert (answer["scheme"], answer["valid"], answer["call"]) == ("tiktok_shop", True, 1)
    assert DOC_SECRET not in result.output and DOC_SIGN not in result.output
