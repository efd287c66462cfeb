"""`opsdiag serve`: gunicorn workers answering over a real socket, then a graceful stop."""

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
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


CLI = [sys.executable, "-m", "service.cli"]


def start(env: dict, workers: int = 2):
    """`opsdiag serve` in its own process group, once it answers /readyz."""
    port = free_port()
    log = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the server; a pipe nobody drains would block its logging
    proc = subprocess.Popen([*CLI, "serve", "--bind", f"127.0.0.1:{port}", "--workers", str(workers)],
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    proc.log = log
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if get(f"{base}/readyz")[0] == 200:
                return base, proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    log.seek(0)
    pytest.fail(log.read().decode(errors="replace")[-5000:])


def stop(proc) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.wait()


@pytest.fixture
def server(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'kb.db'}", "OPSDIAG_KB_DIR": str(KB_DIR)}
    subprocess.run([*CLI, "kb", "load", "--dir", str(KB_DIR)], env=env, check=True, capture_output=True)
    base, proc = start(env)
    yield base, proc
    stop(proc)


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
