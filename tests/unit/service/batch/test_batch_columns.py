"""Column recognition: the names error boards really export, Chinese headers, --columns."""

import pytest

from service.batch.columns import ColumnsError, parse_overrides
from service.batch.kb import resolve
from service.batch.payloads import CsvLayout
from service.batch.run import diagnose_file
from tests.conftest import KB_DIR
from tests.unit.service.batch.test_batch import EXPIRED, TIKTOK, run_cli

SP_API = "https://sellingpartnerapi-eu.amazon.com/orders/v0/orders?MarketplaceIds=A1F83G8C2ARO7P"


@pytest.fixture(scope="module")
def kb():
    return resolve(None, KB_DIR)


def test_shop_name_and_region_code_are_the_shop_and_the_region(tmp_path, kb):
    source = tmp_path / "board.csv"
    source.write_text("shop_name,region_code,api_endpoint,status,code,msg,occurred_at,retries\n"
                      f"Acme US,us,{TIKTOK.format(t=1)},401,105002,{EXPIRED},2025-06-01 10:00:00,4\n"
                      f"Acme US,us,{TIKTOK.format(t=2)},401,105002,{EXPIRED},2025-06-01 11:00:00,1\n",
                      encoding="utf-8")
    run = diagnose_file(source, None, kb=kb, workers=1)
    assert run.diagnosed == 2
    summary = run.summary.finish()
    assert {key for key, _ in summary.dims["shop"]} == {"Acme US"}
    assert {key for key, _ in summary.dims["region"]} == {"US"}
    assert {key for key, _ in summary.dims["retries"]} == {"3+", "1"}
    assert {key for key, _ in summary.dims["code"]} == {"105002"}


def test_chinese_headers_are_recognised(tmp_path, kb):
    source = tmp_path / "导出.csv"
    source.write_text("店铺,站点,接口地址,状态码,错误码,错误信息,发生时间,重试次数\n"
                      f"旗舰店,GB,{TIKTOK.format(t=1)},401,105002,{EXPIRED},2025/6/1 10:00,3\n",
                      encoding="utf-8-sig")
    run = diagnose_file(source, None, kb=kb, workers=1)
    summary = run.summary.finish()
    assert run.diagnosed == 1 and summary.by_category()[0].key == "auth.token_expired"
    assert [key for key, _ in summary.dims["shop"]] == ["旗舰店"]
    assert [key for key, _ in summary.dims["day"]] == ["2025-06-01"]
    assert [key for key, _ in summary.dims["retries"]] == ["3+"]


def test_a_marketplace_id_column_gives_its_country_and_other_values_are_left_to_inference():
    layout = CsvLayout.from_header(["marketplace_id", "url", "status"])
    assert layout.payload(["A1F83G8C2ARO7P", SP_API, "403"])["region"] == "GB"  # rules/engine/infer.py's table
    assert "region" not in layout.payload(["amazon.co.uk", SP_API, "403"])
    assert layout.payload(["uk", SP_API, "403"])["region"] == "UK"  # the schema makes it GB


def test_the_canonical_name_wins_over_an_alias_and_each_column_is_used_once():
    layout = CsvLayout.from_header(["shop", "shop_id", "api_endpoint", "http_status", "code"])
    assert layout.index["shop_id"] == 1
    assert layout.index["error_code"] == 4
    layout = CsvLayout.from_header(["status", "http_status", "endpoint"])
    assert layout.index == {"http_status": 1, "api_endpoint": 2}


def test_columns_override_names_what_no_alias_does(tmp_path, kb):
    source = tmp_path / "erp.csv"
    source.write_text("卖家账号,接口地址,状态码\n"
                      f"seller-7,{TIKTOK.format(t=1)},401\n", encoding="utf-8")
    result = run_cli(source, "-o", tmp_path / "out.csv", "--columns", "shop_id=卖家账号", "--quiet")
    assert result.exit_code == 0, result.output
    run = diagnose_file(source, None, kb=kb, workers=1, columns=parse_overrides("shop_id=卖家账号"))
    assert [key for key, _ in run.summary.finish().dims["shop"]] == ["seller-7"]


@pytest.mark.parametrize("text", ["shop_id", "shop=店铺", "shop_id="])
def test_a_bad_columns_override_is_a_usage_error_naming_the_option(tmp_path, text):
    with pytest.raises(ColumnsError):
        parse_overrides(text)
    source = tmp_path / "erp.csv"
    source.write_text(f"api_endpoint,http_status\n{TIKTOK.format(t=1)},401\n", encoding="utf-8")
    result = run_cli(source, "--columns", text)
    assert result.exit_code == 2 and "--columns" in result.output


def test_a_missing_column_says_how_to_name_it(tmp_path):
    source = tmp_path / "erp.csv"
    source.write_text("where,status\nx,401\n", encoding="utf-8")
    result = run_cli(source)
    assert result.exit_code == 1
    assert "api_endpoint" in result.output and "--columns api_endpoint=NAME" in result.output


def test_every_column_a_payload_reads_has_its_names():
    """payloads.COLUMNS says where a column goes, columns.ALIASES how it is found: one list each, in step."""
    from service.batch.columns import ALIASES
    from service.batch.payloads import COLUMNS

    assert set(ALIASES) == set(COLUMNS)
