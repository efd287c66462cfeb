"""The parts of the joint debugging report one at a time: decoding captured bodies, the
differences `compare` finds between hand-made calls, masking, JSONL captures, escaping."""

import base64
import gzip
import json
import zlib

import brotli
import pytest
from click.testing import CliRunner

from service.batch.kb import resolve
from service.cli import main
from service.debugging import capture, compare, decode, report
from tests.conftest import KB_DIR


@pytest.fixture(scope="module")
def engine():
    return resolve(None, KB_DIR).engine()


# -- decode -------------------------------------------------------------------------------

DOC = b'{"code":"0","data":"{\\"order_id\\":\\"576461413038785752\\"}"}'


@pytest.mark.parametrize(("body", "encoding", "first"), [
    (gzip.compress(DOC), "gzip", "gzip"),
    (zlib.compress(DOC), "deflate", "deflate"),
    (zlib.compress(DOC)[2:-4], "deflate", "deflate"),  # raw deflate, as some servers send it
    (brotli.compress(DOC), "br", "br"),
    (gzip.compress(DOC), "", "gzip"),  # told by its magic bytes
])
def test_compressed_bodies_are_unpacked_and_json_inside_strings_parsed(body, encoding, first):
    found = decode.decode(body, {"Content-Encoding": encoding})
    assert found.steps == [first, "json", "json inside a string"]
    assert found.value == {"code": "0", "data": {"order_id": "576461413038785752"}}


def test_a_har_base64_body_and_base64_text_inside_are_decoded():
    inner = base64.b64encode(b'{"k": "v"}').decode()
    found = decode.decode(base64.b64encode(inner.encode()).decode(), {}, base64_encoded=True)
    assert found.steps == ["base64 (as captured)", "base64", "json inside a string"]
    assert found.value == {"k": "v"}


def test_form_and_percent_encoding_are_decoded():
    form = "payload=%7B%22Request%22%3A%7B%22Sku%22%3A%5B%5D%7D%7D&name=a+b%26c"
    found = decode.decode(form, {"content-type": "application/x-www-form-urlencoded"})
    assert found.value == {"payload": {"Request": {"Sku": []}}, "name": "a b&c"}
    assert decode.decode("%E4%B8%AD%E6%96%87%20text").value == "中文 text"


def test_a_body_that_is_not_what_its_header_says_keeps_its_text_and_says_why():
    found = decode.decode('{"a": 1}', {"Content-Encoding": "gzip"})
    assert found.value == {"a": 1} and "not" in found.note
    assert "not one opsdiag can undo" in decode.decode("x", {"Content-Encoding": "zstd"}).note


def test_a_decompression_bomb_stops_at_the_bound():
    bomb = gzip.compress(b"0" * (decode.MAX_BYTES + 1024))
    found = decode.decode(bomb, {"Content-Encoding": "gzip"})
    assert found.steps == [] and "more than" in found.note


# -- compare ------------------------------------------------------------------------------


def call(url="https://api.lazada.sg/rest/orders/get?app_key=1&a=1&b=x%20y", headers=None, body=None, status=200,
         response_headers=None, response_body='{"code": "0"}'):
    return capture.Exchange(number=1, method="POST" if body else "GET", url=url, status=status,
                            request_headers=headers or {}, request_body=body,
                            response_headers=response_headers or {}, response_body=response_body)


def kinds(good, bad, engine):
    return {d["kind"]: d for d in compare.compare(good, bad, engine)["differences"]}


def test_headers_added_dropped_and_changed_are_found(engine):
    good = call(headers={"User-Agent": "PostmanRuntime/7.36", "Content-Type": "application/json; charset=utf-8",
                         "Accept": "application/json", "Postman-Token": "x"})
    bad = call(headers={"User-Agent": "Apache-HttpClient/4.5", "Content-Type": "application/json; charset=GBK",
                        "Via": "1.1 squid", "X-Forwarded-For": "10.0.0.1"})
    found = compare.compare(good, bad, engine)["differences"]
    whats = {d["what"] for d in found}
    assert {"header user-agent changed", "header content-type changed", "header accept dropped",
            "header via added", "header x-forwarded-for added"} <= whats
    assert not any("postman-token" in w for w in whats)  # Postman's own, never a cause
    assert {d["kind"] for d in found} >= {"user-agent", "content-type", "accept", "proxy"}


def test_query_order_encoding_and_missing_parameters_are_found(engine):
    good = call()
    bad = call(url="https://api.lazada.sg/rest/orders/get?b=x+y&app_key=1")
    found = kinds(good, bad, engine)
    assert found["query-missing"]["what"] == "query parameter a missing"
    assert found["query-order"]["good"] == "app_key,b" and found["query-order"]["bad"] == "b,app_key"
    assert found["query-encoding"]["good"] == "x%20y" and found["query-encoding"]["bad"] == "x+y"


