"""/console: server-rendered pages for support staff over the admin API.

Where the key lives: the browser keeps the API key in sessionStorage and console.js
sends it as `Authorization: Bearer <key>` when it fetches a console page; the page is
rendered here by calling the admin API in-process with that same header (api.py). So
the pages are plain server-rendered HTML, the key is never in a URL, a cookie, a form
field or a log line, and a page request carries no ambient credential (no CSRF to guard
against). Without JavaScript a page still renders, asking for a key.
"""

import json
from pathlib import Path
from urllib.parse import quote

from flask import Blueprint, abort, current_app, g, render_template, request, send_from_directory, url_for

from rules import jsontext
from rules.kb.schema import MAP_FIELDS
from rules.model import DOMAINS, PLATFORMS

from ..keys import allows
from . import api, form
from .i18n import LANGUAGES, Texts, chosen_language

bp = Blueprint("console", __name__, url_prefix="/console", template_folder="templates")

STATIC = Path(__file__).resolve().parent / "static"
ASSETS = {"console.css": "text/css; charset=utf-8", "console.js": "text/javascript; charset=utf-8",
          "console.svg": "image/svg+xml"}
CONSOLE_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
               "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
STATUSES = ("published", "new", "modified", "deleted")
GAPS_LIMIT = (1, 100)
GAPS_DEFAULT = 20
FORM_ROUTES = {"console.test_rule": "console.rule", "console.rollback": "console.publish"}  # POST -> its GET page


@bp.after_request
def console_policy(response):
    """Scripts, styles and fetches from this origin only; no inline script or style."""
    response.headers["Content-Security-Policy"] = CONSOLE_CSP
    response.headers["Vary"] = "Authorization, Accept-Language"
    return response


@bp.get("/assets/<name>")
def asset(name: str):
    if name not in ASSETS:
        abort(404)
    response = send_from_directory(STATIC, name)
    response.headers["Content-Type"] = ASSETS[name]
    return response


# ------------------------------------------------------------------ helpers


def page(template: str, status: int = 200, **context):
    lang = g.console_lang
    return render_template(template, t=Texts(lang), lang=lang, languages=LANGUAGES, key=key_state(),
                           link=link, switch=switch_language, pretty=pretty, role=role(),
                           can_edit=may("editor"), can_publish=may("publisher"), **context), status


def role() -> str | None:
    """The key's role as the admin API tells it (GET /admin/v1/whoami), once per page."""
    if "console_role" not in g:
        answer = admin("GET", "/admin/v1/whoami") if api.has_key() and not g.get("console_refused") else None
        g.console_role = answer.body.get("role") if answer is not None and answer.ok else None
    return g.console_role


def may(needed: str) -> bool:
    """Whether to offer a control: the admin API still checks the role on every call."""
    found = role()
    return found is not None and allows(found, needed)


def link(endpoint: str, **params) -> str:
    return url_for(endpoint, lang=g.console_lang, **params)


def switch_language(lang: str) -> str:
    """This page (its GET form after a POST) in another language."""
    endpoint = FORM_ROUTES.get(request.endpoint, request.endpoint)
    args = request.args.to_dict() if request.method == "GET" else {}
    view_args = {k: v for k, v in (request.view_args or {}).items() if k == "rule_id"}
    return url_for(endpoint, **view_args, **{**args, "lang": lang})


def key_state() -> str:
    """absent: no key sent; refused: the admin API did not know it; present otherwise."""
    if not api.has_key():
        return "absent"
    return "refused" if g.get("console_refused") else "present"


def pretty(value) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=False, default=str)


@bp.before_request
def choose_language():
    g.console_lang = chosen_language()


def admin(method: str, path: str, **kwargs) -> api.Answer:
    if path.startswith("/admin/") and "opsdiag.store" not in current_app.extensions:
        return api.Answer(503, {"title": "Service Unavailable", "detail": Texts(g.console_lang).no_admin})
    answer = api.call(method, path, **kwargs)
    if answer.status == 401 and api.has_key():
        g.console_refused = True
    return answer


