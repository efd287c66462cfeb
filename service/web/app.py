"""Application factory: wires the settings, the knowledge base and the parts of the web service."""

from pathlib import Path

from flask import Flask, g, request
from werkzeug.utils import import_string

from rules.kb.store import Store
from rules.runtime import KnowledgeBase

from .. import limits, logs
from ..settings import Settings, refuse
from . import envelope, gaps, heap, problems
from .json_encoding import OrjsonProvider
from .keys import chosen_key_problem

# The parts of the web service, registered in this order: the API core, then what builds on
# it (joint debugging, the admin API, the console over both). Each module has init_app(app);
# they are named rather than imported here so that nothing below the console depends on it.
PARTS = (
    "service.web.api",
    "service.debugging.routes",
    "service.web.admin",
    "service.web.console",
)


def check_key_settings(chosen: str) -> None:
    """A bootstrap key that could never authenticate is refused now, not as 'unknown' later."""
    problem = chosen_key_problem(chosen) if chosen else None
    if problem:
        refuse("OPSDIAG_BOOTSTRAP_ADMIN_KEY", problem)


def flask_config(settings: Settings) -> dict:
    """What the request handlers read of the settings, as Flask config (tests override it)."""
    return {
        "DATABASE_URL": settings.database_url,
        "KB_DIR": str(settings.kb_dir),
        "POLL_SECONDS": settings.poll_seconds,
        "MAX_CONTENT_LENGTH": limits.LIMITS.body_bytes,  # the process's (entry points apply theirs)
        "DIAGNOSE_AUTH": settings.diagnose_auth,
        "BOOTSTRAP_ADMIN_KEY": settings.bootstrap_admin_key,
        "AUTH_FAILURE_LIMIT": settings.auth_failure_limit,
        "GAPS": settings.gaps,
        "GAPS_FLUSH_SECONDS": settings.gaps_flush_seconds,
        "GAPS_BUFFER": settings.gaps_buffer,
    }


def _header_fields(environ: dict) -> int:
    """len(request.headers), counted on environ: werkzeug's header view costs more than the
    rest of the request's opening (profiled)."""
    count = sum(1 for key in environ if key.startswith("HTTP_"))
    count -= ("HTTP_CONTENT_TYPE" in environ) + ("HTTP_CONTENT_LENGTH" in environ)
    return count + bool(environ.get("CONTENT_TYPE")) + bool(environ.get("CONTENT_LENGTH"))


def create_app(config: dict | None = None, kb: KnowledgeBase | None = None,
               settings: Settings | None = None) -> Flask:
    """The web service for `settings` (read from the environment when not given)."""
    settings = settings or Settings.from_env()
    app = Flask(__name__)
    app.config.update(flask_config(settings))
    app.config.update(config or {})
    check_key_settings(app.config["BOOTSTRAP_ADMIN_KEY"])
    app.extensions["opsdiag.settings"] = settings
    app.json = OrjsonProvider(app)  # UTF-8, keys in the order they were built

    if kb is None:
        url = app.config["DATABASE_URL"]
        kb = KnowledgeBase(Store(url) if url else None, Path(app.config["KB_DIR"]),
                           app.config["POLL_SECONDS"], after_swap=heap.after_swap)
        kb.start_polling()
    app.extensions["opsdiag.kb"] = kb

    problems.register(app)
    for part in PARTS:
        import_string(part).init_app(app)
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
