"""/console in a real browser: Debian's chromium, driven by playwright, against a live server.

`make test` installs chromium first (`make browser`); under CI (CI set) this test must
run, elsewhere it skips when chromium is missing (tests/conftest.py `chromium`). Playwright
drives the system browser (executable_path): nothing is downloaded.
"""

import json
import re

import pytest

from rules.kb.loader import read_directory
from rules.kb.store import Store
from rules.runtime import KnowledgeBase
from service.web.app import create_app
from service.web.keys import create_key
from tests.api.test_console import EN_TITLE, MATCHING, RULE, UNMATCHED, ZH_TITLE, seed_gap
from tests.conftest import KB_DIR, chromium, contract_checked
from tests.live_server import serving

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
    with chromium() as launched:
        yield launched


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


# ------------------------------------------------------------------ curating


DOC = "https://partner.tiktokshop.com/docv2/page/6894134ba28e5204961601a5"
TITLE = "The teapot refused order {code}"


@pytest.fixture
def curating(tmp_path):
    """A server following its store (as each worker does), a gap recorded, and keys: a
    publisher who curates, two editors who collide."""
    store = Store(f"sqlite:///{tmp_path / 'kb.db'}")
    store.create_schema()
    store.publish(read_directory(KB_DIR), author="test")
    seed_gap(store)
    kb = KnowledgeBase(store, KB_DIR, 0.2)
    kb.start_polling()
    app = contract_checked(create_app({"TESTING": True}, kb=kb))
    keys = {"publisher": create_key(store, "publisher", "curator")[1],
            "editor": create_key(store, "editor", "first")[1], "editor2": create_key(store, "editor", "second")[1]}
    with serving(app) as base:
        yield base, keys
    kb.stop()
    assert app.extensions["contract_violations"] == [], "responses that break openapi.yaml"
    kb.engine.close()
    store.dispose()


def watched(browser, base, key, locale="en-US"):
    """A tab with the key entered, failing the test on any console error or CSP violation."""
    from playwright.sync_api import expect

    context = browser.new_context(locale=locale)
    context.set_default_timeout(STEP_MS)
    expect.set_options(timeout=STEP_MS)
    context.add_init_script(
        "window.__csp = []; document.addEventListener('securitypolicyviolation',"
        " e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));")
    page = context.new_page()
    page.problems = []
    page.on("console", lambda m: m.type in ("error", "warning") and page.problems.append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda e: page.problems.append(f"page error: {e}"))
    page.goto(f"{base}/console")
    page.fill("#key-input", key)
    page.keyboard.press("Enter")  # the key form, by keyboard
    expect(page.locator("body")).to_have_attribute("data-key", "present")
    return context, page


def served_rule(page, base) -> str | None:
    """What /diagnose answers for the unmatched error now: the top rule's id (None: no rule)."""
    answer = page.request.post(f"{base}/diagnose", data=UNMATCHED).json()
    return answer["diagnoses"][0]["rule_id"]


def answered_by(page, base, rule_id) -> bool:
    """Wait (as a follower thread takes up to 0.2 s) until /diagnose answers with `rule_id`."""
    for _ in range(100):
        if served_rule(page, base) == rule_id:
            return True
        page.wait_for_timeout(100)
    return False


