"""/console: server-rendered pages over the admin API, in English and Simplified Chinese.

The browser-side flow (the key in sessionStorage, pages fetched with it) is in
test_console_browser.py; these drive the pages with a test client, sending the key as
console.js does, in the Authorization header.
"""

import json
import logging

import pytest

from rules.kb.loader import read_directory
from rules.kb.store import Store
from rules.runtime import KnowledgeBase
from service.web.app import create_app
from service.web.console import api
from service.web.console.i18n import TEXTS
from service.web.keys import create_key
from tests.conftest import KB_DIR, contract_checked
from tests.system.test_docs import References

RULE = "tiktok_shop.orders.order_not_owned_by_shop"
EN_TITLE = "Order {code}: the order or package does not belong to this shop"
ZH_TITLE = "订单 {code}：该订单或包裹不属于当前店铺"
MATCHING = {
    "status": 400, "method": "GET",
    "endpoint": "https://open-api.tiktokglobalshop.com/order/202309/orders?ids=576461413038785752",
    "body": {"code": 21008111, "message": "The order or package does not belong to the current seller.",
             "request_id": "202203070749000101890810281E8C70B7"},
}
GAPS = {"gaps": [
    {"template": "Invalid warehouse <NUM> for region <*>", "count": 42, "platform": "tiktok_shop",
     "status": 400, "code": "99990001", "last_seen": "2026-11-26T02:10:22+00:00",
     "example": {"status": 400, "endpoint": "https://open-api.tiktokglobalshop.com/x", "body": {"code": 99990001}},
     "draft_rule": "# DRAFT\nid: tiktok_shop.other.draft_0123abcd\nwhen:\n  code: '99990001'\n"},
    {"template": "", "count": 7, "platform": "shopee", "status": 500, "code": None,
     "last_seen": "2026-11-25T23:00:00+00:00", "example": {"status": 500, "endpoint": "https://partner.shopeemobile.com/x"},
     "draft_rule": "# DRAFT\nid: shopee.other.draft_4567cdef\n"},
]}
UNMATCHED = {"status": 418, "endpoint": "https://open-api.tiktokglobalshop.com/order/202309/orders",
             "body": {"code": 99990001, "message": "The teapot refused order 1234567"}}


def seed_gap(store, times: int = 3) -> None:
    """What the service keeps of an error no rule matched, `times` over (rules/kb/gaps.py)."""
    from rules.kb import gaps

    for n in range(times):
        message = f"The teapot refused order {1234567 + n}"
        gaps.record(store, [gaps.Unmatched(
            platform="tiktok_shop", region=None, domain="orders", status=418, code="99990001", message=message,
            payload={**UNMATCHED, "body": {**UNMATCHED["body"], "message": message}},
            endpoint=UNMATCHED["endpoint"], method="GET")])


@pytest.fixture(scope="module")
def console_env(tmp_path_factory):
    """A store holding kb_content as version 1, the app over it, and a key per role."""
    path = tmp_path_factory.mktemp("console") / "kb.db"
    store = Store(f"sqlite:///{path}")
    store.create_schema()
    store.publish(read_directory(KB_DIR), author="test")
    kb = KnowledgeBase(store, KB_DIR)
    app = contract_checked(create_app({"TESTING": True}, kb=kb))
    keys = {role: create_key(store, role)[1] for role in ("client", "viewer", "editor")}
    yield app, keys, store
    kb.engine.close()
    store.dispose()


@pytest.fixture
def console(console_env):
    app, keys, _store = console_env
    violations = app.extensions["contract_violations"]
    violations.clear()
    yield app.test_client(), keys
    assert violations == [], "responses that break openapi.yaml"


def bearer(key: str, **headers) -> dict:
    return {"Authorization": f"Bearer {key}", **headers}


def html(response) -> str:
    assert response.mimetype == "text/html", response.get_data(as_text=True)[:300]
    return response.get_data(as_text=True)


# ------------------------------------------------------------------ the page itself


def test_without_a_key_the_page_asks_for_one_and_shows_no_data(console):
    client, _keys = console
    page = html(client.get("/console"))
    assert 'id="key-form"' in page and 'id="key-input"' in page and 'id="key-missing"' in page
    assert 'id="rules"' not in page
    # the key field has no name: a form submitted by the browser itself could not carry it
    assert 'id="key-input" type="password"' in page and 'name="key' not in page


