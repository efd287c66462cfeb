"""Security headers on every response of every route (errors and admin included), API keys
compared in constant time whatever the key id, and the failure brake (per process; its
behaviour across gunicorn workers is in test_faults.py)."""

import json
import shutil

import pytest
from werkzeug.routing import IntegerConverter

from rules.kb.loader import read_directory
from rules.kb.store import Store
from rules.runtime import KnowledgeBase
from service.limits import LIMITS
from service.web import keys
from service.web.app import create_app
from service.web.envelope import SECURITY_HEADERS
from service.web.keys import create_key, revoke, verify
from tests.conftest import KB_DIR

ADMIN_KEY = "security-test-admin-key-0123456789"
EXPECTED = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer"}


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    store = Store(f"sqlite:///{tmp_path_factory.mktemp('security') / 'kb.db'}")
    store.create_schema()
    store.publish([d for d in read_directory(KB_DIR) if d.file == "generic/http.yaml"], author="t")
    yield store
    store.dispose()


@pytest.fixture(scope="module")
def small_kb(tmp_path_factory):
    kb_dir = tmp_path_factory.mktemp("kb")
    (kb_dir / "generic").mkdir()
    shutil.copy(KB_DIR / "generic" / "http.yaml", kb_dir / "generic" / "http.yaml")
    return kb_dir


@pytest.fixture(scope="module")
def app(store):
    return create_app({"TESTING": True, "BOOTSTRAP_ADMIN_KEY": ADMIN_KEY, "AUTH_FAILURE_LIMIT": 3},
                      kb=KnowledgeBase(store, KB_DIR))


def secured(response, what: str) -> None:
    for name in SECURITY_HEADERS:
        assert response.headers.get(name), f"{what}: no {name} ({response.status_code})"
    for name, value in EXPECTED.items():
        assert response.headers[name] == value, f"{what}: {name}"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"], what
    assert response.headers.get("X-Request-ID"), what


def paths(app):
    """Every route of the URL map, with each variable filled in, and its methods."""
    for rule in app.url_map.iter_rules():
        values = {name: 1 if isinstance(conv, IntegerConverter) else "x" for name, conv in rule._converters.items()}
        if rule.endpoint == "docs.asset":
            values["name"] = "docs.js"
        path = rule.build(values)[1]
        yield rule, path, sorted(rule.methods - {"HEAD", "OPTIONS"})


def test_every_route_answers_with_the_security_headers_with_and_without_a_key(app):
    client = app.test_client()
    seen = set()
    for _rule, path, methods in paths(app):
        for method in [*methods, "HEAD", "OPTIONS"]:
            for headers in ({}, {"Authorization": f"Bearer {ADMIN_KEY}"}):
                response = client.open(path, method=method, json={} if method in ("POST", "PUT", "PATCH") else None,
                                       headers=headers)
                secured(response, f"{method} {path} {headers and 'with key'}")
                seen.add(response.status_code)
    assert {200, 401}.issubset(seen) and any(s >= 400 for s in seen)
    assert len(list(paths(app))) >= 25  # the walk covers the admin API too


def test_error_answers_carry_the_security_headers_too(app, small_kb, monkeypatch):
    client = app.test_client()
    bad_key = {"Authorization": "Bearer odk_nope_wrong"}
    cases = {
        "404": client.get("/no/such/route"),
        "405": client.open("/diagnose", method="TRACE"),
        "400": client.post("/diagnose", data=b"{", content_type="application/json"),
        "415": client.post("/diagnose", data=b"x", content_type="text/plain"),
        "422": client.post("/diagnose", json={"status": "x"}),
        "413": client.post("/diagnose", data=b"[" + b" " * (LIMITS.body_bytes + 1) + b"]",
                           content_type="application/json"),
        "431": client.get("/healthz", headers={f"X-F{i}": "1" for i in range(LIMITS.header_fields + 1)}),
        "401": client.get("/admin/v1/rules", headers=bad_key),
    }
    for _ in range(3):
        client.get("/admin/v1/rules", headers=bad_key)
    cases["429"] = client.get("/admin/v1/rules", headers=bad_key)

    broken = create_app({"TESTING": True}, kb=KnowledgeBase(None, small_kb))
    monkeypatch.setattr(broken.extensions["opsdiag.kb"], "diagnose", lambda *a, **k: 1 / 0)
    cases["500"] = broken.test_client().post("/diagnose", json={"status": 500, "endpoint": "/x"})

    down = create_app({"TESTING": True}, kb=KnowledgeBase(Store("postgresql+psycopg://nobody@127.0.0.1:9/x"), small_kb))
    cases["503"] = down.test_client().get("/admin/v1/rules", headers={"Authorization": f"Bearer {ADMIN_KEY}"})
    for status, response in cases.items():
        assert str(response.status_code) == status, (status, response.data[:200])
        assert response.mimetype == "application/problem+json", status
        secured(response, status)


def test_keys_are_compared_in_constant_time_even_for_unknown_key_ids(store, monkeypatch):
    """verify() always compares a digest of the same length, whether the id exists or not:
    no early return, so the answer time does not tell a real key id from a made-up one."""
    row, clear = create_key(store, "viewer")
    _revoked, revoked_clear = create_key(store, "viewer")
    revoke(store, _revoked.id)
    calls = []
    real = keys.hmac.compare_digest

    def spy(a, b):
        calls.append((len(a), len(b)))
        return real(a, b)

    monkeypatch.setattr(keys.hmac, "compare_digest", spy)
    presented = {
        "the live key": clear, "a wrong secret": f"odk_{row.id}_wrong", "an unknown key id": "odk_000000000000_x",
        "a revoked key": revoked_clear, "no odk_ prefix": "just-some-guess", "empty secret": "odk_x_",
    }
    for what, key in presented.items():
        calls.clear()
        result = verify(store, key)
        assert len(calls) == 1 and calls[0] == (64, 64), what  # one SHA-256 hex comparison, always
        assert (result is not None) == (what == "the live key"), what


def test_the_route_calls_verify_for_unknown_key_ids_too(app, monkeypatch):
    from service.web import auth

    called = []
    real = auth.verify
    monkeypatch.setattr(auth, "verify", lambda store, key: called.append(key) or real(store, key))
    client = app.test_client()
    for key in ("odk_ffffffffffff_guess", "odk_bootstrap_guess", "guess"):
        client.get("/admin/v1/versions", headers={"Authorization": f"Bearer {key}"},
                   environ_base={"REMOTE_ADDR": f"10.9.{len(called)}.1"})  # not braked
    assert called == ["odk_ffffffffffff_guess", "odk_bootstrap_guess", "guess"]
    assert json.loads(client.get("/readyz").data)["status"] == "ready"


@pytest.mark.postgres
def test_cli_output_never_shows_the_database_password(small_kb):
    """`opsdiag kb load` runs at every container start: its output must not carry the secret."""
    from click.testing import CliRunner

    from service.cli import main
    from tests.conftest import pg_schema_url

    secret = "not-to-be-shown-0123"  # trust authentication ignores it
    with pg_schema_url("opsdiag_security") as url:
        with_secret = url.set(password=secret).render_as_string(hide_password=False)
        done = CliRunner().invoke(main, ["kb", "load", "--dir", str(small_kb), "--database-url", with_secret])
    assert done.exit_code == 0, done.output
    assert "new version 1" in done.output and secret not in done.output and "***" in done.output
