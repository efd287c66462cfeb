"""Every size limit lives in service/limits.py, comes from one OPSDIAG_MAX_* variable, and is
answered with a 413, 431 or 422 problem+json that names what is too large: one test each."""

import io
import json
import zipfile
from dataclasses import replace

import pytest
from flask import request

from rules.kb.loader import read_directory
from rules.kb.store import Store
from rules.runtime import KnowledgeBase
from service import limits
from service.settings import read_limits
from service.web import gunicorn_conf
from service.web.app import _header_fields, create_app
from tests.conftest import KB_DIR, contract_checked

PROBLEM = "application/problem+json"
OK = {"status": 400, "endpoint": "https://open-api.tiktokglobalshop.com/order/202309/orders"}
ADMIN_KEY = "limits-test-admin-key-0123456789"


@pytest.fixture
def bounded(monkeypatch, local_kb):
    """Make an app under the given limits (as if read from the environment at start)."""
    made = []

    def make(**changes):
        monkeypatch.setattr(limits, "LIMITS", replace(limits.LIMITS, **changes))
        app = contract_checked(create_app({"TESTING": True}, kb=local_kb))
        made.append(app)
        return app.test_client()

    yield make
    for app in made:
        assert app.extensions["contract_violations"] == [], "responses that break openapi.yaml"


def post(client, payload, path="/diagnose", **kw):
    data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return client.post(path, data=data, content_type="application/json", **kw)


def refused(response, status: int, name: str) -> dict:
    assert response.status_code == status, response.data[:300]
    assert response.mimetype == PROBLEM
    body = response.get_json()
    assert body["status"] == status
    assert name in [p["name"] for p in body["invalid-params"]], body
    return body


def test_limits_come_from_the_environment_and_bad_values_are_refused_by_name(monkeypatch):
    variables = {
        "OPSDIAG_MAX_BODY_BYTES": ("body_bytes", 2048), "OPSDIAG_MAX_HEADER_FIELDS": ("header_fields", 30),
        "OPSDIAG_MAX_JSON_DEPTH": ("json_depth", 8), "OPSDIAG_MAX_STRING_CHARS": ("string_chars", 500),
        "OPSDIAG_MAX_PAYLOAD_HEADERS": ("payload_headers", 7), "OPSDIAG_MAX_BATCH_BYTES": ("batch_bytes", 4096),
        "OPSDIAG_MAX_IMPORT_BYTES": ("import_bytes", 9999),
        "OPSDIAG_MAX_IMPORT_UNPACKED_BYTES": ("import_unpacked_bytes", 99999),
    }
    for name, (_field, value) in variables.items():
        monkeypatch.setenv(name, str(value))
    read = read_limits()
    assert {field: getattr(read, field) for field, _ in variables.values()} == dict(variables.values())
    assert read.batch_items == 1000  # part of the contract (openapi.yaml maxItems), not a setting
    for bad in ("lots", "0", "-5"):
        monkeypatch.setenv("OPSDIAG_MAX_JSON_DEPTH", bad)
        with pytest.raises(ValueError, match="OPSDIAG_MAX_JSON_DEPTH"):
            read_limits()


@pytest.mark.parametrize("name", [
    "OPSDIAG_MAX_BODY_BYTES", "OPSDIAG_MAX_HEADER_FIELDS", "OPSDIAG_MAX_JSON_DEPTH", "OPSDIAG_MAX_STRING_CHARS",
    "OPSDIAG_MAX_PAYLOAD_HEADERS", "OPSDIAG_MAX_BATCH_BYTES", "OPSDIAG_MAX_IMPORT_BYTES",
    "OPSDIAG_MAX_IMPORT_UNPACKED_BYTES",
])
def test_each_variable_is_named_when_its_value_is_refused_and_1_is_the_least_it_takes(monkeypatch, name):
    monkeypatch.setenv(name, "0")
    with pytest.raises(ValueError, match=f"^{name} must be at least 1, not 0$"):
        read_limits()
    monkeypatch.setenv(name, " 1 ")
    assert 1 in vars(read_limits()).values()


def test_body_larger_than_the_limit_is_413(bounded):
    client = bounded(body_bytes=2000)
    small = {**OK, "body": {"message": "x" * 1500}}
    assert post(client, small).status_code == 200
    body = refused(post(client, {**OK, "body": {"message": "x" * 2100}}), 413, "content")
    assert "2000 bytes" in body["detail"]


def test_more_http_header_fields_than_the_limit_is_431_on_every_route(bounded):
    client = bounded(header_fields=20)
    few = {f"X-F{i}": "1" for i in range(10)}
    many = {f"X-F{i}": "1" for i in range(25)}
    assert post(client, OK, headers=few).status_code == 200
    refused(post(client, OK, headers=many), 431, "header fields")
    for path in ("/healthz", "/readyz", "/openapi.yaml", "/nope"):
        response = client.get(path, headers=many)
        assert response.status_code == 431 and response.mimetype == PROBLEM, path
    # gunicorn's own (bare 400) cap sits well above ours, so the app is the one that answers
    started = read_limits()  # what gunicorn_conf read at import
    assert gunicorn_conf.limit_request_fields == started.gunicorn_header_fields >= 4 * started.header_fields


