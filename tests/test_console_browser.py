"""/console in a real browser: Debian's chromium, driven by playwright, against a live server.

`make test` installs chromium first (`make browser`); under CI (CI set) this test must
run, elsewhere it skips when chromium is missing (tests/conftest.py `tool`). Playwright
drives the system browser (executable_path): nothing is downloaded.
"""

import json
import re

import pytest

from rules.loader import read_directory
from rules.runtime import KnowledgeBase
from rules.store import Store
from service.admin.keys import create_key
from service.app import create_app
from tests.conftest import KB_DIR, contract_checked, tool
from tests.live_server import serving
from tests.test_console import EN_TITLE, MATCHING, RULE, ZH_TITLE, seed_gap

EN_DIAGNOSIS = "Order 21008111: the order or package does not belong to this shop"
ZH_DIAGNOSIS = "订单 21008111：该订单或包裹不属于当前店铺"
STEP_MS = 15_000  # one step's patience; the whole test takes a few seconds


@pytest.fixture
def live(tmp_path):
    """A server over a store holding kb_content and one recorded unmatched error, and an editor key."""
    store = Store(f"sqlite:///{tmp_path / 'kb.db'}")
    store.create_schema()
    store.publish(read_directory(KB_DIR), author="test")
    kb = KnowledgeBase(store, KB_DIR)
    app = contract_checked(create_app({"TESTING": True}, kb=kb))
    key = create_key(store, "editor", "browser test")[1]
    seed_gap(store)
    with serving(app) as base:
        yield base, key
    assert app.extensions["contract_violations"] == [], "responses that break openapi.yaml"
    kb.engine.close()
    store.dispose()


@pytest.fixture
def browser():
    executable = tool("chromium", "browser")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=["--disable-gpu"])
        try:
            yield launched
        finally:
            launched.close()


def test_support_staff_browse_filter_try_a_payload_switch_language_and_see_gaps(live, browser):
    from playwright.sync_api import expect

    base, key = live
    context = browser.new_context(locale="en-US")
    context.set_default_timeout(STEP_MS)
    expect.set_options(timeout=STEP_MS)
    # CSP violations reach the console as errors; the event is recorded too, in case
    context.add_init_script(
        "window.__csp = []; document.addEventListener('securitypolicyviolation',"
        " e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));")
    page = context.new_page()
    problems, requests = [], []

    def on_console(message):
        if message.type in ("error", "warning"):
            problems.append(f"console {message.type}: {message.text} {message.location}")

    page.on("console", on_console)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("request", lambda r: requests.append((r.url, r.headers.get("authorization", ""))))

    # 1. no key yet: the console asks for one; the key goes to sessionStorage
    page.goto(f"{base}/console")
    expect(page.locator("#key-missing")).to_be_visible()
    page.fill("#key-input", key)
    page.click("#key-form button[type=submit]")
    expect(page.locator("body")).to_have_attribute("data-key", "present")
    expect(page.locator("#rules tbody tr").first).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('opsdiag.console.key')") == key

    # 2. filter by platform and domain
    page.select_option("#filter-platform", "tiktok_shop")
    page.select_option("#filter-domain", "orders")
    page.click("#filters button[type=submit]")
    expect(page).to_have_url(re.compile(r"/console\?.*platform=tiktok_shop.*&domain=orders"))
    expect(page.locator(f'#rules tr[data-rule-id="{RULE}"]')).to_be_visible()
    ids = page.locator("#rules tbody tr").evaluate_all("rows => rows.map(r => r.dataset.ruleId)")
    assert ids and all(i.startswith("tiktok_shop.") for i in ids), ids
    domains = page.locator("#rules tbody tr td:nth-child(6)").all_inner_texts()
    assert all("orders" in d or d == "*" for d in domains), domains

    # 3. open the rule: its texts, conditions, doc link, source
    page.click(f'#rules tr[data-rule-id="{RULE}"] a')
    expect(page.locator("#rule-title")).to_have_text(EN_TITLE)
    expect(page).to_have_url(f"{base}/console/rules/{RULE}?lang=en")
    expect(page.locator("#conditions")).to_contain_text("21008111")
    expect(page.locator("#rule-doc")).to_have_attribute("href", re.compile(r"^https://partner\.tiktokshop\.com/"))
    expect(page.locator("#rule-source")).to_contain_text("ecommerce-api-docs")

    # 4. paste a payload that matches it: the diagnosis, and the trace with a passed row
    page.fill("#test-form-payload", json.dumps(MATCHING, indent=2))
    page.click("#test-form button[type=submit]")
    expect(page.locator("#result .diagnosis-title")).to_have_text(EN_DIAGNOSIS)
    expect(page.locator("#result")).to_have_attribute("data-matched", "true")
    passed = page.locator('#trace tr.passed[data-passed="true"]')
    expect(passed.first).to_contain_text("code")
    expect(passed.first).to_contain_text("✓")

    # 5. switch to Chinese: the UI and the rule's own texts; and the test again, in Chinese
    page.click('[data-lang-switch="zh-CN"]')
    expect(page.locator("#rule-title")).to_have_text(ZH_TITLE)
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.locator('[data-nav="rules"]')).to_have_text("规则")
    page.fill("#test-form-payload", json.dumps(MATCHING))
    page.click("#test-form button[type=submit]")
    expect(page.locator("#result .diagnosis-title")).to_have_text(ZH_DIAGNOSIS)
    expect(page.locator("#verdict")).to_contain_text("这条规则命中了")

    # 6. a reload comes without the key; the script fetches the page again with it
    page.reload()
    expect(page.locator("#rule-title")).to_have_text(ZH_TITLE)
    expect(page.locator("body")).to_have_attribute("data-key", "present")

    # 7. the unmatched shapes, and an example of one diagnosed from there
    page.click('[data-nav="gaps"]')
    expect(page.locator("h1")).to_have_text("最常见的未匹配错误")
    expect(page.locator("[data-error]")).to_have_count(0)
    gap = page.locator("#gaps tr.gap").first
    expect(gap).to_contain_text("The teapot refused order <NUM>")
    expect(gap.locator("td.num")).to_have_text("3")
    detail = page.locator("#gaps tr.gap-detail").first
    detail.locator("details.example summary").click()
    detail.locator("form.example button").click()
    expect(page.locator("body")).to_have_attribute("data-page", "diagnose")
    expect(page.locator("#result")).to_have_attribute("data-matched", "false")
    expect(page.locator("#verdict")).to_have_text("没有规则命中。")

    # the key travelled only in the Authorization header of the page fetches
    assert context.cookies() == []
    assert not any(key in url for url, _auth in requests)
    fetched = [url for url, auth in requests if auth == f"Bearer {key}"]
    assert any("/console/rules/" in url for url in fetched) and any("/console/gaps" in url for url in fetched)
    assert not any("/assets/" in url for url in fetched)
    assert page.evaluate("window.__csp") == []
    assert problems == [], "the console logged errors (CSP violations show here)"

    # forgetting the key empties the tab's storage; the page asks again
    page.click("#key-forget")
    expect(page.locator("#key-form")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('opsdiag.console.key')") is None
    assert problems == []
    context.close()