def test_pages_reference_only_same_origin_assets_under_a_strict_csp(console):
    client, keys = console
    for path in ("/console", f"/console/rules/{RULE}", "/console/diagnose", "/console/gaps"):
        response = client.get(path, headers=bearer(keys["editor"]))
        assert response.status_code == 200, path
        refs = References()
        refs.feed(html(response))
        assert refs.inline == [], f"{path}: no inline script or style, the CSP forbids them"
        for url in refs.urls:
            if url.startswith("https://"):  # the platform's documentation, a plain link
                continue
            assert url.startswith("/") and not url.startswith("//"), url
        policy = dict(d.strip().split(" ", 1) for d in response.headers["Content-Security-Policy"].split(";"))
        assert policy["default-src"] == "'none'"
        assert policy["script-src"] == policy["style-src"] == policy["connect-src"] == "'self'"
        assert "unsafe" not in response.headers["Content-Security-Policy"]
        assert response.headers["Cache-Control"] == "no-store"


def test_assets_are_served_with_their_types_and_nothing_else(console):
    client, _keys = console
    script = client.get("/console/assets/console.js")
    assert script.status_code == 200 and script.mimetype == "text/javascript"
    assert "sessionStorage" in script.get_data(as_text=True) and "Authorization" in script.get_data(as_text=True)
    assert "http" not in script.get_data(as_text=True).replace("https://", "")  # no other origin named
    assert client.get("/console/assets/console.css").mimetype == "text/css"
    assert client.get("/console/assets/console.svg").mimetype == "image/svg+xml"
    for name in ("views.py", "..%2Fviews.py", "base.html"):
        missing = client.get(f"/console/assets/{name}")
        assert missing.status_code == 404 and missing.mimetype == "application/problem+json"


def test_every_ui_text_exists_in_both_languages():
    assert TEXTS["en"].keys() == TEXTS["zh-CN"].keys()
    assert all(TEXTS["zh-CN"][k] for k in TEXTS["zh-CN"])


# ------------------------------------------------------------------ keys


def test_a_refused_key_is_said_so_with_401_and_never_echoed(console):
    client, _keys = console
    forged = "odk_000000000000_not-a-real-secret-xxxxxxxxxxxxxxxx"
    response = client.get("/console", headers=bearer(forged), environ_base={"REMOTE_ADDR": "198.51.100.7"})
    page = html(response)
    assert response.status_code == 401
    assert 'id="key-refused"' in page and 'data-key="refused"' in page
    assert forged not in page and "not-a-real-secret" not in page


def test_a_client_key_may_not_browse_rules(console):
    client, keys = console
    response = client.get("/console", headers=bearer(keys["client"]))
    assert response.status_code == 403 and "viewer" in html(response)


def test_the_key_is_not_in_the_page_nor_the_logs(console, caplog):
    client, keys = console
    with caplog.at_level(logging.INFO):
        page = html(client.get(f"/console/rules/{RULE}", headers=bearer(keys["viewer"])))
    assert keys["viewer"] not in page
    lines = [r.getMessage() + json.dumps(r.__dict__, default=str) for r in caplog.records]
    assert lines and not any(keys["viewer"] in line for line in lines)
    # the page's request and the admin API calls it made (the rule, its history, the key's role),
    # with one request id
    access = [r for r in caplog.records if r.name == "opsdiag.access"]
    assert [r.path for r in access] == [f"/admin/v1/rules/{RULE}", "/admin/v1/audit", "/admin/v1/whoami",
                                        f"/console/rules/{RULE}"]
    assert len({r.request_id for r in access}) == 1


# ------------------------------------------------------------------ rules


def test_rules_are_filtered_by_platform_region_domain_status_and_text(console):
    client, keys = console
    page = html(client.get("/console?platform=tiktok_shop&domain=orders", headers=bearer(keys["viewer"])))
    listed = client.get("/admin/v1/rules?platform=tiktok_shop&domain=orders",
                        headers=bearer(keys["viewer"])).get_json()["rules"]
    assert listed and all(r["id"].startswith("tiktok_shop.") for r in listed)
    assert page.count("<tr data-rule-id=") == len(listed)
    assert f'<tr data-rule-id="{RULE}">' in page and f'href="/console/rules/{RULE}?lang=en"' in page
    assert '<option value="tiktok_shop" selected>' in page and '<option value="orders" selected>' in page
    query = "platform=tiktok_shop&domain=orders&region=US&status=published&q=does not belong"
    narrowed = html(client.get(f"/console?{query}", headers=bearer(keys["viewer"])))
    expected = client.get(f"/admin/v1/rules?{query}", headers=bearer(keys["viewer"])).get_json()["rules"]
    assert 0 < len(expected) < len(listed) and RULE in [r["id"] for r in expected]
    assert narrowed.count("<tr data-rule-id=") == len(expected)
    none = html(client.get("/console?status=deleted", headers=bearer(keys["viewer"])))
    assert 'id="rules"' not in none and TEXTS["en"]["no_rules"] in none