def test_a_curator_turns_a_gap_into_a_published_rule_and_rolls_it_back(curating, browser):
    from playwright.sync_api import expect

    base, keys = curating
    context, page = watched(browser, base, keys["publisher"])
    expect(page.locator("#key-role")).to_have_attribute("data-role", "publisher")
    assert served_rule(page, base) is None

    # gap -> draft: one click opens the editor on the gap's draft rule
    page.click('[data-nav="gaps"]')
    page.locator("#gaps form.from-gap button").first.click()
    expect(page.locator("body")).to_have_attribute("data-page", "editor")
    rule_id = page.input_value("#f-id")
    assert rule_id.startswith("tiktok_shop.orders.draft_")
    expect(page.locator("#f-when")).to_contain_text("99990001")

    # edit: the form's common fields; the check runs as it is typed, in the API's words
    page.fill("#f-doc", "not a link")
    expect(page.locator('#check-errors li[data-name="then.doc_url"]')).to_be_visible()
    expect(page.locator("#f-doc")).to_have_attribute("aria-invalid", "true")
    page.fill("#f-doc", DOC)
    page.select_option("#f-category", "business.policy_violation")
    page.fill("#f-en-title", TITLE)
    page.fill("#f-en-explanation", "The test platform answers 418 when the teapot refuses an order.")
    page.fill("#f-en-steps", "Ask the teapot again with request_id {request_id}.")
    page.fill("#f-zh-CN-title", "茶壶拒绝了订单 {code}")
    page.fill("#f-zh-CN-explanation", "测试平台在茶壶拒绝订单时返回 418。")
    page.fill("#f-zh-CN-steps", "带上 request_id {request_id} 再问一次茶壶。")
    page.fill("#f-source", "tests/system/test_console_browser.py: a made-up error of this test, not a platform's")
    expect(page.locator("#check-ok")).to_be_visible()
    expect(page.locator("#f-doc")).not_to_have_attribute("aria-invalid", "true")
    expect(page.locator("#yaml-view")).to_contain_text("category: business.policy_violation")

    # test: its examples, and the pasted error, before anything is saved
    page.click("#do-examples")
    expect(page.locator('#editor-examples tr[data-example="match.0"]')).to_have_attribute("data-state", "passed")
    expect(page.locator('#editor-examples tr[data-example="no_match.0"]')).to_have_attribute("data-state", "passed")
    page.fill("#editor-payload", json.dumps(UNMATCHED))
    page.click("#do-test")
    expect(page.locator("#result")).to_have_attribute("data-matched", "true")
    expect(page.locator("#result .diagnosis-title")).to_have_text("The teapot refused order 99990001")
    assert served_rule(page, base) is None  # nothing saved, nothing served

    # save: a draft, its page shows the change and the history
    page.click("#do-save")
    expect(page.locator("#saved")).to_be_visible()
    expect(page).to_have_url(re.compile(rf"/console/rules/{re.escape(rule_id)}\?"))
    expect(page.locator("#rule-diff")).to_contain_text("+id: " + rule_id)
    expect(page.locator('#audit tr[data-action="create"]')).to_have_count(1)

    # publish: the gate passes, /diagnose answers with the new rule
    page.click('[data-nav="publish"]')
    expect(page.locator(f'#drafts li[data-rule-id="{rule_id}"]')).to_be_visible()
    page.fill("#publish-note", "the teapot")
    page.click("#publish-form button")
    expect(page.locator("#published")).to_contain_text("Version 2")
    assert answered_by(page, base, rule_id)

    # rollback from the version list: /diagnose answers as before
    page.locator('#versions tr[data-version="1"] form.rollback button').click()
    expect(page.locator("#rolled-back")).to_contain_text("Version 1")
    expect(page.locator('#versions tr[data-version="1"]')).to_have_attribute("data-current", "true")
    assert answered_by(page, base, None)

    assert page.evaluate("window.__csp") == [] and page.problems == []
    assert context.cookies() == []
    context.close()


def stored_title(page, base, key) -> str:
    response = page.request.get(f"{base}/admin/v1/rules/{RULE}", headers={"Authorization": f"Bearer {key}"})
    return response.json()["rule"]["then"]["en"]["title"]


def test_two_editors_on_one_rule_see_the_conflict_and_nothing_is_lost(curating, browser):
    from playwright.sync_api import expect

    base, keys = curating
    first_context, first = watched(browser, base, keys["editor"])
    second_context, second = watched(browser, base, keys["editor2"], locale="zh-CN")
    for page in (first, second):
        page.goto(f"{base}/console/rules/{RULE}")
        page.click("#edit-rule")
        expect(page.locator("#f-en-title")).to_have_value(EN_TITLE)
    assert first.locator("#publish-form").count() == 0  # an editor may not publish

    first.fill("#f-en-title", "Order {code}: saved by the first editor")
    first.click("#do-save")
    expect(first.locator("#saved")).to_be_visible()

    second.fill("#f-en-title", "Order {code}: saved by the second editor")
    second.click("#do-save")
    conflict = second.locator("#conflict")
    expect(conflict).to_be_visible()
    expect(conflict.locator("h2")).to_have_text("在你打开之后，有人修改了这条规则")
    expect(second.locator("#conflict-diff")).to_contain_text("saved by the first editor")
    expect(second.locator("#conflict-diff")).to_contain_text("saved by the second editor")
    expect(second.locator("#f-en-title")).to_have_value("Order {code}: saved by the second editor")  # kept
    assert stored_title(second, base, keys["editor"]) == "Order {code}: saved by the first editor"

    # saving again, by keyboard, is the second editor's choice
    expect(second.locator("#do-save")).to_have_text("用我的版本覆盖对方的")
    second.focus("#do-save")
    second.keyboard.press("Enter")
    expect(second.locator("#saved")).to_be_visible()
    assert stored_title(second, base, keys["editor"]) == "Order {code}: saved by the second editor"
    expect(second.locator('#audit tr[data-action="update"]')).to_have_count(2)

    # the conflict page comes with its status, 412, which chromium notes as a failed load
    refused = "Failed to load resource: the server responded with a status of 412"
    for page in (first, second):
        assert page.evaluate("window.__csp") == []
        assert [p for p in page.problems if refused not in p] == []
    assert len(second.problems) == 1
    first_context.close()
    second_context.close()
