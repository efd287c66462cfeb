"""Property tests: whatever a caller sends, the normalizer and the whole diagnose path hold.

Bodies are any JSON (huge, deep, every code point including lone surrogates), strings
holding JSON, HTML pages, binary-ish text; headers come in any case, repeated, as lists,
with odd Date values; and whole requests arrive as raw bytes in UTF-16, GB18030, latin-1
or broken UTF-8. The property: `normalize` never raises, and POST /diagnose answers either
a diagnosis that conforms to openapi.yaml or a clean 4xx problem+json, never a 500.
Derandomized (as test_contract.py) so that a failure reproduces; about 40 s in all.
"""

import json
import string
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st

from rules.engine.normalize import MAX_MESSAGE, normalize, parse_body, read_envelope
from rules.model import DOMAINS, PLATFORMS
from service.schemas import DiagnoseRequestSchema

FUZZ = settings(max_examples=400, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
PROBLEM = "application/problem+json"
SCHEMA = DiagnoseRequestSchema()

# -- strategies --------------------------------------------------------------------------

every_char = st.characters(exclude_categories=())  # includes lone surrogates (category Cs)
any_text = st.text(every_char, max_size=40)
printable = st.text(st.characters(codec="utf-8"), max_size=40)
huge_text = st.builds(lambda c, n: c * n, st.sampled_from(["a", "é", "中", "\U0001f600", "\udc80", " "]),
                      st.integers(1_000, 300_000))
texts = st.one_of(any_text, printable, st.sampled_from(["", " ", "null", "{", "[", "<", "\x00", "\ufeff{}"]))

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.integers(-(10**30), 10**30),
                    st.floats(allow_nan=False, allow_infinity=False), texts)
json_values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=6), st.dictionaries(texts, inner, max_size=6)), max_leaves=40)


def nested(depth: int, kind: str):
    value: object = "leaf"
    for _ in range(depth):
        value = [value] if kind == "list" else {"error": value}
    return value


deep_values = st.builds(nested, st.integers(1, 300), st.sampled_from(["list", "dict"]))
envelopes = st.fixed_dictionaries({}, optional={
    "code": scalars, "message": st.one_of(texts, json_values), "msg": texts, "error": json_values,
    "error_description": texts, "errors": st.lists(st.one_of(json_values, st.fixed_dictionaries(
        {"code": scalars, "message": json_values})), max_size=4),
    "type": texts, "request_id": json_values, "detail": json_values, "title": texts,
})
tags = st.sampled_from(["p", "div", "h1", "title", "script", "style", "b", "br", "!--", "x-y", "svg"])
html_pages = st.builds(
    lambda head, parts, close: head + "".join(f"<{t}>{text}" + (f"</{t}>" if c else "") for t, text, c in parts)
    + ("</body></html>" if close else ""),
    st.sampled_from(["<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body>",
                     "<html>", "<body>", "  <!doctype HTML>", "<HTML><BODY onload='x()'>"]),
    st.lists(st.tuples(tags, st.one_of(any_text, st.sampled_from(["&amp;", "&#0;", "&#x110000;", "<![CDATA[", "&"])),
                       st.booleans()), max_size=12),
    st.booleans())
binaryish = st.one_of(st.binary(max_size=200).map(lambda b: b.decode("latin-1")),
                      st.binary(max_size=200).map(lambda b: b.decode("utf-8", "surrogateescape")))
json_in_strings = st.one_of(
    json_values.map(json.dumps),
    envelopes.map(lambda e: "  " + json.dumps(e, ensure_ascii=False) + "\n"),
    st.integers(1, 100_000).map(lambda n: "[" * n + "]" * n),  # deeper than the parser goes
    st.integers(1, 5_000).map(lambda n: '{"message": ' + '{"a": ' * n + "1" + "}" * n + "}"),
    json_values.map(lambda v: json.dumps(v)[:-1]),  # truncated
    envelopes.map(json.dumps),  # "\\ud800" spelled inside the string: decoding makes a lone surrogate
)
bodies = st.one_of(json_values, envelopes, deep_values, json_in_strings, html_pages, binaryish, huge_text,
                   st.lists(envelopes, max_size=3))

token = st.text(st.sampled_from(string.ascii_letters + string.digits + "!#$%&'*+.^_`|~-"), min_size=1, max_size=24)
header_names = st.one_of(
    token, st.sampled_from(["Date", "date", "DATE", "dAtE", "X-Amzn-RequestId", "x-amzn-errortype",
                            "Retry-After", "X-Request-ID", "content-type"]),
    any_text)