def test_an_invalid_filter_gets_the_admin_apis_422_on_the_page(console):
    client, keys = console
    response = client.get("/console?status=bogus", headers=bearer(keys["viewer"]))
    assert response.status_code == 422 and "status" in html(response)


def test_rule_page_shows_texts_conditions_examples_doc_link_and_source(console):
    client, keys = console
    page = html(client.get(f"/console/rules/{RULE}", headers=bearer(keys["viewer"])))
    assert f'<h1 id="rule-title">{EN_TITLE}</h1>' in page
    assert "does not belong to the seller identified" in page  # explanation
    assert 'id="rule-doc" href="https://partner.tiktokshop.com/docv2/page/6894134ba28e5204961601a5"' in page
    assert "lazykern/ecommerce-api-docs" in page  # source
    assert "<td><code>code</code></td><td><code>eq &#34;21008111&#34;</code></td>" in page
    assert TEXTS["en"]["examples_match"] in page and TEXTS["en"]["examples_no_match"] in page
    assert page.count('class="example"') >= 2


@pytest.mark.parametrize("how", [{"query_string": {"lang": "zh-CN"}},
                                 {"headers": {"Accept-Language": "zh-CN,en;q=0.5"}}])
def test_rule_page_in_chinese_by_query_or_accept_language(console, how):
    client, keys = console
    headers = {**how.get("headers", {}), **bearer(keys["viewer"])}
    page = html(client.get(f"/console/rules/{RULE}", headers=headers, query_string=how.get("query_string")))
    assert '<html lang="zh-CN">' in page
    assert f'<h1 id="rule-title">{ZH_TITLE}</h1>' in page
    assert "不属于当前 access token" in page and TEXTS["zh-CN"]["conditions"] in page
    assert TEXTS["en"]["conditions"] not in page
    assert f'href="/console/rules/{RULE}?lang=en"' in page  # the switch back


def test_unknown_rule_is_a_404_page(console):
    client, keys = console
    response = client.get("/console/rules/tiktok_shop.nope.nothing", headers=bearer(keys["viewer"]))
    assert response.status_code == 404 and "tiktok_shop.nope.nothing" in html(response)


# ------------------------------------------------------------------ trying payloads


def test_a_matching_payload_shows_the_diagnosis_and_a_passed_trace(console):
    client, keys = console
    response = client.post(f"/console/rules/{RULE}/test", headers=bearer(keys["editor"]),
                           data={"payload": json.dumps(MATCHING)})
    page = html(response)
    assert response.status_code == 200
    assert 'id="result" data-matched="true" data-top="true"' in page
    assert '<tr class="passed" data-passed="true">' in page
    assert "<td><code>code</code></td><td><code>eq</code></td>" in page
    assert ('<h3 class="diagnosis-title">Order 21008111: the order or package does not belong to this shop</h3>'
            in page)


def test_a_near_miss_shows_the_failed_condition_in_chinese(console):
    client, keys = console
    near = {**MATCHING, "body": {"code": 10006402, "message": "permission denied"}}
    page = html(client.post(f"/console/rules/{RULE}/test?lang=zh-CN", headers=bearer(keys["editor"]),
                            data={"payload": json.dumps(near)}))
    assert 'data-matched="false"' in page and '<tr class="failed" data-passed="false">' in page
    assert TEXTS["zh-CN"]["rule_not_matched"] in page and "✗ 否" in page


def test_testing_needs_an_editor_and_says_so(console):
    client, keys = console
    response = client.post(f"/console/rules/{RULE}/test", headers=bearer(keys["viewer"]),
                           data={"payload": json.dumps(MATCHING)})
    assert response.status_code == 403 and "editor" in html(response)


@pytest.mark.parametrize(("text", "says"), [
    ("", "payload_missing"), ("{not json", "payload_not_json"), ("[1, 2]", "payload_not_object")])
def test_a_payload_that_is_not_a_json_object_is_a_422_page(console, text, says):
    client, keys = console
    response = client.post(f"/console/rules/{RULE}/test", headers=bearer(keys["editor"]), data={"payload": text})
    assert response.status_code == 422
    assert TEXTS["en"][says].split("{")[0] in html(response)


