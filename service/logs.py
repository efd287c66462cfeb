"""JSON logs: one object per line, for the app, its access log and gunicorn itself.

Every line has `timestamp` (UTC, ISO 8601), `level`, `logger`, `message` and `pid`, plus
`request_id` while a request is being served. The access log (logger `opsdiag.access`,
one line per request) adds `method`, `path` (without the query string), `route`,
`status` and `duration_ms`. No line ever holds a request body or a header value.

Whatever code logs, personal data and secrets never reach a line in clear: the
`RedactingFilter` on every handler masks the message, its arguments, extra fields and
tracebacks with rules/redact.py, and the JSON formatter masks every field it writes
(so a handler added without the filter is covered too).
"""

import logging
import logging.config
import os
import time

from flask import Flask, g, has_app_context, request
from flask.logging import default_handler
from pythonjsonlogger.json import JsonFormatter as _LibraryJsonFormatter

from rules.redact import redact, redact_text

ACCESS_LOGGER = "opsdiag.access"
access_log = logging.getLogger(ACCESS_LOGGER)

_RECORD_FIELDS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message", "asctime", "taskName"}


# Fields this code fills itself carry nobody's data; numbers neither. Masking them would
# cost more than writing the rest of the access line (measured).
OWN_FIELDS = frozenset({"timestamp", "level", "logger", "pid", "method", "route", "status", "duration_ms"})


def _needs_masking(key: str, value) -> bool:
    return key not in OWN_FIELDS and not isinstance(value, int | float | bool | None)


def redact_record(record: logging.LogRecord) -> None:
    """Mask the record in place: message (with its arguments), extra fields, traceback."""
    if isinstance(record.msg, dict):
        record.msg = redact(record.msg)
    else:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string still gets logged, masked
            message = f"{record.msg} {record.args}"
        record.msg, record.args = redact_text(message), None
    for key, value in list(vars(record).items()):
        if key not in _RECORD_FIELDS and not key.startswith("_") and _needs_masking(key, value):
            record.__dict__[key] = redact(value, key=key)
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = redact_text(record.exc_text)
    if record.stack_info:
        record.stack_info = redact_text(record.stack_info)


class RedactingFilter(logging.Filter):
    """On a handler: every record it writes is masked first (never drops one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        return True


REDACTING_FILTER = RedactingFilter()


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

    def process_log_record(self, log_data):
        return {key: redact(value, key=str(key)) if _needs_masking(key, value) else value
                for key, value in log_data.items()}


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
    access["filters"] = ["redact"]
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "service.logs.JsonFormatter"}},
        "filters": {"redact": {"()": "service.logs.RedactingFilter"}},
        "handlers": {
            "console": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr",
                        "filters": ["redact"]},
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


def configure_cli() -> None:
    """The command line (`opsdiag batch`, `kb ...`) logs like the server: JSON on stderr, masked,
    at OPSDIAG_LOG_LEVEL (default warning). Left alone when logging is set up already (tests)."""
    if logging.getLogger().handlers:
        return
    logging.config.dictConfig(logconfig_dict(os.environ.get("OPSDIAG_LOG_LEVEL", "warning"), "off"))


def init_app(app: Flask) -> None:
    """One access-log line per request, after the response is built; masking on every handler
    the process has now (under gunicorn, logconfig_dict has put it there already)."""
    for handler in (default_handler, *logging.getLogger().handlers, *app.logger.handlers):
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(REDACTING_FILTER)

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
