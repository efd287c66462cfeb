"""/console/board: the page, and POST /console/board/diagnose over an uploaded log (answers
checked against openapi.yaml by the `app` fixture; nothing kept on the server)."""

import io
import tempfile
from pathlib import Path

import pytest

from service.batch import generate
from service.web.app import create_app
from tests.conftest import contract_checked


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    return generate.write_shops_csv(tmp_path_factory.mktemp("board") / "export.csv", 120, seed=4).read_bytes()


def upload(client, data: bytes, name="export.csv", lang="en", **form):
    return client.post(f"/console/board/diagnose?lang={lang}", data={"log": (io.BytesIO(data), name), **form},
                       content_type="multipart/form-data")


def test_the_board_page_links_its_own_scripts(client):
    page = client.get("/console/board?lang=zh-CN")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "错误看板" in html and "/console/board/assets/board.js" in html
    assert client.get("/console/board/assets/board.js").status_code == 200
    assert client.get("/console/board/assets/board.css").headers["Content-Type"].startswith("text/css")
    assert client.get("/console/board/assets/console.js").status_code == 404
    assert 'data-nav="board"' in client.get("/console/diagnose").get_data(as_text=True)


def test_an_uploaded_export_becomes_the_board_and_nothing_is_kept(client, export):
    before = set(Path(tempfile.gettempdir()).glob("opsdiag-board-*"))
    answer = upload(client, export, lang="zh-CN")
    assert answer.status_code == 200, answer.get_data(as_text=True)
    data = answer.get_json()
    assert data["rows"] == data["diagnosed"] == 120 and data["rejected"] == 0 and data["all_kept"]
    assert data["lang"] == "zh-CN" and data["labels"]["words"]["filter_shop"] == "店铺"
    assert "Acme Home US" in data["shops"] and data["columns"][0] == "shop_name"
    assert set(Path(tempfile.gettempdir()).glob("opsdiag-board-*")) == before, "the upload is not kept"
    assert answer.headers["Cache-Control"] == "no-store"


def test_columns_name_what_the_header_does_not(client):
    data = "卖家账号,接口地址,状态码\nseller-7,https://open-api.tiktokglobalshop.com/order/202309/orders,401\n"
    answer = upload(client, data.encode(), columns="shop_id=卖家账号")
    assert answer.status_code == 200 and answer.get_json()["shops"] == ["seller-7"]


@pytest.mark.parametrize(("form", "field"), [
    ({}, "log"),
    ({"log": (io.BytesIO(b""), "")}, "log"),
    ({"log": (io.BytesIO(b"where,what\nx,y\n"), "x.csv")}, "log"),
    ({"log": (io.BytesIO(b"api_endpoint,http_status\nhttps://x.example/a,500\n"), "x.csv"), "columns": "shop"},
     "columns"),
])
def test_a_bad_upload_is_a_422_naming_the_field(client, form, field):
    answer = client.post("/console/board/diagnose", data=form, content_type="multipart/form-data")
    assert answer.status_code == 422
    assert answer.content_type == "application/problem+json"
    assert [p["name"] for p in answer.get_json()["invalid-params"]] == [field]


def test_an_upload_past_the_batch_limit_is_a_413(local_kb):
    app = contract_checked(create_app({"TESTING": True, "MAX_BATCH_CONTENT_LENGTH": 2048}, kb=local_kb))
    answer = upload(app.test_client(), b"api_endpoint,http_status\n" + b"https://x.example/a,500\n" * 200)
    assert answer.status_code == 413 and answer.content_type == "application/problem+json"


def test_with_diagnose_auth_the_upload_needs_a_key(local_kb, export):
    app = contract_checked(create_app({"TESTING": True, "DIAGNOSE_AUTH": True}, kb=local_kb))
    assert upload(app.test_client(), export).status_code == 401