odd_dates = st.one_of(
    st.sampled_from(["Tue, 14 Nov 2023 22:23:20 GMT", "Mon, 01 Jan 0001 00:00:00 GMT",
                     "Fri, 31 Dec 9999 23:59:59 -2359", "Tue, 31 Feb 2023 25:61:61 GMT",
                     "01 Jan 99999999999999999999 00:00:00", "Sat, 01 Jan 10000 00:00:00 GMT",
                     "0", "-1", "1e400", "9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59", "",
                     "Mon, 1 Jan 1 0:0:0 +9999", "Thu, 01 Jan 1970 00:00:00 +0000", "now"]),
    st.builds("{}, {:02d} {} {} {:02d}:{:02d}:{:02d} {}".format,
              st.sampled_from(["Mon", "Xyz", ""]), st.integers(-5, 99),
              st.sampled_from(["Jan", "Feb", "Foo"]), st.integers(-10**6, 10**25),
              st.integers(-1, 99), st.integers(-1, 99), st.integers(-1, 99),
              st.sampled_from(["GMT", "UTC", "+9999", "-0000", "Z", "EST"])),
    st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
    texts)
header_values = st.one_of(texts, odd_dates, st.lists(st.one_of(texts, odd_dates), max_size=4),
                          st.integers(), st.floats(allow_nan=False, allow_infinity=False), json_values)
header_maps = st.one_of(
    st.dictionaries(header_names, header_values, max_size=12),
    st.builds(lambda date, dup: {"Date": date, "date": dup, "DATE": [date, dup]}, odd_dates, odd_dates),
    st.integers(90, 120).map(lambda n: {f"x-h{i}": str(i) for i in range(n)}),
    json_values)
timestamps = st.one_of(odd_dates, st.integers(-(10**20), 10**20), st.floats(allow_nan=False), json_values)
endpoints = st.one_of(
    texts, st.sampled_from([
        "https://open-api.tiktokglobalshop.com/order/202309/orders?app_key=x&timestamp=1&sign=y",
        "https://sellingpartnerapi-eu.amazon.com/orders/v0/orders", "http://[::1/x", "https://api.lazada.co.id/rest/x",
        "https://partner.test-stable.shopeemobile.com/api/v2/product/add_item", "/", "//", "http://:0",
        "https://a.b/" + "x" * 5000, "https://exa mple.com/%zz?%%=&&=", "ftp://user:pw@[v1.x]/"]))

payloads = st.fixed_dictionaries(
    {"status": st.one_of(st.integers(0, 599), st.integers(-10, 10**6), scalars), "endpoint": endpoints},
    optional={
        "method": st.one_of(st.sampled_from(["GET", "post", "PATCH"]), texts),
        "headers": header_maps,
        "body": bodies,
        "request": st.one_of(st.fixed_dictionaries({}, optional={"headers": header_maps, "body": bodies}), json_values),
        "platform": st.one_of(st.sampled_from(PLATFORMS), texts),
        "region": st.one_of(st.sampled_from(["US", "uk", "gb", "SG", "XX", "usa"]), texts),
        "domain": st.one_of(st.sampled_from(DOMAINS), texts),
        "context": st.one_of(st.fixed_dictionaries({}, optional={
            "environment": st.one_of(st.sampled_from(["sandbox", "production"]), texts),
            "sent_at": timestamps, "occurred_at": timestamps,
            "retry_count": st.one_of(st.integers(-1, 10**7), scalars), "shop_id": texts}), json_values),
        "id": texts,
        "surprise": json_values,
    })
# Mostly payloads that pass validation, so that the engine really runs on odd content.
valid_payloads = st.fixed_dictionaries(
    {"status": st.integers(0, 599), "endpoint": endpoints.filter(lambda e: isinstance(e, str) and 0 < len(e) <= 4096)},
    optional={
        "headers": st.dictionaries(token, st.one_of(printable, odd_dates, st.lists(odd_dates, max_size=3)), max_size=8),
        "body": st.one_of(envelopes, json_in_strings, html_pages, binaryish, printable,
                          st.lists(envelopes, max_size=3)),
        "platform": st.sampled_from(PLATFORMS), "domain": st.sampled_from(DOMAINS),
        "context": st.fixed_dictionaries({}, optional={
            "sent_at": st.sampled_from(["2023-11-14T22:13:20Z", 1700000000, 1700000000000, "0001-01-01T00:00:00Z"]),
            "environment": st.sampled_from(["sandbox", "production"])}),
    })


def strict_json(data: bytes):
    """Parse as RFC 8259 JSON: no NaN or Infinity, valid UTF-8."""
    def refuse(name):
        raise ValueError(f"not JSON: {name}")
    return json.loads(data.decode("utf-8"), parse_constant=refuse)


def post(app, data: bytes, content_type="application/json", headers=None):
    violations = app.extensions["contract_violations"]
    violations.clear()
    response = app.test_client().post("/diagnose", data=data, content_type=content_type, headers=headers or {})
    assert violations == [], violations
    return response


