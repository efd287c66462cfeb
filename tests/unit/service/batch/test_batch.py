"""`opsdiag batch`: every input format and encoding, bad lines, the enriched output, the summary."""

import base64
import csv
import io
import json
import re
import shutil
from collections import Counter
from html import unescape

import pytest
import yaml
from click.testing import CliRunner

from rules.kb.store import Store
from rules.runtime import KnowledgeBase
from rules.taxonomy import categories
from service.batch import generate
from service.batch.kb import resolve
from service.batch.payloads import CsvLayout
from service.batch.readers import InputFile, detect_encoding
from service.batch.report import LABELS_PATH, render_html, render_text
from service.batch.run import diagnose_file
from service.cli import main
from service.schemas import DiagnoseRequestSchema
from tests.conftest import KB_DIR

HEADER = "error_id,api_endpoint,http_status,error_code,error_message,first_occurred_at,retry_count,shop_id,note"
TIKTOK = "https://open-api.tiktokglobalshop.com/order/202309/orders?app_key=x&timestamp={t}&sign={t}ab"
EXPIRED = "Expired credentials. The 'x-tts-access-token' header has expired."
BOM = "\ufeff"


@pytest.fixture(scope="session")
def kb():
    return resolve(None, KB_DIR)


def run_cli(*args):
    return CliRunner().invoke(main, ["batch", *map(str, args), "--dir", str(KB_DIR)], catch_exceptions=False)


def read_csv(path):
    text = path.read_text(encoding="utf-8")
    assert text.startswith(BOM), "Excel needs the BOM to read UTF-8"
    return list(csv.reader(io.StringIO(text[1:])))


def expected_categories(local_kb, rows, header):
    """The first-ranked category of each row, diagnosed one by one without the batch code's memo."""
    layout, schema = CsvLayout.from_header(header), DiagnoseRequestSchema()
    return [local_kb.diagnose(schema.load(layout.payload(row)))["diagnoses"][0]["category"] for row in rows]


# -- CSV ---------------------------------------------------------------------------------


def test_generated_log_categories_match_row_by_row_and_shares_add_up(tmp_path, kb, local_kb):
    source = generate.write_csv(tmp_path / "errors.csv", 3000, seed=3)
    out = tmp_path / "out.csv"
    run = diagnose_file(source, out, kb=kb, workers=1, chunk_size=700)
    assert (run.diagnosed, run.rejected) == (3000, 0)
    with open(source, encoding="utf-8", newline="") as f:
        given = list(csv.reader(f))
    written = read_csv(out)
    assert written[0] == [*given[0], "category", "owner", "rule_id", "title", "first_step", "doc_url", "language",
                          "request_problem"]
    assert [row[: len(given[0])] for row in written[1:]] == given[1:], "every input row kept as given"
    expected = expected_categories(local_kb, given[1:], given[0])
    assert [row[len(given[0])] for row in written[1:]] == expected
    summary = run.summary
    assert dict(summary.categories) == dict(Counter(expected))
    assert sum(x.count for x in summary.by_category()) == 3000
    assert sum(x.share for x in summary.by_category()) == pytest.approx(1.0)
    assert sum(x.share for x in summary.by_owner()) == pytest.approx(1.0)
    assert summary.by_category()[0].key == "auth.token_expired"  # the generator's heaviest cause
    assert len(summary.categories) > 10
    assert set(summary.categories) <= set(categories())
    assert summary.top_unmatched()[0].key.startswith(("ERP mapping", "Order", "Unrecognised")), "masked"
    assert "<NUM>" in summary.top_unmatched()[0].key
    retried, causes = summary.retried()
    assert retried == sum(1 for row in given[1:] if int(row[6]) >= 3)
    assert sum(x.count for x in causes) == retried
    assert sum(x.count for x in summary.breakdown("shop", top=None)) == 3000
    assert all(re.match(r"^2025-06-\d\d$", x.key) for x in summary.breakdown("day", top=None))
    assert run.memo_hits > run.memo_misses  # the memo does its work on a realistic log