def failure(answer: api.Answer, t: Texts, **names) -> dict:
    """What the page says when the API refused: a sentence and the fields it named."""
    problem = answer.problem
    if answer.status == 401:
        message = t.key_refused if api.has_key() else t.key_missing
    elif answer.status == 403:
        message = t("needs_role", detail=problem.get("detail", ""))
    elif answer.status == 404 and "rule_id" in names:
        message = t("not_found", rule_id=names["rule_id"])
    else:
        message = t("error", status=answer.status, title=problem.get("title", ""))
        if problem.get("detail"):
            message += f" — {problem['detail']}"
    return {"message": message, "params": problem.get("invalid-params") or []}


def form_payload(t: Texts) -> tuple[dict | None, dict | None, str]:
    """The pasted payload as a dict, or the error to show; and the text to show again."""
    text = request.form.get("payload", "")
    if not text.strip():
        return None, {"message": t.payload_missing, "params": []}, text
    try:
        data = jsontext.loads(text)
    except (ValueError, RecursionError) as exc:
        return None, {"message": t("payload_not_json", error=exc), "params": []}, text
    if not isinstance(data, dict):
        return None, {"message": t.payload_not_object, "params": []}, text
    return data, None, text


def rule_path(rule_id: str, tail: str = "") -> str:
    return f"/admin/v1/rules/{quote(rule_id, safe='')}{tail}"


def conditions(when) -> list[tuple[str, str]]:
    """A rule's `when` as (field, condition) rows: `headers.retry-after`, `gte 500, lt 600`."""
    rows = []
    for source, cond in (when or {}).items() if isinstance(when, dict) else []:
        if source in MAP_FIELDS and isinstance(cond, dict):
            rows.extend((f"{source}.{name}", condition_text(sub)) for name, sub in cond.items())
        else:
            rows.append((source, condition_text(cond)))
    return rows


def condition_text(cond) -> str:
    def show(value):
        return json.dumps(value, ensure_ascii=False, default=str)
    if isinstance(cond, dict):
        return ", ".join(f"{op} {show(value)}" for op, value in cond.items())
    if isinstance(cond, list):
        return f"in {show(cond)}"
    return f"eq {show(cond)}"


def rule_view(state: dict, lang: str) -> dict:
    """What the rule page shows of a rule, its texts in `lang` (English when it has none)."""
    body = state.get("rule") or {}
    then = body.get("then") if isinstance(body.get("then"), dict) else {}
    text = then.get(lang) or {}
    fallback = not text and lang != "en"
    if fallback:
        text = then.get("en") or {}
    examples = body.get("examples") if isinstance(body.get("examples"), dict) else {}
    return {
        "id": state.get("id"), "file": state.get("file"), "status": state.get("status"),
        "deleted": state.get("rule") is None, "body": body, "then": then, "text": text,
        "fallback": fallback, "conditions": conditions(body.get("when")),
        "examples_match": examples.get("match") or [], "examples_no_match": examples.get("no_match") or [],
    }


# ------------------------------------------------------------------ pages


@bp.get("")
def rules():
    t = Texts(g.console_lang)
    filters = {name: request.args.get(name, "") for name in ("platform", "region", "domain", "status", "q")}
    context = {"filters": filters, "platforms": PLATFORMS, "domains": DOMAINS, "statuses": STATUSES,
               "rules": None, "error": None}
    if not api.has_key():
        return page("rules.html", **context)
    answer = admin("GET", "/admin/v1/rules", query=filters)
    if not answer.ok:
        return page("rules.html", answer.status, **{**context, "error": failure(answer, t)})
    return page("rules.html", **{**context, "rules": answer.body["rules"]})


@bp.get("/rules/<rule_id>")
def rule(rule_id: str):
    return rule_page(rule_id, None)


