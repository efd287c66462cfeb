"""gunicorn settings, each overridable from the environment.

The app is built in each worker (no preload) so that every worker owns its compiled
rules and its store follower thread. That is also what lets prometheus_client's
multiprocess mode work: PROMETHEUS_MULTIPROC_DIR is set in on_starting, before any
worker imports the app (docs/operating.md, "Running it").
"""

import glob
import multiprocessing
import os
import shutil
import tempfile

from gunicorn.glogging import Logger as _GunicornLogger

from service.limits import LIMITS as _LIMITS
from service.logs import logconfig_dict as _logconfig_dict

bind = os.environ.get("OPSDIAG_BIND", "127.0.0.1:8080")
workers = int(os.environ.get("OPSDIAG_WORKERS", str(multiprocessing.cpu_count())))
worker_class = os.environ.get("OPSDIAG_WORKER_CLASS", "sync")
threads = int(os.environ.get("OPSDIAG_THREADS", "1"))
timeout = int(os.environ.get("OPSDIAG_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("OPSDIAG_GRACEFUL_TIMEOUT", "20"))
keepalive = int(os.environ.get("OPSDIAG_KEEPALIVE", "5"))
max_requests = int(os.environ.get("OPSDIAG_MAX_REQUESTS", "0"))
limit_request_field_size = 8190
limit_request_fields = _LIMITS.gunicorn_header_fields  # the app answers 431 past OPSDIAG_MAX_HEADER_FIELDS
loglevel = os.environ.get("OPSDIAG_LOG_LEVEL", "info")
preload_app = False

# Logs: JSON lines (service/logs.py). The app writes the access log, one line per request
# with its request id, to OPSDIAG_ACCESS_LOG (- for stdout, a file path, or off);
# gunicorn's own access log is silenced and its error log is JSON on stderr.
accesslog = None
logconfig_dict = _logconfig_dict(loglevel, os.environ.get("OPSDIAG_ACCESS_LOG", "-"))


class Logger(_GunicornLogger):
    """gunicorn's logger without its access line, which it would build for every request only
    to discard it (a logconfig_dict turns it on; profiled at ~2% of a /diagnose)."""

    def access(self, resp, req, environ, request_time):
        return None


logger_class = Logger

# Metrics: each worker writes its samples to PROMETHEUS_MULTIPROC_DIR and /metrics adds
# them up. When the variable is unset, a fresh directory is made and removed at exit.
_CREATED_DIR_ENV = "OPSDIAG_CREATED_PROMETHEUS_DIR"


def on_starting(server):
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if path:
        os.makedirs(path, exist_ok=True)
        for stale in glob.glob(os.path.join(path, "*.db")):  # samples of a previous run
            os.remove(stale)
    else:
        path = tempfile.mkdtemp(prefix="opsdiag-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = os.environ[_CREATED_DIR_ENV] = path
    server.log.info("metrics of all workers are gathered in %s", path)


def post_worker_init(worker):
    from service.web import heap

    heap.freeze()  # the app is loaded: keep full GC passes off the requests (service/web/heap.py)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    created = os.environ.get(_CREATED_DIR_ENV)
    if created and created == os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        shutil.rmtree(created, ignore_errors=True)
