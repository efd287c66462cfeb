"""gunicorn settings, each overridable from the environment.

The app is built in each worker (no preload) so that every worker owns its compiled
rules and its store follower thread. That is also what lets prometheus_client's
multiprocess mode work: PROMETHEUS_MULTIPROC_DIR is set in on_starting, before any
worker imports the app (docs/operating.md, "Running it").
"""

import glob
import os
import shutil
import tempfile

from gunicorn.glogging import Logger as _GunicornLogger

from service.logs import logconfig_dict as _logconfig_dict
from service.settings import current

_settings = current()  # read once here; each worker's app reads them again (service/settings.py)
bind = _settings.bind
workers = _settings.workers
worker_class = _settings.worker_class
threads = _settings.threads
timeout = _settings.timeout
graceful_timeout = _settings.graceful_timeout
keepalive = _settings.keepalive
max_requests = _settings.max_requests
limit_request_field_size = 8190
limit_request_fields = _settings.limits.gunicorn_header_fields  # the app answers 431 past OPSDIAG_MAX_HEADER_FIELDS
loglevel = _settings.log_level or "info"
preload_app = False

# Logs: JSON lines (service/logs.py). The app writes the access log, one line per request
# with its request id, to OPSDIAG_ACCESS_LOG (- for stdout, a file path, or off);
# gunicorn's own access log is silenced and its error log is JSON on stderr.
accesslog = None
logconfig_dict = _logconfig_dict(loglevel, _settings.access_log)


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
    current.cache_clear()  # the settings as the server starts, not as they were at import
    path = current().prometheus_multiproc_dir
    if path:
        os.makedirs(path, exist_ok=True)
        for stale in glob.glob(os.path.join(path, "*.db")):  # samples of a previous run
            os.remove(stale)
    else:
        path = tempfile.mkdtemp(prefix="opsdiag-metrics-")
        # for the workers, which read their settings anew (prometheus_client reads it too)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = os.environ[_CREATED_DIR_ENV] = path
        current.cache_clear()
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