@bp.post("/rules/<rule_id>/test")
def test_rule(rule_id: str):
    return rule_page(rule_id, "test")


def rule_page(rule_id: str, action: str | None):
    t = Texts(g.console_lang)
    context = {"rule_id": rule_id, "rule": None, "error": None, "result": None, "form_error": None, "payload": "",
               "changes": "", "audit": [], "saved": False}
    if action is None and not api.has_key():
        return page("rule.html", **context)
    answer = admin("GET", rule_path(rule_id))
    if not answer.ok:
        return page("rule.html", answer.status, **{**context, "error": failure(answer, t, rule_id=rule_id)})
    context["rule"] = rule_view(answer.body, g.console_lang)
    context["changes"] = form.diff(answer.body.get("published"), answer.body.get("rule"), "published", "working")
    context["audit"] = rule_audit(rule_id)
    context["saved"] = request.args.get("saved") == "1"
    if action is None:
        return page("rule.html", **context)
    payload, form_error, context["payload"] = form_payload(t)
    if form_error:
        return page("rule.html", 422, **{**context, "form_error": form_error})
    tested = admin("POST", rule_path(rule_id, "/test"), body={"payload": payload, "lang": g.console_lang})
    if not tested.ok:
        return page("rule.html", tested.status, **{**context, "form_error": failure(tested, t)})
    return page("rule.html", **{**context, "result": tested.body})


def rule_audit(rule_id: str) -> list[dict]:
    """The rule's audit trail, newest first (GET /admin/v1/audit?rule_id=, role viewer)."""
    answer = admin("GET", "/admin/v1/audit", query={"rule_id": rule_id, "limit": "50"})
    return answer.body.get("entries", []) if answer.ok and isinstance(answer.body, dict) else []


@bp.route("/diagnose", methods=["GET", "POST"])
def diagnose():
    """Any payload, no rule chosen: what POST /diagnose answers, in the chosen language."""
    t = Texts(g.console_lang)
    context = {"result": None, "form_error": None, "payload": ""}
    if request.method == "GET":
        return page("diagnose.html", **context)
    payload, form_error, context["payload"] = form_payload(t)
    if form_error:
        return page("diagnose.html", 422, **{**context, "form_error": form_error})
    answer = admin("POST", "/diagnose", body=payload, lang=g.console_lang)
    if not answer.ok:
        return page("diagnose.html", answer.status, **{**context, "form_error": failure(answer, t)})
    return page("diagnose.html", **{**context, "result": answer.body})


@bp.get("/gaps")
def gaps():
    """GET /admin/v1/gaps: the error shapes no rule answered, most frequent first."""
    t = Texts(g.console_lang)
    raw = request.args.get("limit")
    context = {"gaps": None, "error": None, "limit": GAPS_DEFAULT, "limits": (10, 20, 50, 100)}
    try:
        limit = int(raw) if raw is not None else GAPS_DEFAULT  # `limit=` is no number either
    except ValueError:
        limit = 0
    if not GAPS_LIMIT[0] <= limit <= GAPS_LIMIT[1]:
        error = {"message": t("error", status=422, title="limit"), "params": [
            {"name": "limit", "reason": f"an integer from {GAPS_LIMIT[0]} to {GAPS_LIMIT[1]}"}]}
        return page("gaps.html", 422, **{**context, "error": error})
    context["limit"] = limit
    if not api.has_key():
        return page("gaps.html", **context)
    answer = admin("GET", "/admin/v1/gaps", query={"limit": str(limit)})
    if answer.status == 404:  # the route is not there (yet): nothing recorded to show
        return page("gaps.html", **{**context, "gaps": []})
    if not answer.ok:
        return page("gaps.html", answer.status, **{**context, "error": failure(answer, t)})
    body = answer.body if isinstance(answer.body, dict) else {}
    return page("gaps.html", **{**context, "gaps": body.get("gaps") or []})