def assert_answered(response, allowed=(200, 400, 413, 422)):
    """A diagnosis, or a 4xx problem that names what is wrong; the body is strict JSON either way."""
    assert response.status_code in allowed, (response.status_code, response.data[:500])
    body = strict_json(response.data)
    if response.status_code == 200:
        assert response.mimetype == "application/json"
        assert body["diagnoses"] and body["diagnoses"][0]["category"]
    else:
        assert response.mimetype == PROBLEM
        assert body["status"] == response.status_code and body["title"]
        if response.status_code == 422:
            assert all(p["name"] or p["reason"] for p in body["invalid-params"])
    return body


def as_bytes(payload, how: str) -> bytes:
    if how == "ascii":
        return json.dumps(payload).encode()
    return json.dumps(payload, ensure_ascii=False).encode("utf-8", "surrogatepass")  # raw lone surrogates


# -- the normalizer alone: it must accept anything ----------------------------------------

@FUZZ
@given(payload=st.one_of(payloads, valid_payloads))
def test_normalize_accepts_any_payload(payload):
    fact = normalize(payload)
    assert isinstance(fact.status, int)
    assert fact.platform in PLATFORMS and fact.domain in DOMAINS
    assert fact.message is None or (isinstance(fact.message, str) and len(fact.message) <= MAX_MESSAGE)
    assert all(isinstance(k, str) and k == k.lower() and isinstance(v, str) for k, v in fact.headers.items())
    skew = fact.derived.get("clock_skew_seconds")
    assert skew is None or (isinstance(skew, int) and skew >= 0)


@FUZZ
@given(sent=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)),
       gap=st.integers(-10**7, 10**7))
def test_clock_skew_is_the_size_of_the_gap_whichever_clock_is_ahead(sent, gap):
    sent = sent.replace(microsecond=0)
    answered = format_datetime(sent + timedelta(seconds=gap), usegmt=True)
    fact = normalize({"status": 401, "endpoint": "/x", "headers": {"Date": answered},
                      "context": {"sent_at": sent.isoformat()}})
    assert fact.derived["clock_skew_seconds"] == abs(gap)


@FUZZ
@given(body=bodies)
def test_any_body_reads_as_one_envelope(body):
    parsed, fmt = parse_body(body)
    assert fmt in ("empty", "json", "html", "text")
    code, message, error_type, request_id = read_envelope(parsed, fmt)
    for value in (code, message, error_type, request_id):
        assert value is None or isinstance(value, str)


# -- the whole path: schema, engine, response ----------------------------------------------

@FUZZ
@given(payload=st.one_of(payloads, valid_payloads), how=st.sampled_from(["ascii", "raw"]),
       lang=st.sampled_from(["en", "zh-CN", "zh;q=0.1, en;q=0.9", "*", "xx-YY, ;q=,", ""]),
       request_id=st.text(st.characters(codec="latin-1", exclude_characters="\r\n"), max_size=200))
def test_diagnose_answers_any_payload_or_names_the_problem(app, payload, how, lang, request_id):
    response = post(app, as_bytes(payload, how), headers={"Accept-Language": lang, "X-Request-ID": request_id})
    body = assert_answered(response)
    if response.status_code == 200:
        assert body["request_id"] == response.headers["X-Request-ID"]


@FUZZ
@given(payload=valid_payloads, lang=st.sampled_from(["en", "zh-CN"]))
def test_a_valid_payload_is_always_diagnosed(app, local_kb, payload, lang):
    """What the schema accepts, the engine answers: directly, and over HTTP, identically."""
    loaded = SCHEMA.load(json.loads(json.dumps(payload)))
    direct = local_kb.diagnose(loaded, lang)
    assert direct["diagnoses"] and direct["platform"] in PLATFORMS
    json.dumps(direct, ensure_ascii=False).encode("utf-8")  # serializable, and as UTF-8 (no lone surrogate)
    response = post(app, json.dumps(payload).encode(), headers={"Accept-Language": lang})
    body = assert_answered(response, allowed=(200,))
    assert [d["rule_id"] for d in body["diagnoses"]] == [d["rule_id"] for d in direct["diagnoses"]]


@FUZZ
@given(headers=header_maps, sent_at=timestamps, in_request=st.booleans())
def test_any_header_map_is_diagnosed_or_refused_by_name(app, headers, sent_at, in_request):
    payload = {"status": 401, "endpoint": "https://open-api.tiktokglobalshop.com/authorization/202309/shops",
               "body": {"code": 106001, "message": "Invalid credentials."}, "context": {"sent_at": sent_at}}
    if in_request:
        payload["request"] = {"headers": headers}
    else:
        payload["headers"] = headers
    response = post(app, as_bytes(payload, "ascii"))
    body = assert_answered(response, allowed=(200, 422))
    if response.status_code == 422:
        names = {p["name"] for p in body["invalid-params"]}
        assert names <= {"headers", "request.headers", "context.sent_at"}, names


