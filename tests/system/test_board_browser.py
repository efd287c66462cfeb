"""The ops errors board in a real browser (Debian's chromium, driven by playwright, as
tests/system/test_console_browser.py does): the report of a real-looking multi-shop export and of a
generated 1,000,000-row log, each filter, a shared link, one row opened, the exports
checked row by row against the filter. Timings are `make bench`'s, not asserted here."""

import csv
import io
import json
from datetime import datetime
from urllib.parse import urlsplit

import pytest

from service.batch import generate
from service.batch.board import shape_label
from service.batch.kb import resolve
from service.batch.report import write_html
from service.batch.run import diagnose_file
from service.batch.worker import endpoint_label
from service.web.app import create_app
from tests.conftest import KB_DIR, chromium

STEP_MS = 60_000
MILLION = 1_000_000


@pytest.fixture(scope="module")
def kb():
    return resolve(None, KB_DIR)


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


def label_of(url: str) -> str:
    parts = urlsplit(url)
    return shape_label(endpoint_label(parts.hostname or "", parts.path or "/"))


@pytest.fixture(scope="module")
def shops(tmp_path_factory, kb):
    """The multi-shop export, its diagnosed rows (input columns + category, owner) and its report."""
    folder = tmp_path_factory.mktemp("shops")
    source = generate.write_shops_csv(folder / "export.csv", 300, seed=4)
    reports = {}
    for lang in ("en", "zh-CN"):
        run = diagnose_file(source, folder / f"out-{lang}.csv", kb=kb, workers=1, board=True, lang=lang)
        reports[lang] = write_html(run, folder / f"report-{lang}.html", lang)
    text = (folder / "out-en.csv").read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    return reports, rows


def open_board(browser, path, hash_="", locale="en-US"):
    context = browser.new_context(locale=locale, accept_downloads=True)
    context.set_default_timeout(STEP_MS)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: None if r.url.startswith(("file:", "blob:")) else errors.append("request " + r.url))
    page.goto(path.as_uri() + hash_)
    page.wait_for_selector("#board[data-ready=true]")
    return page, errors


def shown(page) -> int:
    return int(page.get_attribute("#board-count", "data-rows"))


def export(page, kind):
    with page.expect_download() as info:
        page.click(f"#export-{kind}")
    return info.value.path().read_bytes().decode("utf-8")


def exported_csv(page) -> list[dict]:
    text = export(page, "csv")
    assert text.startswith("\ufeff"), "Excel reads UTF-8 with the BOM only"
    return list(csv.DictReader(io.StringIO(text[1:])))


def minute(text: str) -> str:
    return datetime.strptime(text, "%Y-%m-%d %H:%M").strftime("%Y-%m-%dT%H:%M")


