"""JSON logs: one object per line, for the app, its access log and gunicorn itself.

Every line has `timestamp` (UTC, ISO 8601), `level`, `logger`, `message` and `pid`, plus
`request_id` while a request is being served. The access log (logger `opsdiag.access`,
one line per request) adds `method`, `path` (without the query string), `route`,
`status` and `duration_ms`. No line ever holds a request body or a header value.
"""

import logging
import time

from flask import Flask, g, has_app_context, request
from pythonjsonlogger.json import JsonFormatter as _LibraryJsonFormatter

ACCESS_LOGGER = "opsdiag.access"
access_log = logging.getLogger(ACCESS_LOGGER)


class JsonFormatter(_LibraryJsonFormatter):
    """python-json-logger with opsdiag's field names and the current request's id."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger", "process": "pid"})
        kwargs.setdefault("timestamp", True)
        super().__init__(*args or ("%(levelname)s %(name)s %(message)s %(process)d",), **kwargs)

    def add_fields(self, log_data, record, message_dict):
        super().add_fields(log_data, record, message_dict)
        if "request_id" not in log_data and has_app_context():
            request_id = g.get("request_id")
            if request_id:
                log_data["request_id"] = request_id


def logconfig_dict(level: str = "info", access_log_target: str = "-") -> dict:
    """logging.config.dictConfig settings: gunicorn's logs and the app's, all JSON.

    `access_log_target` is `-` (stdout), `off`, or a file path. gunicorn's own access
    log is silenced: the app writes the access line, which knows the request id.
    """
    level = level.upper()
    target = access_log_target.strip()
    if target.lower() in ("", "off", "none", "false", "0"):
        access = {"class": "logging.NullHandler"}
    elif target == "-":
        access = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stdout"}
    else:
        access = {"class": "logging.handlers.WatchedFileHandler", "formatter": "json", "filename": target}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "service.logs.JsonFormatter"}},
        "handlers": {
            "console": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"},
            "access": access,
            "discard": {"class": "logging.NullHandler"},
        },
        "root": {"level": level, "handlers": ["console"]},
        "loggers": {
            "gunicorn.error": {"level": level, "handlers": ["console"], "propagate": False},
            "gunicorn.access": {"level": "INFO", "handlers": ["discard"], "propagate": False},
            ACCESS_LOGGER: {"level": "INFO", "handlers": ["access"], "propagate": False},
        },
    }


def init_app(app: Flask) -> None:
    """One access-log line per request, after the response is built."""

    @app.before_request
    def start_clock():
        g.setdefault("started", time.perf_counter())

    @app.after_request
    def log_access(response):
        started = g.get("started")
        duration_ms = round((time.perf_counter() - started) * 1000, 3) if started else None
        rule = request.url_rule
        access_log.info(
            "%s %s %s", request.method, request.path, response.status_code,
            extra={
                "method": request.method,
                "path": request.path,
                "route": rule.rule if rule is not None else None,
                "status": response.status_code,
                "duration_ms": duration_ms,
                "request_id": g.get("request_id"),
            },
        )
        return response
