"""Application factory: wires configuration, the knowledge base and the blueprints."""

import logging
import os
from pathlib import Path

from flask import Flask, g, request

from rules.kb.loader import DEFAULT_KB_DIR
from rules.kb.store import Store
from rules.runtime import KnowledgeBase

from .. import limits, logs
from ..debugging.routes import bp as debugging_bp
from . import admin, envelope, gaps, heap, problems
from .admin.keys import chosen_key_problem
from .api import check, diagnose, docs, health
from .api.metrics import bp as metrics_bp
from .console import bp as console_bp
from .json_encoding import OrjsonProvider

log = logging.getLogger("opsdiag.settings")
SWITCH = {"on": True, "1": True, "true": True, "off": False, "0": False, "false": False}


class SettingRefused(RuntimeError):
    """A setting the service cannot work with as given: it does not start, and says why."""


def refuse(name: str, why: str):
    """One log line naming the variable and the reason (never its value: it may be a key)."""
    log.critical("%s refused, the service does not start: %s", name, why)
    raise SettingRefused(f"{name}: {why}")


def _switch(name: str, default: str) -> bool:
    raw = os.environ.get(name, default).strip().lower() or default
    if raw not in SWITCH:
        refuse(name, f"{raw!r} is neither on nor off")
    return SWITCH[raw]


def _count(name: str, default: str) -> int:
    raw = os.environ.get(name, default).strip() or default
    if not raw.isdigit() or int(raw) < 1:
        refuse(name, f"{raw!r} is not a whole number of 1 or more")
    return int(raw)


def check_key_settings(config: dict) -> None:
    """A bootstrap key that could never authenticate is refused now, not as 'unknown' later."""
    chosen = config.get("BOOTSTRAP_ADMIN_KEY")
    problem = chosen_key_problem(chosen) if chosen else None
    if problem:
        refuse("OPSDIAG_BOOTSTRAP_ADMIN_KEY", problem)


def settings_from_env() -> dict:
    return {
        "DATABASE_URL": os.environ.get("DATABASE_URL") or "sqlite:///opsdiag.db",
        "KB_DIR": os.environ.get("OPSDIAG_KB_DIR") or str(DEFAULT_KB_DIR),
        "POLL_SECONDS": float(os.environ.get("OPSDIAG_POLL_SECONDS", "0.5")),
        "MAX_CONTENT_LENGTH": limits.LIMITS.body_bytes,  # every limit: service/limits.py
        "DIAGNOSE_AUTH": _switch("OPSDIAG_DIAGNOSE_AUTH", "off"),
        "BOOTSTRAP_ADMIN_KEY": os.environ.get("OPSDIAG_BOOTSTRAP_ADMIN_KEY", ""),
        "AUTH_FAILURE_LIMIT": _count("OPSDIAG_AUTH_FAILURES_PER_MINUTE", "10"),
    }


def _header_fields(environ: dict) -> int:
    """len(request.headers), counted on environ: werkzeug's header view costs more than the
    rest of the request's opening (profiled)."""
    count = sum(1 for key in environ if key.startswith("HTTP_"))
    count -= ("HTTP_CONTENT_TYPE" in environ) + ("HTTP_CONTENT_LENGTH" in environ)
    return count + bool(environ.get("CONTENT_TYPE")) + bool(environ.get("CONTENT_LENGTH"))


def create_app(config: dict | None = None, kb: KnowledgeBase | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update(settings_from_env())
    app.config.update(config or {})
    check_key_settings(app.config)
    app.json = OrjsonProvider(app)  # UTF-8, keys in the order they were built

    if kb is None:
        url = app.config["DATABASE_URL"]
        kb = KnowledgeBase(Store(url) if url else None, Path(app.config["KB_DIR"]),
                           app.config["POLL_SECONDS"], after_swap=heap.after_swap)
        kb.start_polling()
    app.extensions["opsdiag.kb"] = kb

    problems.register(app)
    app.register_blueprint(diagnose.bp)
    app.register_blueprint(check.bp)  # POST /check: a request against its published schema
    app.register_blueprint(health.bp)
    app.register_blueprint(docs.bp)
    app.register_blueprint(metrics_bp)
    app.register_blueprint(console_bp)  # /console: pages over the admin API (service/web/console)
    app.register_blueprint(debugging_bp)  # /debug/report, /debug/compare, /console/debug (service/debugging)
    if kb.store is not None:
        admin.install(app, kb.store)
    gaps.init_app(app, kb.store)  # unmatched errors, buffered and flushed in the background

    @app.before_request
    def open_request():
        """The route for the envelope's metrics and access line; the request id for the views;
        past our own header-field limit (gunicorn lets up to limits.gunicorn_header_fields
        through), a 431."""
        environ = request.environ
        rule = request.url_rule
        environ[envelope.ROUTE] = rule.rule if rule is not None else None
        g.request_id = environ.get(envelope.REQUEST_ID) or envelope.request_id_of(environ)
        count, most = _header_fields(environ), limits.LIMITS.header_fields
        if count > most:
            return problems.problem(431, "Request Header Fields Too Large",
                                    f"{count} header fields; at most {most}",
                                    [{"name": "header fields", "reason": f"more than {most} header fields"}])
        return None

    logs.init_app(app)
    app.wsgi_app = envelope.Envelope(app.wsgi_app)
    return app
