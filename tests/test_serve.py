"""`opsdiag serve`: gunicorn workers answering over a real socket, then a graceful stop."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from tests.conftest import KB_DIR


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url, data=None, headers=None):
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.fixture
def server(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'kb.db'}", "OPSDIAG_KB_DIR": str(KB_DIR)}
    cli = [sys.executable, "-m", "service.cli"]
    subprocess.run([*cli, "kb", "load", "--dir", str(KB_DIR)], env=env, check=True, capture_output=True)
    port = free_port()
    proc = subprocess.Popen([*cli, "serve", "--bind", f"127.0.0.1:{port}", "--workers", "2"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if get(f"{base}/readyz")[0] == 200:
                break
        except OSError:
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail(proc.stdout.read().decode())
    yield base, proc
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def test_gunicorn_serves_the_stored_version_and_stops_gracefully(server):
    base, proc = server
    status, ready = get(f"{base}/readyz")
    assert (status, ready["kb_version"], ready["kb_source"], ready["store"]) == (200, "1", "store", "ok")
    status, answer = get(f"{base}/diagnose", json.dumps({"status": 503, "endpoint": "/x"}).encode(),
                         {"Content-Type": "application/json"})
    assert status == 200 and answer["kb_version"] == "1"
    status, problem = get(f"{base}/diagnose", b"{", {"Content-Type": "application/json"})
    assert status == 400 and problem["status"] == 400
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
