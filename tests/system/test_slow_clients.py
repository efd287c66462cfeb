"""Hostile probe, item 3: slow clients stalled the service. With two sync workers, two
connections that sent headers and part of a body held both workers until gunicorn's 30 s
timeout. Behind the shipped buffering proxy (deploy/nginx.conf, Debian's nginx, installed
by `make test`), N = 4 x workers such clients leave the service answering at once."""

import os
import shutil
import socket
import string
import subprocess
import time
import urllib.request

import pytest

from tests.conftest import KB_DIR, ROOT
from tests.system.test_serve import CLI, free_port, start, stop

WORKERS = 2
CONF = ROOT / "deploy" / "nginx.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


@pytest.fixture
def proxied(tmp_path):
    if not os.path.exists(NGINX):
        if os.environ.get("CI"):
            pytest.fail("nginx is missing: `make test` installs Debian's nginx")
        pytest.skip("nginx is not installed (make test installs it as root)")
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'kb.db'}", "OPSDIAG_KB_DIR": str(KB_DIR)}
    subprocess.run([*CLI, "kb", "load", "--dir", str(KB_DIR)], env=env, check=True, capture_output=True)
    base, app = start(env, workers=WORKERS)
    port = free_port()
    (tmp_path / "temp").mkdir()
    conf = tmp_path / "nginx.conf"
    conf.write_text(string.Template(CONF.read_text()).safe_substitute(
        PID_FILE=tmp_path / "nginx.pid", ERROR_LOG=tmp_path / "error.log", TEMP_DIR=tmp_path / "temp",
        UPSTREAM=base.removeprefix("http://"), LISTEN=f"127.0.0.1:{port}"))
    nginx = subprocess.Popen([NGINX, "-c", str(conf), "-g", "daemon off;"], stderr=subprocess.PIPE)
    proxy = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{proxy}/healthz", timeout=2)
            break
        except OSError:
            time.sleep(0.1)
    yield base, proxy
    nginx.terminate()
    nginx.wait(timeout=10)
    stop(app)


def slow_clients(url: str, count: int) -> list[socket.socket]:
    """Connections that send their headers and half of a body, then nothing."""
    host, port = url.removeprefix("http://").split(":")
    body = b'{"status": 503, "endpoint": "/orders", "body": {"message": "upstream"}}'
    held = []
    for _ in range(count):
        sock = socket.create_connection((host, int(port)), timeout=5)
        sock.sendall(b"POST /diagnose HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: %d\r\n\r\n" % len(body) + body[: len(body) // 2])
        held.append(sock)
    return held


def answers_within(url: str, seconds: float) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=seconds) as response:
            return response.status == 200
    except OSError:
        return False


def test_slow_clients_do_not_stall_the_service_behind_the_proxy(proxied):
    direct, proxy = proxied
    held = slow_clients(proxy, 4 * WORKERS)
    try:
        time.sleep(0.5)
        started = time.monotonic()
        assert all(answers_within(proxy, 3) for _ in range(10)), "the proxy kept the workers free"
        assert time.monotonic() - started < 10
        request = urllib.request.Request(f"{proxy}/diagnose", data=b'{"status": 503, "endpoint": "/orders"}',
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=3) as response:
            assert response.status == 200
    finally:
        for sock in held:
            sock.close()


def test_without_the_proxy_the_same_clients_hold_every_worker(proxied):
    """Why the proxy is required (SECURITY.md): gunicorn's sync workers wait for the body."""
    direct, _proxy = proxied
    held = slow_clients(direct, WORKERS)
    try:
        time.sleep(0.5)
        assert not answers_within(direct, 2), "both sync workers are waiting for the rest of a body"
    finally:
        for sock in held:
            sock.close()
    assert answers_within(direct, 10), "and they are free again once the clients go"
