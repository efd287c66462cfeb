"""What every request gets and leaves behind: an id, the security headers, a latency
sample and one access-log line.

A WSGI middleware around the Flask app rather than one Flask hook per concern: here the
response headers are a plain list and each request is timed whole. Profiling /healthz
put werkzeug's case-insensitive header updates among its largest costs
(docs/performance.md).
"""

import random
import time
import uuid

from .. import logs
from . import metrics

REQUEST_ID = "opsdiag.request_id"  # environ keys
ROUTE = "opsdiag.route"

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
}
_DEFAULTS = [(name.lower(), name, value) for name, value in SECURITY_HEADERS.items()]


def request_id_of(environ) -> str:
    """The caller's X-Request-ID when it is a sane one, else a new random UUID. An id only
    correlates lines, it guards nothing: Python's PRNG (reseeded in each forked worker)
    serves, without uuid4's system call per request."""
    given = environ.get("HTTP_X_REQUEST_ID", "")
    if 0 < len(given) <= 128 and given.isprintable():
        return given
    return str(uuid.UUID(int=random.getrandbits(128), version=4))


class Envelope:
    """`app.wsgi_app = Envelope(app.wsgi_app)`. The route (the URL rule, never the raw
    path) is left in environ[ROUTE] by the app once it has routed the request."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        request_id = environ[REQUEST_ID] = request_id_of(environ)
        status = 500  # what the caller gets if the app fails before starting the response

        def start(status_line, headers, exc_info=None):
            nonlocal status
            status = int(status_line[:3])
            present = {name.lower() for name, _ in headers}  # a route may set its own (/docs: its CSP)
            headers.extend((name, value) for lower, name, value in _DEFAULTS if lower not in present)
            headers.append(("X-Request-ID", request_id))
            return start_response(status_line, headers, exc_info)

        try:
            return self.app(environ, start)
        finally:
            seconds = time.perf_counter() - started
            method, route = environ.get("REQUEST_METHOD", ""), environ.get(ROUTE)
            metrics.observe(method, route, status, seconds)
            logs.access(method, environ.get("PATH_INFO", ""), route, status, seconds, request_id)