def test_extra_columns_and_header_case_are_kept(tmp_path, kb):
    source = tmp_path / "board.csv"
    source.write_text(
        "Error ID,API_Endpoint,HTTP Status,Error_Code,ERROR_MESSAGE,First Occurred At,Retry Count,ticket,category\n"
        f"E1,{TIKTOK.format(t=1)},401,105002,{EXPIRED},2025-06-01 10:00:00,0,T-9,mine\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    run = diagnose_file(source, out, kb=kb, workers=1)
    assert run.diagnosed == 1
    header, row = read_csv(out)
    assert header[:9] == ["Error ID", "API_Endpoint", "HTTP Status", "Error_Code", "ERROR_MESSAGE",
                          "First Occurred At", "Retry Count", "ticket", "category"]
    assert header[9:11] == ["opsdiag_category", "owner"], "an input column of the same name is not overwritten"
    assert row[7:11] == ["T-9", "mine", "auth.token_expired", "integrator"]


def test_bad_lines_are_reported_with_their_line_numbers_and_the_run_goes_on(tmp_path):
    source = tmp_path / "errors.csv"
    source.write_text("\n".join([
        HEADER,
        f"E1,{TIKTOK.format(t=1)},401,105002,{EXPIRED},2025-06-01 10:00:00,0,s1,",
        "E2,too,few",
        f'E3,{TIKTOK.format(t=3)},401,105002,"a message on\ntwo lines",2025-06-01,0,s1,',
        f"E4,{TIKTOK.format(t=4)},oops,105002,{EXPIRED},2025-06-01,abc,s1,",
        f"E5,{TIKTOK.format(t=5)},401,105002,{EXPIRED},yesterday,0,s1,",
        "",
        f"E6,{TIKTOK.format(t=6)},401,105002,{EXPIRED},2025-06-02 10:00:00,5,s2,",
    ]) + "\n", encoding="utf-8")
    rejects = tmp_path / "rejects.csv"
    result = run_cli(source, "-o", tmp_path / "out.csv", "--rejects", rejects, "--quiet")
    assert result.exit_code == 3, result.output
    assert "errors.csv:3: 3 columns where the header has 9" in result.output
    assert "errors.csv:6: http_status: Not a valid integer.; retry_count: Not a valid integer." in result.output
    assert "errors.csv:7: first_occurred_at: must be an ISO 8601 date-time or epoch seconds" in result.output
    with open(rejects, encoding="utf-8-sig", newline="") as f:
        listed = list(csv.reader(f))
    assert [row[0] for row in listed[1:]] == ["3", "6", "7"]
    assert listed[2][1] == "http_status retry_count"
    written = read_csv(tmp_path / "out.csv")
    assert [row[0] for row in written[1:]] == ["E1", "E3", "E6"]
    assert written[2][4] == "a message on\ntwo lines"


def test_an_unterminated_quote_is_a_bad_line_not_a_crash(tmp_path, kb):
    source = tmp_path / "errors.csv"
    source.write_text(f'{HEADER}\nE1,{TIKTOK.format(t=1)},401,105002,"never closed,2025-06-01,0,s1,\n',
                      encoding="utf-8")
    run = diagnose_file(source, tmp_path / "out.csv", kb=kb, workers=1)
    assert (run.diagnosed, run.rejected) == (0, 1)
    assert run.rejects[0].line == 2 and "CSV" in run.rejects[0].reason


def test_a_file_without_the_needed_columns_is_refused(tmp_path):
    source = tmp_path / "errors.csv"
    source.write_text("id,message\n1,x\n", encoding="utf-8")
    result = run_cli(source)
    assert result.exit_code == 1
    assert "api_endpoint" in result.output and "http_status" in result.output


# -- encodings ---------------------------------------------------------------------------

CHINESE_ROWS = [
    ["E1", TIKTOK.format(t=1), "401", "105002", "访问令牌已过期，请刷新", "2025-06-01 08:00:00", "0", "店铺-1", "备注"],
    ["E2", "https://erp.example.cn/api/订单/同步", "500", "", "服务器内部错误：库存同步失败", "2025-06-01 09:00:00",
     "3", "店铺-2", ""],
    ["E3", TIKTOK.format(t=3), "401", "105002", EXPIRED, "2025-06-02 08:00:00", "1", "店铺-1", "英文"],
]


def write_rows(path, encoding, rows=CHINESE_ROWS, header=HEADER):
    with open(path, "w", encoding=encoding, newline="") as f:
        writer = csv.writer(f, lineterminator="\r\n")
        writer.writerow(header.split(","))
        writer.writerows(rows)
    return path


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "gb18030", "gbk"])
def test_chinese_text_round_trips_from_every_encoding(tmp_path, kb, encoding):
    source = write_rows(tmp_path / "errors.csv", encoding)
    out = tmp_path / "out.csv"
    run = diagnose_file(source, out, kb=kb, workers=1)
    assert run.encoding.replace("_", "-") in {
        "utf-8": ["utf-8"], "utf-8-sig": ["utf-8-sig"], "utf-16": ["utf-16"], "utf-16-le": ["utf-16-le"],
        "gb18030": ["gb18030"], "gbk": ["gb18030"]}[encoding]
    assert (run.diagnosed, run.rejected) == (3, 0)
    written = read_csv(out)
    assert [row[:9] for row in written[1:]] == CHINESE_ROWS
    assert [row[9] for row in written[1:]] == ["auth.token_expired", "platform.server_error", "auth.token_expired"]
    assert {x.key for x in run.summary.breakdown("shop")} == {"店铺-1", "店铺-2"}


