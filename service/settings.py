"""Every setting of opsdiag, read from the environment in this module only, once per process.

`Settings.from_env()` builds one frozen value; the entry points build it once - the app
factory (service/web/app.py), gunicorn's configuration, the command line - and pass it
down. A setting the service cannot work with is refused at start, naming the variable
(never its value: it may be a key). The variables are listed in docs/operating.md, and
tests/unit/service/test_deploy.py holds that list to the names read here.
"""

import logging
import multiprocessing
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from rules import DEFAULT_KB_DIR

from . import limits
from .limits import Limits

log = logging.getLogger("opsdiag.settings")
SWITCH = {"on": True, "1": True, "true": True, "yes": True, "off": False, "0": False, "false": False, "no": False}
# The checkout's contract; an installed (non-editable) copy is told where it is (the image does).
DEFAULT_OPENAPI = Path(__file__).resolve().parent.parent / "openapi.yaml"


class SettingRefused(RuntimeError):
    """A setting the service cannot work with as given: it does not start, and says why."""


def refuse(name: str, why: str):
    """One log line naming the variable and the reason (never its value: it may be a key)."""
    log.critical("%s refused, the service does not start: %s", name, why)
    raise SettingRefused(f"{name}: {why}")


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///opsdiag.db"
    kb_dir: Path = DEFAULT_KB_DIR  # rules and request schemas (kb_content/)
    openapi_path: Path = DEFAULT_OPENAPI
    poll_seconds: float = 0.5  # how often a worker looks for a newly published rule version
    diagnose_auth: bool = False  # /diagnose and /check ask for a client key
    bootstrap_admin_key: str = field(default="", repr=False)
    auth_failure_limit: int = 10  # failed authentications per minute and address
    gaps: bool = True  # keep the errors no rule explained
    gaps_flush_seconds: float = 5.0
    gaps_buffer: int = 1000
    log_level: str | None = None  # None: each entry point's own default
    access_log: str = "-"
    prometheus_multiproc_dir: str | None = None
    limits: Limits = Limits()
    # gunicorn (service/web/gunicorn_conf.py)
    bind: str = "127.0.0.1:8080"
    workers: int = field(default_factory=multiprocessing.cpu_count)
    worker_class: str = "sync"
    threads: int = 1
    timeout: int = 30
    graceful_timeout: int = 20
    keepalive: int = 5
    max_requests: int = 0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> "Settings":
        return cls(
            database_url=environ.get("DATABASE_URL") or cls.database_url,
            kb_dir=Path(environ.get("OPSDIAG_KB_DIR") or DEFAULT_KB_DIR),
            openapi_path=Path(environ.get("OPSDIAG_OPENAPI") or DEFAULT_OPENAPI),
            poll_seconds=_number(environ, "OPSDIAG_POLL_SECONDS", 0.5, float),
            diagnose_auth=_switch(environ, "OPSDIAG_DIAGNOSE_AUTH", False),
            bootstrap_admin_key=environ.get("OPSDIAG_BOOTSTRAP_ADMIN_KEY", ""),
            auth_failure_limit=_number(environ, "OPSDIAG_AUTH_FAILURES_PER_MINUTE", 10, int, least=1),
            gaps=_switch(environ, "OPSDIAG_GAPS", True),
            gaps_flush_seconds=_number(environ, "OPSDIAG_GAPS_FLUSH_SECONDS", 5.0, float),
            gaps_buffer=_number(environ, "OPSDIAG_GAPS_BUFFER", 1000, int, least=1),
            log_level=environ.get("OPSDIAG_LOG_LEVEL") or None,
            access_log=environ.get("OPSDIAG_ACCESS_LOG", "-"),
            prometheus_multiproc_dir=environ.get("PROMETHEUS_MULTIPROC_DIR") or None,
            limits=read_limits(environ),
            bind=environ.get("OPSDIAG_BIND", "127.0.0.1:8080"),
            workers=_number(environ, "OPSDIAG_WORKERS", multiprocessing.cpu_count(), int, least=1),
            worker_class=environ.get("OPSDIAG_WORKER_CLASS", "sync"),
            threads=_number(environ, "OPSDIAG_THREADS", 1, int, least=1),
            timeout=_number(environ, "OPSDIAG_TIMEOUT", 30, int),
            graceful_timeout=_number(environ, "OPSDIAG_GRACEFUL_TIMEOUT", 20, int),
            keepalive=_number(environ, "OPSDIAG_KEEPALIVE", 5, int),
            max_requests=_number(environ, "OPSDIAG_MAX_REQUESTS", 0, int),
        )

    def apply(self) -> "Settings":
        """Make these the process's limits (read where payloads are checked: service/limits.py)."""
        limits.LIMITS = self.limits
        return self


@cache
def current() -> Settings:
    """The process's settings, for the code that starts before anything can pass them
    (gunicorn's configuration, the metrics registry at import)."""
    return Settings.from_env().apply()


def read_limits(environ: Mapping[str, str] = os.environ) -> Limits:
    """The size limits, each from its variable; unset or empty keeps the default."""
    read = {  # field: variable
        "body_bytes": "OPSDIAG_MAX_BODY_BYTES",
        "header_fields": "OPSDIAG_MAX_HEADER_FIELDS",
        "json_depth": "OPSDIAG_MAX_JSON_DEPTH",
        "string_chars": "OPSDIAG_MAX_STRING_CHARS",
        "payload_headers": "OPSDIAG_MAX_PAYLOAD_HEADERS",
        "batch_bytes": "OPSDIAG_MAX_BATCH_BYTES",
        "import_bytes": "OPSDIAG_MAX_IMPORT_BYTES",
        "import_unpacked_bytes": "OPSDIAG_MAX_IMPORT_UNPACKED_BYTES",
    }
    default = Limits()
    return Limits(**{**vars(default), **{f: _positive(name, environ.get(name), getattr(default, f))
                                         for f, name in read.items()}})


def _positive(name: str, raw: str | None, default: int) -> int:
    """The value `raw` of variable `name`, or `default` when it is unset or empty."""
    raw = (raw or "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, not {raw!r}") from None
    if value < 1:
        raise ValueError(f"{name} must be at least 1, not {value}")
    return value


def _switch(environ: Mapping[str, str], name: str, default: bool) -> bool:
    raw = (environ.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw not in SWITCH:
        refuse(name, f"{raw!r} is neither on nor off")
    return SWITCH[raw]


def _number(environ: Mapping[str, str], name: str, default, kind, least: float | None = None):
    raw = (environ.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        value = None
    if value is None or (least is not None and value < least):
        refuse(name, f"{raw!r} is not a {'whole ' if kind is int else ''}number"
                     + (f" of {least} or more" if least is not None else ""))
    return value