def test_body_fields_of_another_type_or_extra_are_found(engine):
    good = call(body='{"order": {"quantity": 10, "sku": "A"}}', headers={"Content-Type": "application/json"})
    bad = call(body='{"order": {"quantity": "10", "sku": "A", "note": "x"}}',
               headers={"Content-Type": "application/json"})
    found = kinds(good, bad, engine)
    assert found["body-type"]["what"] == "body field order.quantity is a string, not a number"
    assert found["body-extra"]["what"] == "body field order.note extra"


def test_a_sandbox_host_and_another_region_are_found(engine):
    good = call(url="https://partner.shopeemobile.com/api/v2/order/get_order_list?partner_id=1")
    bad = call(url="https://partner.test-stable.shopeemobile.com/api/v2/order/get_order_list?partner_id=1")
    assert kinds(good, bad, engine)["token-environment"]["bad"] == "sandbox"
    th = kinds(call(), call(url="https://api.lazada.co.th/rest/orders/get?app_key=1&a=1&b=x%20y"), engine)
    assert (th["region"]["good"], th["region"]["bad"]) == ("SG", "TH")


def test_tokens_are_compared_but_never_shown(engine):
    good = call(headers={"x-tts-access-token": "TTP_goodtoken_0123456789"})
    bad = call(headers={"x-tts-access-token": "TTP_oldtoken_9876543210"})
    shown = json.dumps(compare.compare(good, bad, engine))
    assert "token" in kinds(good, bad, engine)
    assert "goodtoken" not in shown and "oldtoken" not in shown


# -- report -------------------------------------------------------------------------------

BUYER = {"code": 0, "data": {"orders": [{"id": "576461413038785752", "recipient_address": {
    "name": "Jane Roe", "phone_number": "+1 415 555 2671", "full_address": "1 Main Street, Springfield"}}]},
    "request_id": "2024112506152401024509910319695C45"}


def test_buyer_data_and_tokens_are_masked_in_raw_and_decoded_bodies(engine):
    failing = call(url="https://open-api.tiktokglobalshop.com/order/202309/orders?app_key=29a39d&"
                       "access_token=TTP_secret_token_value&sign=0123456789abcdef", status=500,
                   headers={"x-tts-access-token": "TTP_secret_token_value", "Cookie": "sid=abc"},
                   response_body=json.dumps(BUYER))
    text = report.render(report.build([failing], engine), "md")
    for secret in ("Jane Roe", "555 2671", "1 Main Street", "TTP_secret_token_value", "0123456789abcdef", "sid=abc"):
        assert secret not in text
    assert "576461413038785752" in text and "2024112506152401024509910319695C45" in text  # ids stay


def test_html_report_escapes_what_the_capture_holds(engine):
    failing = call(status=400, response_body="<script>alert(1)</script> Bad Request")
    page = report.render(report.build([failing], engine), "html")
    assert "<script>alert(1)" not in page and "&lt;script&gt;" in page


def test_a_jsonl_capture_as_batch_reads_it(tmp_path):
    lines = [{"status": 200, "endpoint": "https://api.lazada.sg/rest/orders/get", "body": {"code": "0"},
              "elapsed_ms": 120},
             {"id": "E2", "status": 200, "endpoint": "https://api.lazada.sg/rest/orders/get", "elapsed_ms": 95,
              "body": {"code": "IllegalAccessToken", "message": "The specified access token is invalid or expired",
                       "request_id": "0ba2887315178178017221014", "type": "ISV"}}]
    path = tmp_path / "calls.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines), encoding="utf-8")
    result = CliRunner().invoke(main, ["report", str(path), "--dir", str(KB_DIR)])
    assert result.exit_code == 0, result.output
    assert "integrator acts first: step 2" in result.output and "| 2 |  | GET |" in result.output
    assert "| 120 |" in result.output


def test_a_file_that_is_no_capture_is_refused_with_its_reason(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("api_endpoint,http_status\n/x,500\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["report", str(path), "--dir", str(KB_DIR)])
    assert result.exit_code != 0 and "not CSV" in result.output


def test_a_har_response_kept_as_base64_gzip_is_read_for_its_error_envelope(engine):
    from tests.fake_marketplace import rule_example

    example = rule_example("tiktok_shop.auth.access_token_expired")
    packed = base64.b64encode(gzip.compress(json.dumps(example["body"]).encode())).decode()
    entry = {"startedDateTime": "2026-12-07T10:00:00Z", "time": 80,
             "request": {"method": "GET", "url": example["endpoint"], "headers": []},
             "response": {"status": example["status"], "headers": [{"name": "Content-Encoding", "value": "gzip"}],
                          "content": {"size": 200, "mimeType": "application/json", "encoding": "base64",
                                      "text": packed}}}
    built = report.build(capture.from_har({"log": {"entries": [entry]}}), engine)
    assert built["verdict"]["category"] == "auth.token_expired"
    assert built["failures"][0]["decoded"]["response"]["steps"][:2] == ["base64 (as captured)", "gzip"]
    assert built["failures"][0]["identifiers"]["request_id"] == example["body"]["request_id"]