def test_an_encoding_can_be_given(tmp_path, kb):
    source = write_rows(tmp_path / "errors.csv", "gb18030")
    run = diagnose_file(source, tmp_path / "out.csv", kb=kb, workers=1, encoding="gbk")
    assert run.diagnosed == 3
    assert read_csv(tmp_path / "out.csv")[1][4] == "访问令牌已过期，请刷新"


def test_undecodable_bytes_reject_their_line_only(tmp_path, kb):
    source = tmp_path / "errors.csv"
    good = f"E1,{TIKTOK.format(t=1)},401,105002,{EXPIRED},2025-06-01,0,s1,".encode()
    bad = f"E2,{TIKTOK.format(t=2)},401,105002,caf".encode() + b"\xe9" + b",2025-06-01,0,s1,"
    source.write_bytes(HEADER.encode() + b"\n" + good + b"\n" + bad + b"\n" + good.replace(b"E1", b"E3") + b"\n")
    run = diagnose_file(source, tmp_path / "out.csv", kb=kb, workers=1, encoding="utf-8")
    assert run.diagnosed == 2
    assert [(r.line, r.reason) for r in run.rejects] == [(3, "bytes that are not valid utf-8")]


def test_detection_by_bom_nuls_and_content():
    text = "error_id,error_message\r\nE1,服务器内部错误，库存同步失败，请稍后重试\r\n" * 3
    assert detect_encoding(text.encode("utf-8-sig")) == "utf-8-sig"
    assert detect_encoding(text.encode("utf-16")) == "utf-16"
    assert detect_encoding(text.encode("utf-16-be")) == "utf-16-be"
    assert detect_encoding(text.encode("utf-8")) == "utf-8"
    assert detect_encoding(text.encode("gb18030")) == "gb18030"


# -- JSONL and HAR -----------------------------------------------------------------------


def test_jsonl_payloads_with_broken_lines(tmp_path, kb):
    expired = {"id": "J1", "status": 401, "endpoint": TIKTOK.format(t=1), "platform": "tiktok_shop",
               "body": {"code": 105002, "message": EXPIRED}, "context": {"shop_id": "s1", "retry_count": 4}}
    source = tmp_path / "errors.jsonl"
    source.write_text("\n".join([
        json.dumps(expired),
        '{"id": "J2", "status": 401,',
        "[1, 2]",
        json.dumps({"id": "J4", "status": "x", "endpoint": "/orders"}),
        "",
        json.dumps({"id": "J6", "status": 503, "endpoint": "https://api.lazada.sg/rest/orders/get"}),
    ]) + "\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    run = diagnose_file(source, out, kb=kb, workers=1)
    assert run.kind == "jsonl" and run.out_format == "jsonl"
    assert [(r.line, r.fields) for r in run.rejects] == [(2, ()), (3, ()), (4, ("status",))]
    assert run.rejects[0].reason.startswith("invalid JSON")
    assert run.rejects[1].reason == "not a JSON object"
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in records] == ["J1", "J6"]
    assert records[0]["body"] == expired["body"] and records[0]["context"] == expired["context"], "kept as given"
    assert records[0]["category"] == "auth.token_expired" and records[0]["language"] == "en"
    assert records[1]["owner"] == "platform"
    assert run.summary.retried()[0] == 1