# -- raw bytes in other encodings ------------------------------------------------------------

ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "gb18030", "latin-1",
             "cp1252", "shift_jis", "big5"]
UNICODE_JSON = ("utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32")


@FUZZ
@given(message=st.text(st.characters(codec="utf-8"), max_size=60), encoding=st.sampled_from(ENCODINGS),
       charset=st.sampled_from(["", "; charset=utf-8", "; charset=GB18030", "; charset=utf-16", "; charset=x"]),
       damage=st.one_of(st.none(), st.tuples(st.integers(0, 10_000), st.binary(min_size=1, max_size=4))))
def test_bodies_in_any_encoding_are_answered_or_refused_cleanly(app, message, encoding, charset, damage):
    payload = {"status": 400, "endpoint": "https://open-api.tiktokglobalshop.com/product/202309/products",
               "body": {"code": 12052048, "message": message}}
    text = json.dumps(payload, ensure_ascii=False)
    data = text.encode(encoding, "replace")
    if damage is not None:  # bytes that are not UTF-8: a truncated sequence, a stray continuation byte ...
        at, junk = damage
        at %= len(data) + 1
        data = data[:at] + junk + data[at:]
    response = post(app, data, content_type="application/json" + charset)
    body = assert_answered(response, allowed=(200, 400, 422))
    if damage is None and (encoding in UNICODE_JSON or text.isascii()):
        assert response.status_code == 200, body  # any Unicode encoding JSON allows is read
    if response.status_code == 400:
        assert body["detail"]


@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(text=st.text(st.characters(codec="utf-8"), min_size=1, max_size=30).filter(lambda t: not t.isascii()))
def test_non_utf8_legacy_bytes_are_a_400_saying_so(app, text):
    data = json.dumps({"status": 400, "endpoint": "/x", "body": text}, ensure_ascii=False).encode("gb18030", "replace")
    assume(not _is_utf8(data))
    response = post(app, data)
    assert response.status_code == 400 and response.mimetype == PROBLEM
    assert "UTF-8" in response.get_json()["detail"] or "JSON" in response.get_json()["detail"]


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


# -- the other ways in: the batch API, opsdiag batch, the gap store ----------------------------

def through_every_path(app, store, folder, payloads: list) -> None:
    """Probe item 1's neighbours: what /diagnose takes, the batch API, `opsdiag batch` over a
    JSONL log and the gap store take too, without a 500, a crash or a failed flush."""
    import pathlib

    from rules.engine.normalize import normalize as read
    from rules.kb import gaps as gap_store
    from rules.kb.gaps import Unmatched
    from service.batch.report import render_html, render_text
    from service.batch.run import diagnose_file

    response = app.test_client().post("/diagnose/batch", data=json.dumps({"items": payloads}),
                                      content_type="application/json")  # ASCII: "\udc80" spelled out
    assert response.status_code == 200, response.data[:300]
    body = strict_json(response.data)
    assert body["count"] == len(payloads) and len(body["results"]) == len(payloads)
    log = pathlib.Path(folder) / "log.jsonl"
    log.write_text("\n".join(json.dumps(p) for p in payloads) + "\n", encoding="ascii")  # as exported logs spell it
    run = diagnose_file(log, pathlib.Path(folder) / "out.jsonl", workers=1)
    (render_text(run) + render_html(run)).encode("utf-8")
    items = []
    for payload in payloads:
        try:
            loaded = SCHEMA.load(json.loads(json.dumps(payload)))
        except Exception:  # noqa: BLE001 - refused payloads are not kept, as the service does
            continue
        fact = read(loaded)
        items.append(Unmatched(platform=fact.platform, region=fact.region, domain=fact.domain, status=fact.status,
                               code=fact.code, message=fact.message, payload=loaded, endpoint=fact.endpoint))
    assert gap_store.record(store, items) == len(items)


@settings(max_examples=20, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck),
          phases=[Phase.explicit, Phase.reuse, Phase.generate])  # a failure is reported as found, unshrunk
@given(payloads=st.lists(valid_payloads, min_size=1, max_size=4))
def test_every_way_in_takes_what_diagnose_takes(app, tmp_path_factory, payloads):
    from rules.kb.store import Store

    folder = tmp_path_factory.mktemp("paths")
    store = Store(f"sqlite:///{folder / 'kb.db'}")
    store.create_schema()
    try:
        through_every_path(app, store, folder, payloads)
    finally:
        store.dispose()
