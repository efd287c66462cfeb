"""3. HTTP: gunicorn with the production config, loaded from a second process.

    python -m bench.http [--seconds 20] [--connections 1,8,32] [--workers 1] [--pin] [--json FILE]

gunicorn runs `service/gunicorn_conf.py` as shipped (sync workers, access log on),
with only the bind address, the worker count and the database chosen here: a fresh
SQLite store loaded with kb_content by `opsdiag kb load`, as in production. One
worker by default, so requests/s are per worker core (the load generator takes the
other core); --pin puts the worker on CPU 0 and the generator on CPU 1, which only
helps on a machine nobody else uses. The load comes from wrk (Debian's package) with a
Lua script that posts the payload mix round-robin and reports p50/p99/p99.9 and the
errors; without wrk a small asyncio client (bench/loadgen.py) in its own process
does the same. The baseline is GET /healthz on the same server, same generator.
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
from pathlib import Path

from .common import PY, ROOT, command, emit, kb_payloads, kb_rules, verdict

LUA = r"""
local bodies = {%s}
local n = 0
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


class Server:
    def __init__(self, workers: int, tmp: Path):
        self.port = free_port()
        db = f"sqlite:///{tmp / 'bench.db'}"
        env = {**os.environ, "DATABASE_URL": db, "OPSDIAG_BIND": f"127.0.0.1:{self.port}",
               "OPSDIAG_WORKERS": str(workers)}
        self.env = env
        subprocess.run([str(ROOT / ".venv/bin/opsdiag"), "kb", "load", "--database-url", db],
                       cwd=ROOT, env=env, check=True, capture_output=True)
        self.log = open(tmp / "gunicorn.log", "wb")  # noqa: SIM115 - closed in stop()
        server_cpu, _ = cpus()
        self.proc = subprocess.Popen(
            [*server_cpu, str(ROOT / ".venv/bin/gunicorn"), "-c", "service/gunicorn_conf.py", "service.wsgi:app"],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(self.url + "/readyz", timeout=2) as answer:
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


def lua_script(tmp: Path, method: str, path: str, bodies: list[str]) -> Path:
    quoted = ", ".join(f"[==[{b}]==]" for b in bodies)
    script = tmp / f"{method.lower()}.lua"
    script.write_text(LUA % (quoted, method, path))
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


def run(seconds: float, levels: list[int], workers: int) -> dict:
    mix = [p for items in kb_payloads(kb_rules()).values() for p in items]
    bodies = [json.dumps(p, ensure_ascii=False, default=str) for p in mix]
    use_wrk = shutil.which("wrk") is not None
    results: dict = {"generator": ("wrk " + _wrk_version() if use_wrk else "bench/loadgen.py (asyncio, no wrk)")
                     + (", pinned: server CPU 0, load CPU 1" if PIN else ""),
                     "workers": workers, "seconds": seconds, "payloads": len(bodies), "diagnose": {},
                     "healthz": {}}
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
            for c in (8,):
                results["healthz"][c] = (run_wrk(server.url, get, c, min(seconds, 10)) if use_wrk
                                         else run_python(server.url + "/healthz", None, c, min(seconds, 10)))
        finally:
            server.stop()
    best = max(r["rps"] for r in results["diagnose"].values())
    results["best_rps_per_worker_core"] = round(best / workers)
    results["vs_healthz"] = round(best / results["healthz"][8]["rps"], 3)
    results["command"] = command("bench.http", "--seconds", str(int(seconds)), "--connections",
                                 ",".join(map(str, levels)), "--workers", str(workers))
    return results


def _wrk_version() -> str:
    out = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout
    return out.split()[1] if out.startswith("wrk ") else "?"


def targets(result: dict) -> list[tuple[str, str, bool | None]]:
    out = [("HTTP >= 2,000 requests/s per worker core", f"{result['best_rps_per_worker_core']:,}/s",
            result["best_rps_per_worker_core"] >= 2000)]
    at32 = result["diagnose"].get(32) or result["diagnose"].get("32")
    if at32:
        out.append(("HTTP p99 at 32 connections <= 5 ms", f"{at32['p99_ms']} ms", at32["p99_ms"] <= 5))
    return out


def report(result: dict) -> str:
    lines = [f"load generator: {result['generator']}; {result['workers']} gunicorn worker(s); "
             f"{result['payloads']} payloads round-robin; {result['seconds']:.0f} s per level",
             "", "| endpoint | connections | requests/s | p50 ms | p99 ms | p99.9 ms | max ms | errors |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, path in (("diagnose", "POST /diagnose"), ("healthz", "GET /healthz (baseline)")):
        for c, r in result[name].items():
            lines.append(f"| {path} | {c} | {r['rps']:,} | {r['p50_ms']} | {r['p99_ms']} | {r['p999_ms']} "
                         f"| {r['max_ms']} | {r['errors']} |")
    lines.append(f"\nbest POST /diagnose rate = {result['vs_healthz']}x the GET /healthz rate "
                 "(what gunicorn + Flask cost with no work)")
    for name, figure, ok in targets(result):
        lines.append(f"{verdict(ok)}  {name}: {figure}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--connections", default="1,8,32")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--pin", action="store_true")
    parser.add_argument("--json")
    args = parser.parse_args()
    global PIN
    PIN = args.pin
    result = run(args.seconds, [int(c) for c in args.connections.split(",")], args.workers)
    print(result["command"])
    print(report(result))
    emit(result)


if __name__ == "__main__":
    main()
