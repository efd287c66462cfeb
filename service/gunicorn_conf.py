"""gunicorn settings, each overridable from the environment.

The app is built in each worker (no preload) so that every worker owns its compiled
rules and its store follower thread.
"""

import multiprocessing
import os

bind = os.environ.get("OPSDIAG_BIND", "127.0.0.1:8080")
workers = int(os.environ.get("OPSDIAG_WORKERS", str(multiprocessing.cpu_count())))
worker_class = os.environ.get("OPSDIAG_WORKER_CLASS", "sync")
threads = int(os.environ.get("OPSDIAG_THREADS", "1"))
timeout = int(os.environ.get("OPSDIAG_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("OPSDIAG_GRACEFUL_TIMEOUT", "20"))
keepalive = int(os.environ.get("OPSDIAG_KEEPALIVE", "5"))
max_requests = int(os.environ.get("OPSDIAG_MAX_REQUESTS", "0"))
limit_request_field_size = 8190
limit_request_fields = 100
accesslog = os.environ.get("OPSDIAG_ACCESS_LOG", "-")
loglevel = os.environ.get("OPSDIAG_LOG_LEVEL", "info")
preload_app = False
