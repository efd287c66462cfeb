"""Key settings: a bootstrap key of any form of 24+ characters works, `odk_...` included;
one that could never authenticate, and any other key setting the service cannot read, is
refused at start with one log line that names the variable and why (never the value)."""

import logging
import os
import subprocess
import sys

import pytest

from rules.kb.loader import read_directory
from rules.kb.store import Store
from rules.runtime import KnowledgeBase
from service.settings import SettingRefused
from service.web.app import create_app
from service.web.keys import create_key
from tests.conftest import KB_DIR, ROOT

ISSUED_LOOKALIKE = "odk_0123456789ab_operator-chosen-secret-value"  # the form opsdiag issues keys in


@pytest.fixture
def store(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'kb.db'}")
    store.create_schema()
    store.publish([d for d in read_directory(KB_DIR) if d.file == "generic/http.yaml"], author="t")
    yield store
    store.dispose()


def app_with(store, key: str):
    return create_app({"TESTING": True, "BOOTSTRAP_ADMIN_KEY": key}, kb=KnowledgeBase(store, KB_DIR))


def status_with(app, key: str) -> int:
    return app.test_client().get("/admin/v1/keys", headers={"Authorization": f"Bearer {key}"}).status_code


@pytest.mark.parametrize("key", [
    ISSUED_LOOKALIKE, "odk_bootstrap_operator-chosen-secret", "odk_only-one-underscore-but-long",
    "a-plain-operator-key-0123456789", "Z" * 24,
])
def test_a_bootstrap_key_of_any_form_is_an_admin_key(store, key):
    app = app_with(store, key)
    assert status_with(app, key) == 200  # GET /admin/v1/keys needs the admin role
    assert status_with(app, key + "x") == 401
    assert status_with(app, key[:-1]) == 401


def test_issued_keys_still_work_beside_a_bootstrap_key_in_their_form(store):
    app = app_with(store, ISSUED_LOOKALIKE)
    _row, issued = create_key(store, "viewer")
    assert status_with(app, issued) == 403  # known, too small a role for keys
    assert app.test_client().get("/admin/v1/rules", headers={"Authorization": f"Bearer {issued}"}).status_code == 200
    assert status_with(app, ISSUED_LOOKALIKE) == 200


@pytest.mark.parametrize(("key", "why"), [
    ("short-key-0123456789", "20 characters; at least 24"),
    ("a key with spaces inside of it", "white space"),
    ("operator-chosen-key-0123456789 ", "white space"),
    ("ключ-оператора-0123456789-abcdef", "printable ASCII"),
])
def test_a_bootstrap_key_that_cannot_work_is_refused_at_start_with_a_log_line(store, caplog, key, why):
    with caplog.at_level(logging.CRITICAL, logger="opsdiag.settings"), pytest.raises(SettingRefused):
        app_with(store, key)
    lines = [r.getMessage() for r in caplog.records if r.name == "opsdiag.settings"]
    assert len(lines) == 1 and "OPSDIAG_BOOTSTRAP_ADMIN_KEY refused" in lines[0] and why in lines[0], lines
    assert key.strip() not in caplog.text  # the log says why, never the key


@pytest.mark.system  # starts processes
@pytest.mark.parametrize(("name", "value", "why"), [
    ("OPSDIAG_BOOTSTRAP_ADMIN_KEY", "too-short", "9 characters"),
    ("OPSDIAG_DIAGNOSE_AUTH", "yes please", "neither on nor off"),
    ("OPSDIAG_AUTH_FAILURES_PER_MINUTE", "ten", "not a whole number"),
    ("OPSDIAG_AUTH_FAILURES_PER_MINUTE", "0", "not a whole number"),
])
def test_the_server_does_not_start_on_a_key_setting_it_cannot_use_and_its_log_says_why(tmp_path, name, value, why):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'kb.db'}", name: value}
    done = subprocess.run([sys.executable, "-c", "import service.web.wsgi"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    refused = [line for line in done.stderr.splitlines() if f"{name} refused" in line]
    assert refused and why in refused[0], done.stderr[-2000:]
