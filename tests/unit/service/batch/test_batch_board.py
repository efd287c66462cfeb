"""The ops errors board's data (service/batch/board.py): exact per-row facets, one entry
per error shape, rows kept whole and masked, a shop's region inferred from its rows."""

import base64
import csv
import json
import re
from array import array
from collections import Counter

import pytest

from service.batch import generate
from service.batch.board import ALL_LINES, SAMPLES, embed, shape_label
from service.batch.kb import resolve
from service.batch.report import board_data, render_html
from service.batch.run import diagnose_file
from tests.conftest import KB_DIR
from tests.unit.service.batch.test_batch import EXPIRED, TIKTOK, personal_data_log

SP_API = "https://sellingpartnerapi-eu.amazon.com/orders/v0/orders?MarketplaceIds=A1F83G8C2ARO7P"


@pytest.fixture(scope="module")
def kb():
    return resolve(None, KB_DIR)


def unpack(data, name, typecode):
    return array(typecode, base64.b64decode(data["packed"][name])).tolist()


def test_every_row_is_counted_by_shape_shop_minute_and_retries(tmp_path, kb):
    source = generate.write_csv(tmp_path / "errors.csv", 3000, seed=11)
    run = diagnose_file(source, None, kb=kb, workers=2, chunk_size=500, board=True)
    data = board_data(run.board, "en")
    with open(source, encoding="utf-8", newline="") as f:
        given = list(csv.DictReader(f))
    assert data["rows"] == len(given) == 3000
    shops = [data["shops"][i] for i in unpack(data, "shop", "H")]
    assert shops == [row["shop_id"] for row in given], "in input order, whatever the workers"
    retries = unpack(data, "retries", "B")
    assert retries == [int(row["retry_count"]) for row in given]
    minutes = unpack(data, "minute", "I")
    assert minutes[0] * 60 == int(__import__("datetime").datetime.fromisoformat(
        given[0]["first_occurred_at"] + "+00:00").timestamp()) // 60 * 60
    categories = Counter(data["shapes"][i]["category"] for i in unpack(data, "shape", "H"))
    assert categories == run.summary.categories, "the same counts as the summary's"
    assert len(data["shapes"]) < 400, "error shapes, not rows: ids and numbers in paths are folded"


def test_the_first_lines_are_kept_whole_then_a_few_rows_of_each_shape(tmp_path, kb):
    source = generate.write_csv(tmp_path / "errors.csv", ALL_LINES + 4000, seed=2)
    run = diagnose_file(source, None, kb=kb, workers=1, board=True)
    data = run.board.data("en")
    kept = data["kept_rows"]
    first = [r["row"] for r in kept if r["line"] <= ALL_LINES]
    assert first == list(range(len(first))) and len(first) > ALL_LINES * 0.9, "every row of the first lines"
    shapes = unpack(data, "shape", "H")
    later = Counter(shapes[r["row"]] for r in kept if r["line"] > ALL_LINES)
    early = Counter(shapes[r["row"]] for r in kept if r["line"] <= ALL_LINES)
    assert later, "shapes first seen later still have rows kept"
    assert all(n <= max(0, SAMPLES - early[s]) for s, n in later.items()), "up to SAMPLES per shape in all"
    assert not data["all_kept"] and data["kept"] == len(kept) < data["rows"]
    with open(source, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    for r in kept[:50]:
        assert r["cells"][0] == rows[r["line"] - 1][0], "a kept row is the input's row (masked)"


def test_a_shops_region_is_inferred_from_its_rows_whose_endpoint_reveals_it(tmp_path, kb):
    source = tmp_path / "board.csv"
    source.write_text("shop_name,api_endpoint,http_status,error_code,error_message\n"
                      f"acme,{SP_API},403,Unauthorized,Access to requested resource is denied.\n"
                      f"acme,{TIKTOK.format(t=1)},401,105002,{EXPIRED}\n"
                      f"other,{TIKTOK.format(t=2)},401,105002,{EXPIRED}\n", encoding="utf-8")
    data = diagnose_file(source, None, kb=kb, workers=1, board=True).board.data("en")
    regions = [data["regions"][i] for i in unpack(data, "region", "B")]
    assert regions == ["GB", "GB", "(none)"]


def test_kept_rows_and_shape_texts_are_masked(tmp_path, kb):
    source = personal_data_log(tmp_path)
    run = diagnose_file(source, None, kb=kb, workers=1, board=True)
    shown = embed(board_data(run.board, "en"))
    for secret in ("jane.doe", "bob@example.com", "Zebulon", "Probeworth", "Baker Street"):
        assert secret not in shown
    assert "[email]" in shown


def test_the_report_inlines_the_board_and_loads_nothing(tmp_path, kb):
    source = generate.write_csv(tmp_path / "errors.csv", 200, seed=1)
    html = render_html(diagnose_file(source, None, kb=kb, workers=1, board=True), "zh-CN")
    assert '<script type="application/json" id="board-data">' in html and "window.OpsBoard" in html
    assert not re.search(r"<script[^>]+src=", html) and "错误看板" in html
    data = json.loads(re.search(r'id="board-data">(.*?)</script>', html, re.S).group(1))
    assert data["lang"] == "zh-CN" and data["labels"]["categories"]["auth.token_expired"] == "访问令牌过期"
    assert data["all_kept"] and data["kept"] == data["rows"] == 200


def test_no_board_unless_asked(tmp_path, kb):
    source = generate.write_csv(tmp_path / "errors.csv", 50, seed=1)
    run = diagnose_file(source, None, kb=kb, workers=1)
    assert run.board is None and 'id="board-data"' not in render_html(run)


@pytest.mark.parametrize(("label", "folded"), [
    ("erp.example.com/api/v1/sync/304306", "erp.example.com/api/v1/sync/{id}"),
    ("open-api.tiktokglobalshop.com/order/202309/orders", "open-api.tiktokglobalshop.com/order/202309/orders"),
    ("api.example.com/v1/orders", "api.example.com/v1/orders"),
])
def test_shapes_fold_number_segments_but_not_api_versions(label, folded):
    assert shape_label(label) == folded