def test_each_filter_of_a_multi_shop_export_and_its_csv_export(browser, shops):
    reports, rows = shops
    page, errors = open_board(browser, reports["en"])
    assert shown(page) == len(rows) == 300
    assert not page.is_visible("#board-sampled"), "every row is in the report"
    assert page.evaluate("[...document.getElementById('board').childNodes].filter(n => n.nodeType === 3)"
                         ".length") == 0, "no stray text (a null or undefined drawn as text)"
    code = rows[0]["error_code"]
    checks = {  # filter -> (value, which input rows it keeps)
        "code": (code or "(none)", lambda r: r["error_code"] == code),
        "code ": ("105002", lambda r: r["error_code"] == "105002"),
        "status": ("400", lambda r: r["http_status"] == "400"),
        "shop": ("Lumen Beauty MY", lambda r: r["shop_name"] == "Lumen Beauty MY"),
        "category": ("validation.invalid_value", lambda r: r["category"] == "validation.invalid_value"),
        "owner": ("seller", lambda r: r["owner"] == "seller"),
        "endpoint": (label_of(rows[0]["api_endpoint"]), lambda r: label_of(r["api_endpoint"]) ==
                     label_of(rows[0]["api_endpoint"])),
        "retries": ("3+", lambda r: int(r["retries"]) >= 3),
        "platform": ("tiktok_shop", lambda r: "tiktok" in urlsplit(r["api_endpoint"]).hostname),
    }
    for name, (value, keep) in checks.items():
        page.select_option(f"#f-{name.strip()}", value)
        expected = [r for r in rows if keep(r)]
        assert expected and shown(page) == len(expected), name
        got = exported_csv(page)
        assert [r["order_ref"] for r in got] == [r["order_ref"] for r in expected], name
        assert all(g["category"] == e["category"] and g["owner"] == e["owner"] for g, e in zip(got, expected,
                                                                                             strict=True))
        chart = sum(int(c) for c in page.locator("#board-chart .cause").evaluate_all(
            "cs => cs.map(c => c.dataset.count)"))
        assert chart == len(expected), "the cause chart counts the filtered rows"
        page.click("#f-clear")
        assert shown(page) == 300
    times = sorted(r["occurred_at"] for r in rows)
    start, end = times[50], times[200]
    page.fill("#f-from", minute(start))
    page.fill("#f-to", minute(end))
    page.fill("#f-q", "PO-")  # free text: no shape says it, no shop: nothing
    assert shown(page) == 0
    page.fill("#f-q", "lumen")  # a shop's name
    expected = [r for r in rows if start <= r["occurred_at"] <= end and "Lumen" in r["shop_name"]]
    assert shown(page) == len(expected) > 0
    lines = export(page, "jsonl").splitlines()
    assert [json.loads(line)["order_ref"] for line in lines] == [r["order_ref"] for r in expected]
    assert errors == []


def test_the_region_filter_counts_a_shops_inferred_region(browser, shops):
    reports, rows = shops
    page, _ = open_board(browser, reports["en"])
    options = page.locator("#f-region option").evaluate_all("os => os.map(o => o.value)")
    assert {"US", "GB", "MY", "JP"} <= set(options)
    page.select_option("#f-region", "US")
    assert shown(page) >= sum(r["region_code"] == "US" for r in rows)


def test_a_filtered_view_is_a_link_to_share_and_a_row_opens_with_its_diagnosis(browser, shops):
    reports, rows = shops
    page, _ = open_board(browser, reports["en"])
    page.select_option("#f-shop", "Acme Home UK")
    page.select_option("#f-retries", "3+")
    fragment = page.evaluate("location.hash")
    assert "shop=Acme%20Home%20UK" in fragment and "retries=3%2B" in fragment
    count = shown(page)
    shared, _ = open_board(browser, reports["en"], fragment)
    assert shown(shared) == count == sum(r["shop_name"] == "Acme Home UK" and int(r["retries"]) >= 3 for r in rows)
    assert shared.input_value("#f-shop") == "Acme Home UK"
    shared.click("tr.shape >> nth=0")
    shared.click("tr.kept-rows a.open-row >> nth=0")
    detail = shared.locator("#board-detail")
    assert detail.is_visible()
    text = detail.inner_text()
    opened = [r for r in rows if r["order_ref"] in text]  # the export's own reference, a column shown as is
    assert len(opened) >= 1
    row = opened[0]
    assert row["shop_name"] == "Acme Home UK" and int(row["retries"]) >= 3 and row["http_status"] in text
    assert "sign=abc" not in text, "the signature in the endpoint is masked"
    assert shared.locator("#detail-steps li").count() >= 1
    if row["doc_url"]:
        assert shared.get_attribute("#detail-doc", "href") == row["doc_url"]
    assert "#" in shared.url and "row=" in shared.url


def test_the_chinese_report_speaks_chinese(browser, shops):
    reports, _ = shops
    page, _ = open_board(browser, reports["zh-CN"], locale="zh-CN")
    assert "错误码" in page.inner_text("#board-filters") and "行中有" in page.inner_text("#board-count")
    assert "访问令牌" in page.inner_text("#board-chart") or "字段值无效" in page.inner_text("#board-chart")


