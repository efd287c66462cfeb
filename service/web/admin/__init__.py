"""The admin API (/admin/v1): curators change the knowledge base safely while /diagnose
keeps answering. Every route states the least role it needs (see auth.requires)."""

import logging
import re
import time

from flask import Blueprint, Flask, current_app, g, request
from sqlalchemy.exc import IntegrityError, ProgrammingError, SQLAlchemyError
from werkzeug.exceptions import PreconditionRequired

from rules.kb.curation import Actor, ExamplesBroken, NotFound, PreconditionFailed, Workspace
from rules.kb.loader import RuleSetError
from rules.kb.store import Conflict, CurrentMoved, Store

from ...schemas import DiagnoseRequestSchema
from ..auth import FailureBrake
from ..keys import ensure_bootstrap_key
from ..problems import problem

bp = Blueprint("admin", __name__, url_prefix="/admin/v1")
log = logging.getLogger(__name__)


def init_app(app: Flask) -> None:
    """The admin API needs the rule store; without one (rules read from files) it is not mounted."""
    store = app.extensions["opsdiag.kb"].store
    if store is not None:
        install(app, store)


def install(app: Flask, store: Store) -> None:
    """Mount the admin API over `store`. A store that is down now only makes it answer 503."""
    app.extensions["opsdiag.store"] = store
    app.extensions["opsdiag.workspace"] = Workspace(store, DiagnoseRequestSchema().load)
    app.extensions["opsdiag.auth_brake"] = FailureBrake(app.config.get("AUTH_FAILURE_LIMIT", 10))
    prepared = False

    def prepare_store() -> bool:
        """Create the tables and the bootstrap key: at start, or (store down then) at the first
        authentication once it answers again, so OPSDIAG_BOOTSTRAP_ADMIN_KEY always works."""
        nonlocal prepared
        if prepared:
            return True
        for attempt in (1, 2):  # workers starting together race to create the tables: one wins
            try:
                store.create_schema()
                if app.config.get("BOOTSTRAP_ADMIN_KEY"):
                    ensure_bootstrap_key(store, app.config["BOOTSTRAP_ADMIN_KEY"])
                prepared = True
                return True
            except (IntegrityError, ProgrammingError):
                time.sleep(0.2 * attempt)
            except SQLAlchemyError as exc:
                log.error("rule store unreachable; admin API answers 503 until it is back: %s",
                          exc.__class__.__name__)
                return False
        return False

    prepare_store()
    app.extensions["opsdiag.prepare_store"] = prepare_store
    app.register_blueprint(bp)


def workspace() -> Workspace:
    return current_app.extensions["opsdiag.workspace"]


def actor() -> Actor:
    return Actor(g.api_key.id, request.remote_addr or "")


def if_match() -> str:
    """Writes to an existing rule must say which version of it they change (RFC 9110 13.1.1)."""
    value = request.headers.get("If-Match")
    if not value:
        raise PreconditionRequired("send the rule's ETag in If-Match (read it with GET first)")
    return value


FIELD_PATH = re.compile(r"^([a-z_][\w-]*(?:\.[\w-]+)*):?(?: |$)")


def rule_errors(exc: RuleSetError) -> list[dict]:
    """'when.message: bad regex' and 'examples.match.0 does not match: ...' name their field."""
    params = []
    for error in exc.errors:
        found = FIELD_PATH.match(error.reason)
        params.append({"name": found.group(1) if found else "rule", "reason": error.reason})
    return params


@bp.errorhandler(RuleSetError)
def invalid_rule(exc: RuleSetError):
    params = rule_errors(exc)
    return problem(422, "Invalid rule", "; ".join(p["reason"] for p in params)[:2000],
                   params)


@bp.errorhandler(NotFound)
def not_found(exc: NotFound):
    return problem(404, "Not Found", f"no rule or version {exc.args[0]!s}")


@bp.errorhandler(PreconditionFailed)
def stale(exc: PreconditionFailed):
    response = problem(412, "Precondition Failed",
                       "the rule changed since you read it (or already exists); read it again")
    if exc.args and exc.args[0]:
        response.headers["ETag"] = exc.args[0]
    return response


@bp.errorhandler(Conflict)
def lost_race(exc: Conflict):
    return problem(412, "Precondition Failed", f"rule {exc.args[0]} was changed by someone else meanwhile")


@bp.errorhandler(CurrentMoved)
def current_moved(exc: CurrentMoved):
    return problem(409, "Current version changed",
                   "a rollback or another publish changed the current version while this publish ran; "
                   "nothing was published: look at the versions and publish again")


@bp.errorhandler(ExamplesBroken)
def examples_broken(exc: ExamplesBroken):
    broken = [{"rule_id": p.rule.id, "file": p.rule.file, "reason": p.reason} for p in exc.problems]
    return problem(409, "Examples would break",
                   f"{len(broken)} example(s) would get a different answer; nothing published",
                   extensions={"broken-examples": broken})


@bp.errorhandler(SQLAlchemyError)
def store_down(exc: SQLAlchemyError):
    current_app.logger.error("rule store unavailable: %s", exc.__class__.__name__)
    response = problem(503, "Rule store unavailable",
                       "the admin API needs the rule store, which cannot be reached; /diagnose keeps "
                       "answering from the version it holds")
    response.headers["Retry-After"] = "5"
    return response


from . import access, gaps, rules, versions  # noqa: E402, F401 - routes register on bp
