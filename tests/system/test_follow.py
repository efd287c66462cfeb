"""Two separate server processes on one PostgreSQL store: a version published through one
is served by every worker of both within 2 seconds, without a restart."""

import json
import os
import subprocess
import time

import pytest

from service.web import keys as _keys  # noqa: F401 - registers the api_key table
from tests.conftest import KB_DIR
from tests.system.test_serve import CLI, get, start, stop
from tests.unit.rules.kb.test_store import postgres_store

pytestmark = pytest.mark.postgres
ADMIN = "follow-test-admin-key-0123456789abcdef"
RULE = "tiktok_shop.common.sign_invalid"
SIGN_ERROR = json.dumps({
    "status": 401, "platform": "tiktok_shop",
    "endpoint": "https://open-api.tiktokglobalshop.com/authorization/202309/shops",
    "body": {"code": 106001, "message": "Invalid credentials. The 'sign' query parameter is invalid."},
}).encode()


@pytest.fixture
def two_servers():
    store = postgres_store()  # an empty store (skips without PostgreSQL outside CI)
    url = store.url
    store.dispose()
    env = {**os.environ, "DATABASE_URL": url, "OPSDIAG_KB_DIR": str(KB_DIR),
           "OPSDIAG_BOOTSTRAP_ADMIN_KEY": ADMIN}
    subprocess.run([*CLI, "kb", "load", "--dir", str(KB_DIR)], env=env, check=True, capture_output=True)
    servers = [start(env, workers=2), start(env, workers=2)]
    yield [base for base, _ in servers]
    for _, proc in servers:
        stop(proc)


def call(base, path, body=None, method=None, **headers):
    import urllib.request
    request = urllib.request.Request(f"{base}{path}", data=body, method=method,
                                     headers={"Authorization": f"Bearer {ADMIN}", **headers})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.headers, json.loads(response.read() or b"null")


def test_a_publish_reaches_every_worker_of_every_instance_within_two_seconds(two_servers):
    first, second = two_servers
    headers, current = call(first, f"/admin/v1/rules/{RULE}")
    rule = current["rule"]
    rule["then"]["en"]["title"] = "Signature mismatch, as published a moment ago"
    call(first, f"/admin/v1/rules/{RULE}", json.dumps(rule).encode(), "PUT",
         **{"Content-Type": "application/json", "If-Match": headers["ETag"]})
    _, published = call(first, "/admin/v1/publish", b"{}", "POST", **{"Content-Type": "application/json"})
    assert published == {"version": 2, "created": True}
    t0 = time.monotonic()

    last_old, answers = None, 0
    while time.monotonic() - t0 < 4:
        for base in (first, second):
            status, answer = get(f"{base}/diagnose", SIGN_ERROR, {"Content-Type": "application/json"})
            assert status == 200
            answers += 1
            if answer["kb_version"] != "2":
                last_old = time.monotonic() - t0
            else:
                assert answer["diagnoses"][0]["title"] == rule["then"]["en"]["title"]
        time.sleep(0.01)
    assert answers > 100
    assert last_old is None or last_old < 2.0, f"an old version was served {last_old:.2f} s after publishing"