def test_json_deeper_than_the_limit_is_422_naming_the_field(bounded):
    client = bounded(json_depth=5)

    def deep(n):
        value = "x"
        for _ in range(n):
            value = {"a": value}
        return value

    assert post(client, {**OK, "body": deep(5)}).status_code == 200
    refused(post(client, {**OK, "body": deep(6)}), 422, "body")
    refused(post(client, {**OK, "request": {"body": [deep(5)]}}), 422, "request.body")


def test_string_longer_than_the_limit_is_422_naming_the_field(bounded):
    client = bounded(string_chars=1000)
    assert post(client, {**OK, "body": "y" * 1000}).status_code == 200
    refused(post(client, {**OK, "body": "y" * 1001}), 422, "body")
    refused(post(client, {**OK, "body": {"message": "y" * 1001}}), 422, "body")  # inside the JSON too
    refused(post(client, {**OK, "body": {"k" * 1001: 1}}), 422, "body")  # and its keys
    refused(post(client, {**OK, "request": {"body": ["y" * 1001]}}), 422, "request.body")


def test_more_payload_headers_than_the_limit_is_422_naming_the_field(bounded):
    client = bounded(payload_headers=5)
    assert post(client, {**OK, "headers": {f"x-h{i}": "1" for i in range(5)}}).status_code == 200
    refused(post(client, {**OK, "headers": {f"x-h{i}": "1" for i in range(6)}}), 422, "headers")
    refused(post(client, {**OK, "request": {"headers": {f"x-h{i}": "1" for i in range(6)}}}), 422, "request.headers")
    refused(post(client, {**OK, "headers": {"x-many": ["v"] * 6}}), 422, "headers")  # repeated values


def test_a_payload_header_value_longer_than_the_default_limit_is_422_naming_the_field(client):
    """8,192 characters per value (SECURITY.md, openapi.yaml's maxLength), with no variable:
    a request far below the body limit that crosses it is refused."""
    assert post(client, {**OK, "headers": {"x-long": "v" * 8192}}).status_code == 200
    body = refused(post(client, {**OK, "headers": {"x-long": "v" * 8193}}), 422, "headers")
    assert "longer than 8192 characters" in body["invalid-params"][0]["reason"]
    refused(post(client, {**OK, "request": {"headers": {"x-long": ["v", "v" * 8193]}}}), 422, "request.headers")


def test_batch_past_its_item_and_byte_limits_is_422_and_413(bounded):
    client = bounded(batch_items=3, batch_bytes=4000)
    item = {"status": 503, "endpoint": "https://api.lazada.sg/rest/orders/get"}
    assert post(client, {"items": [item] * 3}, "/diagnose/batch").status_code == 200
    refused(post(client, {"items": [item] * 4}, "/diagnose/batch"), 422, "items")
    refused(post(client, {"items": [{**item, "id": "x" * 100}] * 3, "pad": "p" * 4000}, "/diagnose/batch"),
            413, "content")


def test_admin_archive_import_past_its_limits_is_413_or_422_naming_the_archive(monkeypatch, tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'kb.db'}")
    store.create_schema()
    store.publish([d for d in read_directory(KB_DIR) if d.file == "generic/http.yaml"], author="test")
    kb = KnowledgeBase(store, KB_DIR)
    monkeypatch.setattr(limits, "LIMITS", replace(limits.LIMITS, import_bytes=50_000, import_unpacked_bytes=100_000))
    app = contract_checked(create_app({"TESTING": True, "BOOTSTRAP_ADMIN_KEY": ADMIN_KEY}, kb=kb))
    client = app.test_client()

    def upload(files: dict[str, bytes], method=zipfile.ZIP_DEFLATED):
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", method) as archive:
            for name, data in files.items():
                archive.writestr(name, data)
        return client.post("/admin/v1/import", data=out.getvalue(), content_type="application/zip",
                           headers={"Authorization": f"Bearer {ADMIN_KEY}"})

    exported = client.get("/admin/v1/export", headers={"Authorization": f"Bearer {ADMIN_KEY}"})
    assert exported.status_code == 200
    # as sent: more bytes than OPSDIAG_MAX_IMPORT_BYTES, refused before it is read
    stored = upload({"generic/x.yaml": bytes(range(256)) * 300}, zipfile.ZIP_STORED)
    refused(stored, 413, "content")
    # unpacked: a small archive that inflates past OPSDIAG_MAX_IMPORT_UNPACKED_BYTES (a zip bomb)
    bomb = upload({"generic/x.yaml": b"# " + b"a" * 200_000})
    body = refused(bomb, 422, "archive")
    assert "100000 bytes unpacked" in body["detail"]
    assert app.extensions["contract_violations"] == []
    kb.engine.close()
    store.dispose()


@pytest.mark.parametrize("headers", [{}, {"X-A": "1"}, {"Content-Type": "application/json", "X-A": "1", "X-B": "2"},
                                     {"Content-Type": "", "Content-Length": "0"}])
def test_header_fields_are_counted_as_werkzeug_counts_them(app, headers):
    with app.test_request_context("/diagnose", method="POST", headers=headers, data=b"{}" if headers else None):
        assert _header_fields(request.environ) == len(request.headers)