def har_entry(url, status, text=None, method="GET", encoding=None, headers=(), started="2025-06-01T10:00:00.000Z"):
    content = {"size": len(text or ""), "mimeType": "application/json"}
    if text is not None:
        content["text"] = base64.b64encode(text.encode()).decode() if encoding == "base64" else text
        if encoding:
            content["encoding"] = encoding
    return {"startedDateTime": started, "time": 12,
            "request": {"method": method, "url": url, "httpVersion": "HTTP/2",
                        "headers": [{"name": ":authority", "value": "x"}, {"name": "Cookie", "value": "sid=SECRET"},
                                    {"name": "Content-Type", "value": "application/json"}],
                        "queryString": [], "cookies": [], "headersSize": -1, "bodySize": 0},
            "response": {"status": status, "statusText": "", "httpVersion": "HTTP/2",
                         "headers": [{"name": "set-cookie", "value": "sid=SECRET"}, *headers],
                         "cookies": [], "content": content, "redirectURL": "", "headersSize": -1, "bodySize": -1},
            "cache": {}, "timings": {"send": 0, "wait": 10, "receive": 2}}


def test_har_entries_that_failed_become_payloads(tmp_path, kb):
    shop = "https://open-api.tiktokglobalshop.com/api/shop/get_authorized_shop?app_key=29a39d&timestamp=1&sign=abc"
    har = {"log": {"version": "1.2", "creator": {"name": "test", "version": "1"}, "entries": [
        har_entry(shop, 200, json.dumps({"code": 0, "message": "Success", "data": {}})),
        har_entry(shop, 200, json.dumps({"code": 105002, "message": "access token is expired, please refresh it"})),
        har_entry("https://api.lazada.sg/rest/orders/get", 503, "<html><title>503 Service Unavailable</title></html>",
                  encoding="base64"),
        har_entry("https://example.com/static/app.js", 304),
        har_entry("https://api.lazada.sg/rest/orders/get", 429, json.dumps({"code": "ApiCallLimit"}),
                  headers=[{"name": "Retry-After", "value": "3"}]),
    ]}}
    source = tmp_path / "session.har"
    source.write_text(json.dumps(har), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    run = diagnose_file(source, out, kb=kb, workers=1)
    assert (run.kind, run.diagnosed, run.rejected) == ("har", 3, 0)
    text = out.read_text(encoding="utf-8")
    assert "SECRET" not in text, "cookies are never copied to the output"
    records = [json.loads(line) for line in text.splitlines()]
    assert [r["line"] for r in records] == [2, 3, 5], "the HAR entry numbers"
    assert records[0]["category"] == "auth.token_expired" and records[0]["status"] == 200
    assert records[1]["owner"] == "platform"
    assert records[2]["category"].startswith("rate_limit")
    assert {x.key for x in run.summary.breakdown("day")} == {"2025-06-01"}


# -- output and summary ------------------------------------------------------------------


def test_cli_writes_csv_with_bom_and_html_summary_without_external_urls(tmp_path):
    source = generate.write_csv(tmp_path / "errors.csv", 400, seed=5)
    report = tmp_path / "report.html"
    result = run_cli(source, "--summary", report, "--workers", "1")
    assert result.exit_code == 0, result.output
    assert "Causes" in result.output and "Who must act" in result.output and "%" in result.output
    assert "\r" not in result.output, "no progress bar when not on a terminal"
    written = read_csv(tmp_path / "errors.diagnosed.csv")
    assert len(written) == 401
    html = report.read_text(encoding="utf-8")
    assert "<svg" in html and "<table" in html and not re.search(r"<script[^>]+src=", html, re.I)
    doc_urls = {unescape(u) for u in re.findall(r'<a class="doc" href="([^"]+)"', html)}
    assert doc_urls, "the top rules link their documentation"
    for attr, url in re.findall(r'\b(src|href)\s*=\s*"([^"]*)"', html, re.I):
        assert not url.startswith(("http:", "https:", "//")) or (attr == "href" and unescape(url) in doc_urls), url
    assert not re.search(r"url\(|@import", html), "no resource loaded by the style"
    known = {row[-3] for row in written[1:] if row[-3]}
    assert doc_urls <= known


def test_chinese_summary(tmp_path, kb):
    source = write_rows(tmp_path / "errors.csv", "gb18030")
    report = tmp_path / "report.html"
    result = run_cli(source, "--lang", "zh-CN", "--summary", report, "--format", "jsonl", "-o", tmp_path / "o.jsonl")
    assert result.exit_code == 0, result.output
    assert "错误原因" in result.output and "访问令牌过期" in result.output and "责任方" in result.output
    html = report.read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in html and "访问令牌过期" in html and "按店铺" in html
    records = [json.loads(line) for line in (tmp_path / "o.jsonl").read_text(encoding="utf-8").splitlines()]
    assert records[0]["language"] == "zh-CN" and "令牌" in records[0]["title"]
    run = diagnose_file(source, None, kb=kb, workers=1, lang="zh-CN")
    text = render_text(run, "zh-CN")
    assert "按重试次数" in text and "重试 3 次及以上: 1 行" in text
    assert "Access token expired" in render_text(run, "en")
    assert render_html(run, "zh-CN").count("<svg") == 1


def test_labels_name_every_category_and_owner():
    labels = yaml.safe_load(LABELS_PATH.read_text(encoding="utf-8"))
    assert set(labels["categories"]) == set(categories())
    assert set(labels["owners"]) >= set(categories().values())
    for entry in [*labels["categories"].values(), *labels["owners"].values(), *labels["words"].values()]:
        assert set(entry) == {"en", "zh-CN"}


# -- knowledge base ----------------------------------------------------------------------


def test_the_kb_is_chosen_as_the_service_chooses_it(tmp_path):
    kb_dir = shutil.copytree(KB_DIR, tmp_path / "kb_content")
    local = resolve(None, kb_dir)
    assert (local.version, local.source) == (KnowledgeBase(None, kb_dir).status().kb_version, "kb_content")
    url = f"sqlite:///{tmp_path / 'kb.db'}"
    assert resolve(url, kb_dir).version == local.version, "an empty or missing store falls back to kb_content"
    assert not (tmp_path / "kb.db").exists(), "probe item 11: reading a missing store creates no file"
    store = Store(url)
    store.create_schema()
    version, _ = store.publish(list(local.documents), author="test")
    stored = resolve(url, kb_dir)
    status = KnowledgeBase(store, kb_dir).status()
    assert (stored.version, stored.source) == (status.kb_version, status.source) == (str(version), "store")
    assert stored.digest == local.digest


def test_reader_streams_in_chunks(tmp_path):
    source = generate.write_csv(tmp_path / "errors.csv", 1000, seed=1)
    with InputFile(source) as f:
        sizes = [len(chunk) for chunk in f.chunks(300)]
        assert f.layout.width == len(generate.HEADER)
    assert sizes == [300, 300, 300, 100]


def test_jsonl_to_stdout_keeps_the_summary_on_stderr(tmp_path):
    source = write_rows(tmp_path / "errors.csv", "utf-8")
    result = run_cli(source, "-o", "-", "--format", "jsonl", "--progress")
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["error_id"] for r in records] == ["E1", "E2", "E3"]
    assert "Causes" in result.stderr and "Causes" not in result.stdout


def personal_data_log(tmp_path):
    """A JSONL log whose rows carry e-mails in a path and a shop name, and a name and street in a message."""
    rows = [
        {"status": 404, "endpoint": "https://erp.example.com/customers/jane.doe@example.com/orders",
         "context": {"shop_id": "shop-of-bob@example.com"}},
        {"status": 200, "endpoint": "https://erp.example.com/api/x",
         "body": {"code": 987001, "message": "Order for Zebulon Probeworth: ship to 221B Baker Street failed"}},
    ]
    source = tmp_path / "errors.jsonl"
    source.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return source


def test_the_summary_shows_no_personal_data(tmp_path):
    """Probe item 5: e-mails in paths and shop names, and street addresses in unmatched
    messages, were shown in clear by the terminal summary and the HTML report."""
    source = personal_data_log(tmp_path)
    html = tmp_path / "summary.html"
    result = run_cli(source, "-o", tmp_path / "out.jsonl", "--summary", html)
    assert result.exit_code == 0, result.output
    for shown in (result.output, html.read_text(encoding="utf-8")):
        for secret in ("jane.doe", "bob@example.com", "Zebulon", "Probeworth", "Baker Street"):
            assert secret not in shown
    assert "[email]" in result.output and "[address]" in result.output
