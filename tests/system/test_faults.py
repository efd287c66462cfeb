"""Faults, each against real gunicorn processes (tests/system/test_serve.py's `start`):

- the rule store unreachable at start: kb_content is served, /readyz says so, admin is 503;
- the store lost while running (PostgreSQL behind a TCP proxy this test closes and reopens,
  in a schema of its own so that no other test is disturbed): /diagnose keeps answering
  from the held version, /readyz reports the store down, the admin API answers 503, and
  all recovers, including following a version published meanwhile;
- a worker killed with SIGKILL is replaced, and a client loop loses at most the request
  in flight; SIGTERM drains: a request in flight completes and the master exits 0;
- failed authentications are braked per worker process (the limit is per process).
"""

import contextlib
import json
import os
import shutil
import signal
import socket
import threading
import time
import urllib.error
import urllib.request

import pytest

from rules.kb.loader import RuleDocument, load_directory, read_directory
from rules.kb.store import Store
from rules.runtime import KnowledgeBase
from service.web.app import create_app
from tests.conftest import KB_DIR, pg_schema_url
from tests.system.test_serve import free_port, start, stop

ADMIN_KEY = "faults-test-admin-key-0123456789"
PAYLOAD = {"status": 401, "platform": "tiktok_shop",
           "endpoint": "https://open-api.tiktokglobalshop.com/authorization/202309/shops",
           "body": {"code": 106001, "message": "Invalid credentials. The 'sign' query parameter is invalid."}}


def call(url, payload=None, headers=None, timeout=10):
    """(status, JSON body, headers); connection errors propagate."""
    data = json.dumps(payload).encode() if payload is not None else None
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read()), response.headers
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read()), exc.headers


def admin(base):
    return call(f"{base}/admin/v1/versions", headers={"Authorization": f"Bearer {ADMIN_KEY}"})


def until(condition, what: str, timeout: float = 20.0, times: int = 3):
    """Wait until `condition()` holds `times` checks in a row (so every worker agrees)."""
    deadline, streak, last = time.monotonic() + timeout, 0, None
    while time.monotonic() < deadline:
        try:
            last = condition()
        except OSError as exc:
            last = exc
        streak = streak + 1 if last is True else 0
        if streak >= times:
            return
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what} (last: {last!r})")


def children(pid: int) -> set[int]:
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.add(int(entry))
    return found


