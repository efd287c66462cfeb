"""3. HTTP: gunicorn with the production config, loaded from a second process.

    python -m bench.http [--seconds 20] [--connections 1,8,32] [--workers 1] [--pin] [--json FILE]

gunicorn runs `service/web/gunicorn_conf.py` as shipped (sync workers, access log on),
with only the bind address, the worker count and the database chosen here: a fresh
SQLite store loaded with kb_content by `opsdiag kb load`, as in production. One
worker by default, so requests/s are per worker core (the load generator takes the
other core); --pin puts the worker on CPU 0 and the generator on CPU 1, which only
helps on a machine nobody else uses. The load comes from wrk (Debian's package) with a
Lua script that posts the payload mix round-robin and reports p50/p99/p99.9 and the
errors; without wrk a small asyncio client (bench/loadgen.py) in its own process
does the same. The baselines, same generator and same gunicorn settings: GET /healthz
on the same server (what Flask and opsdiag's per-request envelope cost with no work);
the same POST /diagnose mix on the app with the knowledge base's answer canned
(`bench.http:canned_app()`: everything but the engine); and an empty WSGI app
(`bench.http:empty_app`: what gunicorn alone costs per request), and the empty app again
with each connection closed at once (`bench/plain_close.py`: what gunicorn's RFC 9112
closing, which waits for the client to close too, costs of that).

A closed loop of 32 connections keeps 32 requests in flight, so its latency is bound
by Little's law (mean >= 32 / throughput): the figure at 32 connections measures the
queue as much as the service. The paced run shows latency under a load the worker
can carry: 32 connections that together offer --paced-share (60%) of the best rate the
closed loops reached in the same run (each waits 32/rate s between its requests, wrk's
`delay`), so that it loads a slow host and a fast one alike.
"""

import argparse
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from functools import partial
from importlib import metadata
from pathlib import Path

from .common import BIN, PY, ROOT, command, emit, kb_payloads, kb_rules, verdict_lines

LUA = r"""
local bodies = {%s}
local n = 0
local pause = %s
if pause > 0 then delay = function() return pause end end
request = function()
  n = n %% #bodies + 1
  return wrk.format("%s", "%s", {["Content-Type"] = "application/json"}, bodies[n])
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT %%d %%d %%d %%d %%d %%d %%d %%d %%d %%d %%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency:percentile(99.9), latency.max, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.status, summary.errors.timeout))
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


PIN = False  # --pin


def cpus() -> tuple[list[str], list[str]]:
    """taskset prefixes with --pin: the server on CPU 0, the load on CPU 1."""
    if PIN and shutil.which("taskset") and (os.cpu_count() or 1) >= 2:
        return ["taskset", "-c", "0"], ["taskset", "-c", "1"]
    return [], []


def empty_app(environ, start_response):
    """The floor: a WSGI app that reads the body and answers `{}`, served like opsdiag."""
    environ["wsgi.input"].read()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", "2")])
    return [b"{}"]


def canned_app():
    """opsdiag's app with KnowledgeBase.diagnose looking up its answer, computed at start, for
    each payload of the mix: the HTTP stack around the engine at full cost (parsing,
    validation, envelope, the same answers as JSON, metrics, unmatched errors kept)."""
    from service.schemas import DiagnoseRequestSchema
    from service.web.app import create_app

    app = create_app()
    kb, schema = app.extensions["opsdiag.kb"], DiagnoseRequestSchema()
    key = partial(json.dumps, sort_keys=True, default=str)
    answers = {}
    for body in payload_bodies():
        payload = schema.load(json.loads(body))
        answers[key(payload)] = kb.diagnose(payload)
    kb.diagnose = lambda payload, lang="en": answers[key(payload)]
    return app


EMPTY_APP = "bench.http:empty_app"
CONF = "service/web/gunicorn_conf.py"
BASELINES = (("canned", "bench.http:canned_app()", CONF), ("empty", EMPTY_APP, CONF),
             ("plain_close", EMPTY_APP, "bench/plain_close.py"))


def payload_bodies() -> list[str]:
    """The mix as request bodies: every rule's examples, near misses, unmatched payloads."""
    return [json.dumps(p, ensure_ascii=False, default=str) for items in kb_payloads(kb_rules()).values()
            for p in items]


