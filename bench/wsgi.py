"""Where the time of a request goes: the WSGI app called in one process, no server.

    python -m bench.wsgi [--json FILE]

The app as gunicorn runs it (service.web.app.create_app over a SQLite store loaded with
kb_content, metrics in prometheus_client's multiprocess mode, the access line formatted
and masked as configured by service/logs.py, written to os.devnull), called with a
WSGI environ for every payload of the mix. Figures: µs per POST /diagnose and per GET
/healthz (best of 5 rounds), KnowledgeBase.diagnose alone over the same mix, and
pyinstrument's split of a POST /diagnose into the parts of the HTTP layer. Under
gunicorn every part costs more (bench.http): the kernel's and gunicorn's work between
requests evicts this code from the CPU caches.
"""

import io
import json
import logging.config
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from .common import BIN, ROOT, SCHEMA, command, emit, rate

# (label, function name, file path ending) of the frames pyinstrument's tree is cut at
PARTS = (
    ("reading the JSON body", "json_payload", "service/web/api/diagnose.py"),
    ("validation (marshmallow)", "load", "marshmallow/schema.py"),
    ("engine (KnowledgeBase.diagnose)", "diagnose", "rules/runtime.py"),
    ("metrics and unmatched samples", "record_diagnosis", "service/web/metrics.py"),
    ("metrics and unmatched samples", "_keep_if_unmatched", "service/web/api/diagnose.py"),
    ("metrics and unmatched samples", "observe", "service/web/metrics.py"),
    ("writing the JSON answer", "jsonify", "flask/json/__init__.py"),
    ("access line", "access", "service/logs.py"),
)
REST = "Flask, werkzeug and the envelope (the rest)"


def environ(body: bytes, path: str, method: str) -> dict:
    """What gunicorn hands the app for a request (the headers wrk sends)."""
    return {"REQUEST_METHOD": method, "PATH_INFO": path, "SCRIPT_NAME": "", "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8080", "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1", "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr, "wsgi.multithread": False, "wsgi.multiprocess": True,
            "wsgi.run_once": False, "wsgi.version": (1, 0), "HTTP_HOST": "127.0.0.1:8080",
            "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(body))}


def split(root, total: float) -> dict[str, float]:
    """Share of `total` spent under the frames of PARTS (outermost match), the rest apart."""
    shares = dict.fromkeys([label for label, *_ in PARTS], 0.0)
    stack = [root]
    while stack:
        frame = stack.pop()
        label = next((label for label, name, path in PARTS
                      if frame.function == name and (frame.file_path or "").endswith(path)), None)
        if label:
            shares[label] += frame.time
        else:
            stack.extend(frame.children)
    shares[REST] = total - sum(shares.values())
    return {label: seconds / total for label, seconds in shares.items()}


def run() -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="opsdiag-bench-wsgi-"))
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(tmp)  # before prometheus_client is imported, as under gunicorn
    db = f"sqlite:///{tmp / 'bench.db'}"
    subprocess.run([str(BIN / "opsdiag"), "kb", "load", "--database-url", db], cwd=ROOT, check=True,
                   capture_output=True)
    from service.logs import ACCESS_LOGGER, logconfig_dict
    from service.web.app import create_app

    from .http import payload_bodies

    logging.config.dictConfig(logconfig_dict("info", "-"))  # the default: stdout, here os.devnull
    for handler in logging.getLogger(ACCESS_LOGGER).handlers:
        handler.setStream(open(os.devnull, "w"))  # noqa: SIM115 - for the life of the process
    app = create_app({"DATABASE_URL": db})
    kb = app.extensions["opsdiag.kb"]
    bodies = [b.encode() for b in payload_bodies()]

    def call(path: str, method: str, body: bytes = b"") -> None:
        answer = app(environ(body, path, method), lambda status, headers, exc_info=None: None)
        b"".join(answer)
        answer.close()

    def diagnose_all():
        for body in bodies:
            call("/diagnose", "POST", body)

    def healthz_all():
        for _ in bodies:
            call("/healthz", "GET")

    payloads = [SCHEMA.load(json.loads(b)) for b in bodies]  # validated once, for the engine alone
    n = len(bodies)
    us = {"POST /diagnose": 1e6 / rate(diagnose_all, n),
          "GET /healthz": 1e6 / rate(healthz_all, n),
          "KnowledgeBase.diagnose alone": 1e6 / rate(lambda: [kb.diagnose(p) for p in payloads], n)}
    assert logging.getLogger(ACCESS_LOGGER).isEnabledFor(logging.INFO)  # the access line is part of it

    from pyinstrument import Profiler

    profiler = Profiler(interval=0.0001)
    profiler.start()
    for _ in range(3):
        diagnose_all()
    session = profiler.stop()
    root = session.root_frame()
    request_frame = _outermost(root, "__call__", "service/web/envelope.py")
    shares = split(request_frame, request_frame.time)
    app.extensions["opsdiag.gaps"].stop()
    kb.stop()
    shutil.rmtree(tmp, ignore_errors=True)
    return {"payloads": n, "us": {k: round(v, 1) for k, v in us.items()},
            "diagnose_split": {k: round(v, 3) for k, v in shares.items()}, "command": command("bench.wsgi")}


def _outermost(root, name: str, path: str):
    stack = [root]
    while stack:
        frame = stack.pop(0)
        if frame.function == name and (frame.file_path or "").endswith(path):
            return frame
        stack.extend(frame.children)
    raise LookupError(f"{name} in {path}: not in the profile")


def report(result: dict) -> str:
    us = result["us"]
    lines = [f"{result['payloads']} payloads; µs per request, best of 5 rounds: POST /diagnose "
             f"{us['POST /diagnose']}, GET /healthz {us['GET /healthz']}; KnowledgeBase.diagnose alone over the "
             f"same mix {us['KnowledgeBase.diagnose alone']}", "",
             "| part of a POST /diagnose (pyinstrument) | share | ≈ µs |", "|---|---:|---:|"]
    for label, share in result["diagnose_split"].items():
        lines.append(f"| {label} | {share:.0%} | {share * us['POST /diagnose']:.0f} |")
    return "\n".join(lines)


def main() -> None:
    result = run()
    emit(result, report(result))


if __name__ == "__main__":
    main()