@pytest.fixture(scope="module")
def million(tmp_path_factory, kb):
    folder = tmp_path_factory.mktemp("million")
    source = generate.write_csv(folder / "errors.csv", MILLION, seed=7)
    run = diagnose_file(source, None, kb=kb, workers=2, board=True)
    return write_html(run, folder / "report.html"), run.summary.finish(), run.board


def test_a_million_row_report_filters_exactly_and_exports_its_kept_rows(browser, million):
    report, summary, board = million
    page, errors = open_board(browser, report)
    assert shown(page) == MILLION and page.is_visible("#board-sampled")
    retried, _ = summary.retried()
    page.select_option("#f-retries", "3+")
    assert shown(page) == retried
    page.click("#f-clear")
    for name, dim in (("shop", "shop"), ("code", "code")):
        key, count = summary.breakdown(dim, 1)[0].key, summary.breakdown(dim, 1)[0].count
        page.select_option(f"#f-{name}", key)
        assert shown(page) == count, name
        page.click("#f-clear")
    # regions differ from the summary's where a shop's region was inferred: count the board's own
    region = board.regions.index("DE")
    page.select_option("#f-region", "DE")
    assert shown(page) == sum(1 for r in board.region if r == region) > 0
    page.click("#f-clear")
    for name in ("status", "platform", "endpoint", "owner"):  # each option says its rows
        page.select_option(f"#f-{name}", index=1)
        label = page.locator(f"#f-{name} option").nth(1).inner_text()
        assert shown(page) == int(label.rsplit("(", 1)[1].rstrip(")").replace(",", "")) > 0, name
        page.click("#f-clear")
    top = summary.by_category()[0]
    page.select_option("#f-category", top.key)
    assert shown(page) == top.count
    page.fill("#f-q", "token")
    assert 0 < shown(page) <= top.count
    got = exported_csv(page)
    assert got and all(r["category"] == top.key for r in got)
    page.click("#f-clear")
    page.fill("#f-from", "2025-06-10T00:00")
    page.fill("#f-to", "2025-06-10T23:59")
    day = {x.key: x.count for x in summary.breakdown("day", None)}
    assert shown(page) == day["2025-06-10"]
    got = exported_csv(page)
    assert got and all(r["first_occurred_at"].startswith("2025-06-10") for r in got)
    page.click("#f-clear")  # the most frequent shape has rows kept whole: open one
    page.click("tr.shape >> nth=0")
    page.click("tr.kept-rows a.open-row >> nth=0")
    assert page.locator("#detail-diagnosis h4").first.inner_text()
    assert errors == []


def test_the_console_board_over_an_uploaded_export(browser, shops, local_kb, tmp_path):
    from tests.conftest import contract_checked
    from tests.live_server import serving

    _, rows = shops
    source = generate.write_shops_csv(tmp_path / "export.csv", 300, seed=4)
    app = contract_checked(create_app({"TESTING": True}, kb=local_kb))
    with serving(app) as base:
        context = browser.new_context(locale="en-US", accept_downloads=True)
        context.set_default_timeout(STEP_MS)
        context.add_init_script(
            "window.__csp = []; document.addEventListener('securitypolicyviolation',"
            " e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));")
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(base + "/console/diagnose")
        page.click("a[data-nav=board]")
        page.wait_for_selector("#board-run")
        page.set_input_files("#board-file", str(source))
        page.click("#board-run")
        page.wait_for_selector("#board[data-ready=true]")
        assert shown(page) == 300
        page.select_option("#f-shop", "Harbor Tools DE")
        page.select_option("#f-retries", "3+")
        expected = [r for r in rows if r["shop_name"] == "Harbor Tools DE" and int(r["retries"]) >= 3]
        assert shown(page) == len(expected) > 0
        got = exported_csv(page)
        assert [r["order_ref"] for r in got] == [r["order_ref"] for r in expected]
        page.click("tr.shape >> nth=0")
        page.click("tr.kept-rows a.open-row >> nth=0")
        assert page.locator("#detail-steps li").count() >= 1
        assert page.evaluate("window.__csp") == [] and errors == []
    assert app.extensions["contract_violations"] == []