@pytest.fixture(scope="module")
def small_kb(tmp_path_factory):
    """Two files of kb_content (PAYLOAD's rule among them): workers start in half the time."""
    kb_dir = tmp_path_factory.mktemp("kb")
    for name in ("tiktok_shop/common.yaml", "generic/http.yaml"):
        (kb_dir / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(KB_DIR / name, kb_dir / name)
    return kb_dir


def server_log(proc) -> str:
    proc.log.seek(0)
    return proc.log.read().decode(errors="replace")[-4000:]


# -- the store unreachable at start ---------------------------------------------------------------

def test_store_unreachable_at_start_serves_kb_content_and_admin_is_503(small_kb):
    env = {**os.environ, "DATABASE_URL": f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/none",
           "OPSDIAG_KB_DIR": str(small_kb), "OPSDIAG_BOOTSTRAP_ADMIN_KEY": ADMIN_KEY, "OPSDIAG_POLL_SECONDS": "0.3"}
    base, proc = start(env, workers=1)
    try:
        status, ready, _ = call(f"{base}/readyz")
        assert (status, ready["kb_source"], ready["store"]) == (200, "kb_content", "unavailable")
        assert ready["kb_version"].startswith("local-")
        assert ready["rule_count"] == len(load_directory(small_kb)[1])
        status, answer, _ = call(f"{base}/diagnose", PAYLOAD)
        assert status == 200 and answer["diagnoses"][0]["category"] == "signature.invalid"
        status, problem, headers = admin(base)
        assert status == 503 and problem["title"] == "Rule store unavailable" and headers["Retry-After"]
        assert call(f"{base}/healthz")[0] == 200
    finally:
        stop(proc)


def test_diagnose_with_keys_answers_503_not_500_while_the_store_is_down(small_kb):
    kb = KnowledgeBase(Store(f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/none"), small_kb)
    client = create_app({"TESTING": True, "DIAGNOSE_AUTH": True}, kb=kb).test_client()
    response = client.post("/diagnose", json=PAYLOAD, headers={"Authorization": "Bearer odk_x_y"})
    assert response.status_code == 503 and response.mimetype == "application/problem+json"
    assert response.headers["Retry-After"] == "5"
    kb.engine.close()


# -- the store lost while running (PostgreSQL) --------------------------------------------------

class TcpProxy:
    """127.0.0.1:<port> -> target. down() closes the port and every connection through it
    (as a database host that vanished); up() opens the same port again."""

    def __init__(self, target: tuple[str, int]):
        self.target, self.port = target, free_port()
        self._listener: socket.socket | None = None
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def up(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        listener.settimeout(0.1)
        self._listener, self._stop = listener, threading.Event()
        threading.Thread(target=self._accept, args=(listener, self._stop), daemon=True).start()

    def down(self) -> None:
        self._stop.set()
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        with self._lock:
            for sock in self._open:
                for close in (lambda s=sock: s.shutdown(socket.SHUT_RDWR), sock.close):
                    with contextlib.suppress(OSError):
                        close()
            self._open.clear()

    def _accept(self, listener, stop):
        while not stop.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            client.settimeout(None)
            upstream.settimeout(None)
            with self._lock:
                self._open |= {client, upstream}
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


@pytest.fixture
def pg_schema():
    """(direct URL, URL through a proxy that is down) into a schema of this test's own."""
    with pg_schema_url("opsdiag_faults") as url:
        proxy = TcpProxy((url.host or "127.0.0.1", url.port or 5432))
        direct = url.render_as_string(hide_password=False)
        proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        try:
            yield direct, proxied, proxy
        finally:
            proxy.down()


def changed(docs: list[RuleDocument]) -> list[RuleDocument]:
    first = docs[0]
    return [RuleDocument(first.file, {**first.body, "priority": first.body["priority"] - 1}), *docs[1:]]


@pytest.mark.postgres
def test_store_lost_while_running_keeps_serving_and_everything_recovers(pg_schema, small_kb):
    direct, proxied, proxy = pg_schema
    store = Store(direct)
    store.create_schema()
    docs = read_directory(small_kb)
    first, _ = store.publish(docs, author="faults")
    env = {**os.environ, "DATABASE_URL": proxied, "OPSDIAG_KB_DIR": str(small_kb),
           "OPSDIAG_BOOTSTRAP_ADMIN_KEY": ADMIN_KEY, "OPSDIAG_POLL_SECONDS": "0.2"}

    def readiness(store_state, source=None, version=None):
        def check():
            _, ready, _ = call(f"{base}/readyz")
            return (ready["store"] == store_state and source in (None, ready["kb_source"])
                    and version in (None, ready["kb_version"])) or ready
        return check

    # 1. unreachable at start: kb_content is served; the store comes: its version is followed
    base, proc = start(env, workers=1)
    try:
        until(readiness("unavailable", "kb_content"), "kb_content served while the store is down")
        assert admin(base)[0] == 503
        proxy.up()
        until(readiness("ok", "store", str(first)), "the stored version once the store is reachable")
        status, versions, _ = admin(base)  # the bootstrap key was written now, not at start
        assert status == 200 and versions["current"] == first

        # 2. lost while running: the held version keeps answering, admin says 503
        proxy.down()
        until(readiness("unavailable", "store", str(first)), "the store reported down")
        for _ in range(5):
            status, answer, _ = call(f"{base}/diagnose", PAYLOAD)
            assert status == 200 and answer["kb_version"] == str(first)
            assert answer["diagnoses"][0]["category"] == "signature.invalid"
        status, problem, headers = admin(base)
        assert status == 503 and problem["title"] == "Rule store unavailable" and headers["Retry-After"]
        second, _ = store.publish(changed(docs), author="faults")  # published while the worker is cut off

        # 3. back: ready, admin answers, and the version published meanwhile is followed
        proxy.up()
        until(readiness("ok", "store", str(second)), "the new version once the store is back")
        assert call(f"{base}/diagnose", PAYLOAD)[1]["kb_version"] == str(second)
        status, versions, _ = admin(base)
        assert status == 200 and versions["current"] == second
    except BaseException:
        print(server_log(proc))
        raise
    finally:
        stop(proc)
        store.dispose()


# -- workers killed, the master stopped ----------------------------------------------------------

@pytest.fixture(scope="module")
def sqlite_env(tmp_path_factory, small_kb):
    url = f"sqlite:///{tmp_path_factory.mktemp('faults') / 'kb.db'}"
    store = Store(url)
    store.create_schema()
    store.publish(read_directory(small_kb), author="faults")
    store.dispose()
    return {**os.environ, "DATABASE_URL": url, "OPSDIAG_KB_DIR": str(small_kb),
            "OPSDIAG_BOOTSTRAP_ADMIN_KEY": ADMIN_KEY, "OPSDIAG_AUTH_FAILURES_PER_MINUTE": "3"}


@pytest.fixture(scope="module")
def two_workers(sqlite_env):
    base, proc = start(sqlite_env, workers=2)
    yield base, proc
    stop(proc)


def test_header_fields_past_the_limit_through_gunicorn_are_a_431_problem(two_workers):
    base, _proc = two_workers
    many = {f"X-F{i}": "1" for i in range(150)}  # over OPSDIAG_MAX_HEADER_FIELDS (100)
    status, problem, headers = call(f"{base}/diagnose", PAYLOAD, headers=many)
    assert status == 431 and headers["Content-Type"] == "application/problem+json"
    assert problem["invalid-params"][0]["name"] == "header fields"
    far_too_many = {f"X-F{i}": "1" for i in range(450)}  # over gunicorn's own cap: its plain-text answer
    request = urllib.request.Request(f"{base}/healthz", headers=far_too_many)
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code in (400, 431)  # gunicorn < 23 says 400
    assert call(f"{base}/diagnose", PAYLOAD)[0] == 200  # and the worker is fine


def test_a_worker_killed_is_replaced_and_clients_lose_at_most_the_request_in_flight(two_workers):
    base, proc = two_workers
    workers = children(proc.pid)
    assert len(workers) == 2
    outcomes: list[str] = []
    halt = threading.Event()

    def client_loop():
        while not halt.is_set():
            try:
                status, answer, _ = call(f"{base}/diagnose", PAYLOAD, timeout=10)
                outcomes.append("ok" if status == 200 and answer["diagnoses"] else f"status {status}")
            except OSError as exc:  # reset, refused, timed out
                outcomes.append(f"error {exc!r}")

    loop = threading.Thread(target=client_loop)
    loop.start()
    try:
        until(lambda: len(outcomes) >= 20, "requests before the kill", times=1)
        victim = min(workers)
        os.kill(victim, signal.SIGKILL)
        until(lambda: len(children(proc.pid) - {victim}) == 2, "a replacement worker", times=1)
        served_after = len(outcomes)
        until(lambda: len(outcomes) >= served_after + 100, "requests after the replacement", times=1)
    finally:
        halt.set()
        loop.join(timeout=15)
    failures = [o for o in outcomes if o != "ok"]
    assert len(failures) <= 1, failures
    assert proc.poll() is None and call(f"{base}/readyz")[0] == 200


def test_sigterm_lets_the_request_in_flight_finish_and_the_master_exit_0(sqlite_env):
    base, proc = start(sqlite_env, workers=1)
    port = int(base.rsplit(":", 1)[1])
    payload = json.dumps({**PAYLOAD, "body": {**PAYLOAD["body"], "trace": "x" * 200_000}}).encode()
    head = (f"POST /diagnose HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n").encode()
    try:
        # a slow request: headers and half the body now, the rest after the signal
        with socket.create_connection(("127.0.0.1", port), timeout=30) as slow:
            slow.sendall(head + payload[: len(payload) // 2])
            time.sleep(0.5)  # the worker has accepted it and waits for the rest of the body
            proc.send_signal(signal.SIGTERM)
            time.sleep(1.0)
            assert proc.poll() is None, "the master must wait for the request in flight"
            slow.sendall(payload[len(payload) // 2:])
            response = b""
            while chunk := slow.recv(65536):
                response += chunk
        head_lines, _, body = response.partition(b"\r\n\r\n")
        assert head_lines.startswith(b"HTTP/1.1 200"), head_lines
        assert json.loads(body)["diagnoses"][0]["category"] == "signature.invalid"
        assert proc.wait(timeout=30) == 0
    except BaseException:
        print(server_log(proc))
        raise
    finally:
        stop(proc)




def test_failed_authentications_are_braked_per_worker_process(two_workers):
    """OPSDIAG_AUTH_FAILURES_PER_MINUTE=3 with 2 workers: each worker counts on its own, so an
    address gets at most 3 x 2 failures a minute before every answer is 429 (SECURITY.md).
    Runs last on this server: the address stays braked for a minute."""
    base, _proc = two_workers
    statuses: list[int] = []
    while statuses.count(401) < 3 * 2 and len(statuses) < 80:  # until each worker has seen 3
        statuses.append(admin_with(base, f"odk_guess{len(statuses)}_wrong")[0])
    assert statuses[:3] == [401, 401, 401]
    assert statuses.count(401) == 3 * 2 and set(statuses) <= {401, 429}, statuses
    # both workers now brake the address: the right key is refused too, whichever answers
    assert [admin_with(base, ADMIN_KEY)[0] for _ in range(6)] == [429] * 6


def admin_with(base, key):
    return call(f"{base}/admin/v1/versions", headers={"Authorization": f"Bearer {key}"})
