"""JSON logs: one object per line, for the app, its access log and gunicorn itself.

Every line has `timestamp` (UTC, ISO 8601), `level`, `logger`, `message` and `pid`, plus
`request_id` while a request is being served. The access log (logger `opsdiag.access`,
one line per request) adds `method`, `path` (without the query string), `route`,
`status` and `duration_ms`. No line ever holds a request body or a header value.

Whatever code logs, personal data and secrets never reach a line in clear: the
`RedactingFilter` on every handler masks the message, its arguments, extra fields and
tracebacks with rules/privacy.py, and the JSON formatter masks every field it writes
(so a handler added without the filter is covered too).
"""

import logging
import logging.config
import re
from datetime import UTC, datetime
from functools import lru_cache

import orjson
from flask import Flask, g, has_app_context
from flask.logging import default_handler
from pythonjsonlogger.json import JsonFormatter as _LibraryJsonFormatter

from rules.privacy import redact, redact_text

ACCESS_LOGGER = "opsdiag.access"
access_log = logging.getLogger(ACCESS_LOGGER)

_RECORD_FIELDS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message", "asctime", "taskName"}


# Fields this code fills itself carry nobody's data; numbers neither. Masking them would
# cost more than writing the rest of the access line (measured).
OWN_FIELDS = frozenset({"timestamp", "level", "logger", "pid", "method", "route", "status", "duration_ms"})


# A request id in the UUID form (ours, or a client's) is hex digits and dashes: nobody's data.
# Each is new, so masking it would miss the masking cache on every line (measured: 30 µs).
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def _needs_masking(key: str, value) -> bool:
    if key in OWN_FIELDS or isinstance(value, int | float | bool | None):
        return False
    return not (key == "request_id" and isinstance(value, str) and _UUID.fullmatch(value))


_MASKED = "_opsdiag_masked"  # set on a record once redact_record has masked it


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
    fields = record.__dict__
    for key in fields.keys() - _RECORD_FIELDS:
        if not key.startswith("_") and _needs_masking(key, fields[key]):
            fields[key] = redact(fields[key], key=key)
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = redact_text(record.exc_text)
    if record.stack_info:
        record.stack_info = redact_text(record.stack_info)
    setattr(record, _MASKED, True)


def mask_fields(fields: dict, record: logging.LogRecord, rendered: frozenset = frozenset()) -> None:
    """Mask, in place, the fields of a line a formatter built: all of them, or, when a
    RedactingFilter has masked the record already, only those the formatter `rendered`
    itself from something else than the record's masked attributes."""
    masked = getattr(record, _MASKED, False)
    for key, value in fields.items():
        if (not masked or key in rendered) and _needs_masking(key, value):
            fields[key] = redact(value, key=str(key))


class RedactingFilter(logging.Filter):
    """On a handler: every record it writes is masked first (never drops one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, _MASKED, False):  # access lines come masked (access())
            redact_record(record)
        return True


REDACTING_FILTER = RedactingFilter()


class JsonFormatter(_LibraryJsonFormatter):
    """python-json-logger with opsdiag's field names and the current request's id."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger", "process": "pid"})
        kwargs.setdefault("timestamp", True)
        super().__init__(*args or ("%(levelname)s %(name)s %(message)s %(process)d",), **kwargs)

    # What this formatter renders itself, after any filter ran: the request id from g, the
    # traceback and stack (python-json-logger formats them afresh from exc_info).
    RENDERED = frozenset({"request_id", "exc_info", "stack_info"})

    def add_fields(self, log_data, record, message_dict):
        """...and every field masked, unless a RedactingFilter has masked the record already
        (then only what this renders itself)."""
        super().add_fields(log_data, record, message_dict)
        if "request_id" not in log_data and has_app_context():
            request_id = g.get("request_id")
            if request_id:
                log_data["request_id"] = request_id
        mask_fields(log_data, record, self.RENDERED)


class AccessFormatter(logging.Formatter):
    """The access line, with the same fields JsonFormatter would write, built directly: it
    is written for every request, and python-json-logger's generic merging of record
    fields cost more than the rest of the line (measured)."""

    FIELDS = ("method", "path", "route", "status", "duration_ms", "request_id")

    def format(self, record: logging.LogRecord) -> str:
        line = {"timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(), "level": record.levelname,
                "logger": record.name, "message": record.getMessage(), "pid": record.process}
        for name in self.FIELDS:
            line[name] = getattr(record, name, None)
        mask_fields(line, record)
        return orjson.dumps(line, default=str).decode()


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
        access = {"class": "logging.StreamHandler", "formatter": "access", "stream": "ext://sys.stdout"}
    else:
        access = {"class": "logging.handlers.WatchedFileHandler", "formatter": "access", "filename": target}
    access["filters"] = ["redact"]
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "service.logs.JsonFormatter"}, "access": {"()": "service.logs.AccessFormatter"}},
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
    from .settings import current

    logging.config.dictConfig(logconfig_dict(current().log_level or "warning", "off"))


def init_app(app: Flask) -> None:
    """Masking on every handler the process has now (under gunicorn, logconfig_dict has put
    it there already)."""
    for handler in (default_handler, *logging.getLogger().handlers, *app.logger.handlers):
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(REDACTING_FILTER)


@lru_cache(maxsize=256)
def _access_text(raw: str) -> str:
    """A method or PATH_INFO (latin-1 code points of UTF-8 bytes, as WSGI gives them), decoded
    and masked. They repeat from request to request: each is masked once per worker."""
    return redact_text(raw.encode("latin-1", "replace").decode("utf-8", "replace"))


_PLAIN_SEGMENT = re.compile(r"[a-z][a-z_.-]{0,31}")
UNROUTED_SEGMENT = "{masked}"


def _unrouted_path(path: str) -> str:
    """A path no route knows may carry anything (`/nope/<a token>`): only plain lowercase
    words are kept, every other segment is masked, whatever its shape."""
    return "/".join(s if not s or _PLAIN_SEGMENT.fullmatch(s) else UNROUTED_SEGMENT for s in path.split("/"))


def access(method: str, raw_path: str, route: str | None, status: int, seconds: float, request_id: str) -> None:
    """The access line of one request (service/web/envelope.py calls it once the response is built),
    masked here, field by field, so that the handler's filter has nothing left to do: written
    for every request, it is the one line worth the shortcut (measured, docs/performance.md)."""
    if not access_log.isEnabledFor(logging.INFO):
        return
    method, path = _access_text(method), _access_text(raw_path)
    if route is None:
        path = _unrouted_path(path)
    if _needs_masking("request_id", request_id):
        request_id = redact_text(request_id)
    access_log.info("%s %s %s", method, path, status, extra={
        "method": method, "path": path, "route": route, "status": status,
        "duration_ms": round(seconds * 1000, 3), "request_id": request_id, _MASKED: True})