def test_invalid_payload_fields_are_named(console):
    client, keys = console
    response = client.post("/console/diagnose", headers=bearer(keys["viewer"]),
                           data={"payload": json.dumps({"status": "oops", "endpoint": "/x"})})
    page = html(response)
    assert response.status_code == 422 and "<code>status</code>" in page
    assert "oops" in page  # the pasted text is kept in the form


def test_any_payload_is_diagnosed_in_the_language_asked_for(console):
    client, _keys = console
    page = html(client.post("/console/diagnose", headers={"Accept-Language": "zh-CN"},
                            data={"payload": json.dumps(MATCHING)}))
    assert 'id="result" data-matched="true"' in page
    assert '<h3 class="diagnosis-title">订单 21008111：该订单或包裹不属于当前店铺</h3>' in page
    assert "tiktok_shop (推断)" in page
    unmatched = html(client.post("/console/diagnose?lang=en", headers={"Accept-Language": "zh-CN"},
                                 data={"payload": json.dumps({"status": 418, "endpoint": "https://example.com/x"})}))
    assert 'data-matched="false"' in unmatched and TEXTS["en"]["matched_none"] in unmatched


# ------------------------------------------------------------------ unmatched shapes


def test_gaps_page_without_the_route_says_no_data_yet(console, monkeypatch):
    client, keys = console
    real = api.call

    def no_gaps_route(method, path, **kwargs):
        if path == "/admin/v1/gaps":
            return api.Answer(404, {"type": "about:blank", "title": "Not Found", "status": 404})
        return real(method, path, **kwargs)

    monkeypatch.setattr(api, "call", no_gaps_route)
    response = client.get("/console/gaps?lang=zh-CN", headers=bearer(keys["viewer"]))
    assert response.status_code == 200 and TEXTS["zh-CN"]["gaps_empty"] in html(response)


def test_gaps_page_shows_what_the_route_returns(console, monkeypatch):
    client, keys = console
    asked = []

    def gaps_route(method, path, **kwargs):
        asked.append((method, path, kwargs.get("query")))
        return api.Answer(200, GAPS)

    monkeypatch.setattr(api, "call", gaps_route)
    page = html(client.get("/console/gaps?limit=50", headers=bearer(keys["viewer"])))
    assert asked == [("GET", "/admin/v1/gaps", {"limit": "50"}), ("GET", "/admin/v1/whoami", None)]
    assert page.count('<tr class="gap">') == 2
    assert "<code>Invalid warehouse &lt;NUM&gt; for region &lt;*&gt;</code>" in page
    assert '<td class="num">42</td>' in page and "2026-11-26T02:10:22+00:00" in page
    assert "id: tiktok_shop.other.draft_0123abcd\nwhen:" in page  # the draft rule, as YAML
    assert page.count('action="/console/diagnose?lang=en"') == 2  # each example can be diagnosed
    assert 'id="gaps-empty"' not in page


def test_gaps_page_over_the_real_route_shows_recorded_unmatched_errors(console_env):
    app, keys, store = console_env
    client = app.test_client()
    seed_gap(store)
    page = html(client.get("/console/gaps?lang=zh-CN", headers=bearer(keys["viewer"])))
    assert '<tr class="gap">' in page and "The teapot refused order &lt;NUM&gt;" in page
    assert '<td class="num">3</td>' in page and TEXTS["zh-CN"]["gaps_title"] in page
    assert app.extensions["contract_violations"] == []


def test_gaps_page_reports_the_apis_refusal(console, monkeypatch):
    client, keys = console
    monkeypatch.setattr(api, "call", lambda *a, **k: api.Answer(403, {"title": "Forbidden", "detail": "needs viewer"}))
    response = client.get("/console/gaps", headers=bearer(keys["client"]))
    assert response.status_code == 403 and "needs viewer" in html(response)


def test_gaps_limit_is_bounded(console):
    client, keys = console
    for limit in ("0", "101", "many", ""):
        assert client.get(f"/console/gaps?limit={limit}", headers=bearer(keys["viewer"])).status_code == 422


# ------------------------------------------------------------------ no store


def test_without_a_rule_store_rule_pages_say_so_and_diagnose_still_works(client):
    response = client.get("/console", headers=bearer("any-key-at-all-0123456789"))
    assert response.status_code == 503 and TEXTS["en"]["no_admin"] in html(response)
    page = html(client.post("/console/diagnose", data={"payload": json.dumps(MATCHING)}))
    assert 'data-matched="true"' in page