class Server:
    def __init__(self, workers: int, tmp: Path, app: str = "service.web.wsgi:app", conf: str = CONF,
                 extra_env: dict | None = None):
        self.port = free_port()
        db = f"sqlite:///{tmp / 'bench.db'}"
        env = {**os.environ, "DATABASE_URL": db, "OPSDIAG_BIND": f"127.0.0.1:{self.port}",
               "OPSDIAG_WORKERS": str(workers), **(extra_env or {})}
        self.env = env
        if app != EMPTY_APP:
            subprocess.run([str(BIN / "opsdiag"), "kb", "load", "--database-url", db],
                           cwd=ROOT, env=env, check=True, capture_output=True)
        self.log = open(tmp / f"gunicorn-{self.port}.log", "wb")  # noqa: SIM115 - closed in stop()
        server_cpu, _ = cpus()
        self.proc = subprocess.Popen(
            [*server_cpu, str(BIN / "gunicorn"), "-c", conf, app],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{self.port}"
        ready = "/" if app == EMPTY_APP else "/readyz"
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(self.url + ready, timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not start; see {tmp / 'gunicorn.log'}")
            time.sleep(0.3)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def lua_script(tmp: Path, method: str, path: str, bodies: list[str], pause_ms: int = 0) -> Path:
    quoted = ", ".join(f"[==[{b}]==]" for b in bodies)
    script = tmp / f"{method.lower()}-{pause_ms}.lua"
    script.write_text(LUA % (quoted, pause_ms, method, path))
    return script


def run_wrk(url: str, script: Path, connections: int, seconds: float) -> dict:
    _, load_cpu = cpus()
    out = subprocess.run([*load_cpu, "wrk", "-t1", f"-c{connections}", f"-d{int(seconds)}s", "--timeout", "5s",
                          "-s", str(script), url], capture_output=True, text=True, check=True).stdout
    line = next(line for line in out.splitlines() if line.startswith("RESULT "))
    requests, duration_us, p50, p99, p999, worst, *errors = map(int, line.split()[1:])
    return {"requests": requests, "rps": round(requests / (duration_us / 1e6)),
            "p50_ms": p50 / 1000, "p99_ms": p99 / 1000, "p999_ms": p999 / 1000, "max_ms": worst / 1000,
            "errors": sum(errors), "errors_by_kind": dict(zip(("connect", "read", "write", "status", "timeout"),
                                                             errors, strict=True))}


def run_python(url: str, bodies: list[str] | None, connections: int, seconds: float) -> dict:
    _, load_cpu = cpus()
    args = [*load_cpu, PY, "-m", "bench.loadgen", url, "--connections", str(connections),
            "--seconds", str(seconds)]
    if bodies is not None:
        tmp = Path(tempfile.mkstemp(suffix=".json")[1])
        tmp.write_text(json.dumps(bodies))
        args += ["--bodies", str(tmp)]
    out = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return json.loads(out.splitlines()[-1])


def run(seconds: float, levels: list[int], workers: int, paced_share: float) -> dict:
    bodies = payload_bodies()
    use_wrk = shutil.which("wrk") is not None
    results: dict = {"generator": ("wrk " + _wrk_version() if use_wrk else "bench/loadgen.py (asyncio, no wrk)")
                     + (", pinned: server CPU 0, load CPU 1" if PIN else ""),
                     "server": f"gunicorn {metadata.version('gunicorn')}", "workers": workers, "seconds": seconds,
                     "payloads": len(bodies), "diagnose": {}, "gaps": {},
                     "healthz": {}, "paced": {}, "paced_share": paced_share, **{name: {} for name, *_ in BASELINES}}
    short = min(seconds, 10)
    with tempfile.TemporaryDirectory(prefix="opsdiag-bench-http-") as tmp_name:
        tmp = Path(tmp_name)
        server = Server(workers, tmp)
        try:
            post = lua_script(tmp, "POST", "/diagnose", bodies) if use_wrk else None
            get = lua_script(tmp, "GET", "/healthz", [""]) if use_wrk else None
            for c in levels:  # warm up the worker, then measure
                if c == levels[0]:
                    (run_wrk(server.url, post, c, 3) if use_wrk else run_python(server.url, bodies, c, 3))
                results["diagnose"][c] = (run_wrk(server.url, post, c, seconds) if use_wrk
                                          else run_python(server.url + "/diagnose", bodies, c, seconds))
            if use_wrk and paced_share:
                rate = results["paced_rate"] = round(paced_share * max(r["rps"] for r in results["diagnose"].values()))
                paced = lua_script(tmp, "POST", "/diagnose", bodies, pause_ms=round(32_000 / rate))
                results["paced"][32] = run_wrk(server.url, paced, 32, seconds)
            results["healthz"][8] = (run_wrk(server.url, get, 8, short) if use_wrk
                                     else run_python(server.url + "/healthz", None, 8, short))
        finally:
            server.stop()
        if use_wrk:  # the gap recorder's flush must not be the tail at one connection
            for recorder in ("on", "off"):
                server = Server(workers, tmp, extra_env={"OPSDIAG_GAPS": recorder})
                try:
                    run_wrk(server.url, post, 1, 2)  # warm-up
                    results["gaps"][recorder] = run_wrk(server.url, post, 1, short)
                finally:
                    server.stop()
        for name, app, conf in BASELINES:
            if use_wrk:
                server = Server(workers, tmp, app, conf)
                try:
                    run_wrk(server.url, post, 8, 2)  # warm-up
                    results[name][8] = run_wrk(server.url, post, 8, short)
                finally:
                    server.stop()
    best = max(r["rps"] for r in results["diagnose"].values())
    results["best_rps_per_worker_core"] = round(best / workers)
    results["vs_healthz"] = round(best / results["healthz"][8]["rps"], 3)
    for name in ("canned", "empty"):
        if results[name]:
            results[f"vs_{name}"] = round(best / results[name][8]["rps"], 3)
    results["command"] = command("bench.http", "--seconds", str(int(seconds)), "--connections",
                                 ",".join(map(str, levels)), "--workers", str(workers),
                                 "--paced-share", str(paced_share))
    return results


def _wrk_version() -> str:
    out = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout
    return out.split()[1] if out.startswith("wrk ") else "?"


def _level(table: dict, connections: int) -> dict | None:
    return table.get(connections) or table.get(str(connections))  # int keys, or str once read back from JSON


def targets(result: dict) -> list[tuple[str, str, bool | None]]:
    out = [("HTTP >= 2,000 requests/s per worker core", f"{result['best_rps_per_worker_core']:,}/s",
            result["best_rps_per_worker_core"] >= 2000)]
    at32 = _level(result["diagnose"], 32)
    if at32:
        out.append(("HTTP p99 at 32 connections <= 5 ms (closed loop)", f"{at32['p99_ms']} ms", at32["p99_ms"] <= 5))
    paced = _level(result.get("paced", {}), 32)
    if paced:
        out.append((f"HTTP p99 at 32 connections <= 5 ms (paced: {result['paced_share']:.0%} of the best rate, "
                    f"{result['paced_rate']:,} requests/s, offered)",
                    f"{paced['p99_ms']} ms at {paced['rps']:,}/s", paced["p99_ms"] <= 5))
    gaps = result.get("gaps") or {}
    if gaps.get("on") and gaps.get("off"):
        ratio = round(gaps["on"]["p999_ms"] / max(gaps["off"]["p999_ms"], 1e-3), 2)
        out.append(("/diagnose p99.9 at one connection, gap recorder on <= 1.5x off",
                    f"{gaps['on']['p999_ms']} ms vs {gaps['off']['p999_ms']} ms = {ratio}x", ratio <= 1.5))
    return out


def report(result: dict) -> str:
    lines = [f"load generator: {result['generator']}; {result['server']}, {result['workers']} worker(s); "
             f"{result['payloads']} payloads round-robin; {result['seconds']:.0f} s per level",
             "", "| endpoint | connections | requests/s | p50 ms | p99 ms | p99.9 ms | max ms | errors |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    rows = (("diagnose", "POST /diagnose"),
            ("paced", f"POST /diagnose, paced at {result.get('paced_rate', 0):,}/s offered "
                      f"({result.get('paced_share', 0):.0%} of the best rate above)"),
            ("healthz", "GET /healthz (baseline: Flask + envelope, no work)"),
            ("canned", "POST /diagnose, the engine's answer canned (baseline: all but the engine)"),
            ("empty", "POST to an empty WSGI app (baseline: gunicorn alone)"),
            ("plain_close", "POST to the empty app, connections closed at once (bench/plain_close.py)"))
    for name, path in rows:
        for c, r in result.get(name, {}).items():
            lines.append(f"| {path} | {c} | {r['rps']:,} | {r['p50_ms']} | {r['p99_ms']} | {r['p999_ms']} "
                         f"| {r['max_ms']} | {r['errors']} |")
    lines.append(f"\nbest POST /diagnose rate = {result['vs_healthz']}x the GET /healthz rate"
                 + (f", {result['vs_canned']}x the canned-answer rate" if "vs_canned" in result else "")
                 + (f", {result['vs_empty']}x the empty app's" if "vs_empty" in result else ""))
    if result.get("canned"):
        canned, best = _level(result["canned"], 8), max(r["rps"] for r in result["diagnose"].values())
        lines.append(f"per request: {1e6 / best:.0f} µs in all, of which the engine about "
                     f"{1e6 / best - 1e6 / canned['rps']:.0f} µs and gunicorn alone about "
                     f"{1e6 / _level(result['empty'], 8)['rps']:.0f} µs (differences of the rates above)")
    if result.get("plain_close"):
        wait = 1e6 / _level(result["empty"], 8)["rps"] - 1e6 / _level(result["plain_close"], 8)["rps"]
        lines.append(f"of gunicorn's time, about {wait:.0f} µs a request goes to waiting for the client to close "
                     "(its RFC 9112 closing; bench/plain_close.py)")
    at32 = _level(result["diagnose"], 32)
    if at32:
        lines.append(f"closed loop at 32 connections: mean latency >= 32 / {at32['rps']:,} per s = "
                     f"{32_000 / max(at32['rps'], 1):.1f} ms (Little's law), whatever the service time")
    lines += verdict_lines(targets(result))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--connections", default="1,8,32")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--paced-share", type=float, default=0.6,
                        help="share of the best closed-loop rate the 32 paced connections offer (0: no paced run)")
    parser.add_argument("--pin", action="store_true")
    parser.add_argument("--json")
    args = parser.parse_args()
    global PIN
    PIN = args.pin
    result = run(args.seconds, [int(c) for c in args.connections.split(",")], args.workers, args.paced_share)
    emit(result, report(result))


if __name__ == "__main__":
    main()
