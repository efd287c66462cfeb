"""gunicorn with two workers: /metrics adds up both, every log line is JSON, and the
metrics directory made for the run is removed when it stops."""

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import KB_DIR
from tests.system.test_serve import free_port, get

DIAGNOSE = json.dumps({"status": 503, "endpoint": "https://open-api.tiktokglobalshop.com/x/y"}).encode()
SECRETS = ["jane.doe@example.com", "+86 138 0013 8000", "sk_live_51Habc0SECRET", "odk_abc_topsecretkey",
           "sessioncookievalue42"]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("gunicorn")
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp / 'kb.db'}", "OPSDIAG_KB_DIR": str(KB_DIR)}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)  # gunicorn_conf makes (and removes) one
    cli = [sys.executable, "-m", "service.cli"]
    subprocess.run([*cli, "kb", "load", "--dir", str(KB_DIR)], env=env, check=True, capture_output=True)
    port = free_port()
    out, err = tmp / "stdout.log", tmp / "stderr.log"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        proc = subprocess.Popen([*cli, "serve", "--bind", f"127.0.0.1:{port}", "--workers", "2"],
                                env=env, stdout=stdout, stderr=stderr)
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
        pytest.fail(err.read_text())
    yield SimpleNamespace(base=base, proc=proc, stdout=out, stderr=err)
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def log_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def post(base, headers=None, body=DIAGNOSE):
    request = urllib.request.Request(f"{base}/diagnose", data=body,
                                     headers={"Content-Type": "application/json", **(headers or {})})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status


def metric_sums(base) -> dict:
    with urllib.request.urlopen(f"{base}/metrics", timeout=10) as response:
        assert response.headers["Content-Type"].startswith("text/plain")
        text = response.read().decode()
    sums = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "opsdiag_http_request_duration_seconds_count":
                key = f"latency_count {sample.labels['route']}"
            else:
                key = sample.name
            sums[key] = sums.get(key, 0) + sample.value
    return sums


def test_metrics_add_up_requests_served_by_both_workers(served):
    workers = {line["pid"] for line in log_lines(served.stderr) if "Booting worker" in line["message"]}
    assert len(workers) == 2
    before = metric_sums(served.base)
    sent, serving = 0, set()
    with ThreadPoolExecutor(max_workers=10) as pool:
        for _ in range(10):  # 20 concurrent requests at a time until both workers have answered some
            assert list(pool.map(lambda _: post(served.base), range(20))) == [200] * 20
            sent += 20
            serving = {line["pid"] for line in log_lines(served.stdout) if line.get("route") == "/diagnose"}
            if serving == workers:
                break
    assert serving == workers, "every worker served /diagnose"
    after = metric_sums(served.base)
    assert after["latency_count /diagnose"] - before.get("latency_count /diagnose", 0) == sent
    assert after["opsdiag_diagnoses_total"] - before.get("opsdiag_diagnoses_total", 0) == sent
    assert after["opsdiag_kb_info"] == 1 and after["opsdiag_kb_rules"] > 0


def test_every_line_is_json_with_an_access_line_per_request_and_no_secrets(served):
    body = json.dumps({"status": 401, "endpoint": "https://open-api.tiktokglobalshop.com/order/202309/orders",
                       "body": {"message": f"token {SECRETS[2]} for {SECRETS[0]} {SECRETS[1]}"}}).encode()
    assert post(served.base, {"X-Request-ID": "erp-gunicorn-1", "Authorization": f"Bearer {SECRETS[3]}",
                              "Cookie": f"s={SECRETS[4]}"}, body) == 200
    access = [line for line in log_lines(served.stdout) if line.get("request_id") == "erp-gunicorn-1"]
    assert len(access) == 1
    assert {k: access[0][k] for k in ("logger", "method", "path", "status")} == {
        "logger": "opsdiag.access", "method": "POST", "path": "/diagnose", "status": 200}
    assert access[0]["duration_ms"] >= 0 and access[0]["timestamp"]
    errors = log_lines(served.stderr)  # gunicorn's own lines: JSON too
    assert any(line["logger"] == "gunicorn.error" and "Listening at" in line["message"] for line in errors)
    for line in errors + log_lines(served.stdout):
        assert {"timestamp", "level", "logger", "message"} <= line.keys()
    text = served.stdout.read_text() + served.stderr.read_text()
    for secret in SECRETS:
        assert secret not in text


def test_the_metrics_directory_made_for_the_run_is_removed_at_stop(served):
    said = [re.search(r"gathered in (\S+)", line["message"]) for line in log_lines(served.stderr)]
    path = Path(next(m.group(1) for m in said if m))
    assert path.is_dir() and list(path.glob("*.db"))
    served.proc.send_signal(signal.SIGTERM)
    assert served.proc.wait(timeout=30) == 0
    assert not path.exists()


def test_a_given_metrics_directory_is_cleared_at_start_and_kept(tmp_path, monkeypatch):
    from service.web import gunicorn_conf

    stale = tmp_path / "counter_1234.db"
    stale.write_bytes(b"old")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    server = SimpleNamespace(log=SimpleNamespace(info=lambda *args: None))
    gunicorn_conf.on_starting(server)
    assert not stale.exists()
    gunicorn_conf.on_exit(server)
    assert tmp_path.is_dir()
