"""/console pages that change rules, each a call of the admin API with the browser's key:
the editor (new, from a copy, from a gap's draft; check, examples, test, save with the
rule's ETag), and publishing and rollback.

The admin API decides everything: validation (POST /admin/v1/rules/{id}/check, whose
error names mark the inputs), roles (a control is offered only to a role that may use
it, and the API checks again), and concurrency (a save sends the ETag the editor was
opened with; a 412 shows the other editor's version and the difference, never an
overwrite, and only saving again after that replaces it).
"""

import json
import re

from flask import g, redirect, request
from werkzeug.datastructures import MultiDict

from rules.kb.loader import dump_yaml, load_yaml
from rules.model import DOMAINS, PLATFORMS
from rules.taxonomy import OWNERS, categories

from . import api, form
from .i18n import Texts
from .views import admin, bp, failure, form_payload, link, may, page, rule_path

ACTIONS = ("check", "examples", "test", "save")
EXAMPLE_ERROR = re.compile(r"^examples\.(match|no_match)\.(\d+)")


def choices() -> dict:
    return {"platforms": PLATFORMS, "domains": DOMAINS, "owners": OWNERS,
            "categories": sorted(c for c in categories() if c != "unknown"), "langs": form.LANGS}


def refused(t: Texts, needed: str, template: str = "editor.html", **context):
    """The page for a key that may not do this (none, refused, too small a role): why, no control."""
    if not api.has_key() or g.get("console_refused"):
        error = {"message": t.key_refused if api.has_key() else t.key_missing, "params": []}
        return page(template, 401, **{**context, "error": error, "editor": None})
    error = {"message": t("needs_role", detail=t(f"role_needed_{needed}")), "params": []}
    return page(template, 403, **{**context, "error": error, "editor": None})


# ------------------------------------------------------------------ editor


@bp.get("/rules/new")
def new_rule():
    """A blank rule, or `?from=<id>`: a copy of that rule under a new id."""
    t = Texts(g.console_lang)
    if not api.has_key():
        return page("editor.html", editor=None, error=None)
    if not may("editor"):
        return refused(t, "editor")
    body = json.loads(json.dumps(form.BLANK))
    source = request.args.get("from", "")
    if source:
        answer = admin("GET", rule_path(source))
        if not answer.ok:
            return page("editor.html", answer.status, editor=None, error=failure(answer, t, rule_id=source))
        body = answer.body.get("rule") or body
        body = {**body, "id": f"{body.get('id', source)}_copy"}
    return editor_page(t, "new", None, body, "", None)


@bp.post("/rules/new")
def create_rule():
    """The editor's actions on a new rule; `do=draft` opens a gap's draft rule in it."""
    t = Texts(g.console_lang)
    if not may("editor"):
        return refused(t, "editor")
    if request.form.get("do") == "draft":
        body, errors = draft_body(request.form.get("draft", ""))
        return editor_page(t, "new", None, body, "", None, errors=errors)
    return act(t, "new", None, None)


@bp.get("/rules/<rule_id>/edit")
def edit_rule(rule_id: str):
    t = Texts(g.console_lang)
    if not api.has_key():
        return page("editor.html", editor=None, error=None)
    if not may("editor"):
        return refused(t, "editor")
    answer = admin("GET", rule_path(rule_id))
    if not answer.ok:
        return page("editor.html", answer.status, editor=None, error=failure(answer, t, rule_id=rule_id))
    body = answer.body.get("rule")
    if body is None:  # deleted in the drafts: edit it back from what is published
        body = answer.body.get("published") or form.BLANK
    return editor_page(t, "edit", rule_id, body, answer.body["etag"], answer.body.get("published"))


@bp.post("/rules/<rule_id>/edit")
def save_rule(rule_id: str):
    t = Texts(g.console_lang)
    if not may("editor"):
        return refused(t, "editor")
    answer = admin("GET", rule_path(rule_id))
    if not answer.ok:
        return page("editor.html", answer.status, editor=None, error=failure(answer, t, rule_id=rule_id))
    return act(t, "edit", rule_id, answer.body.get("published"))


def draft_body(text: str) -> tuple[dict, list[dict]]:
    """A gap's draft rule (YAML with TODOs) as the editor's starting point."""
    try:
        body = load_yaml(text)
    except Exception as exc:  # noqa: BLE001 - any unreadable draft is reported, not raised
        return json.loads(json.dumps(form.BLANK)), [{"name": "draft", "reason": f"not valid YAML: {exc}"}]
    if not isinstance(body, dict) or form.bounded(body):
        return json.loads(json.dumps(form.BLANK)), [{"name": "draft", "reason": "not a rule"}]
    return body, []


def act(t: Texts, mode: str, rule_id: str | None, published: dict | None):
    """check / examples / test / save of the rule the form describes."""
    submitted = request.form
    do, _, example = submitted.get("do", "check").partition(":")  # test:match.0 tries that example
    if do not in ACTIONS:
        do = "check"
    body, errors = form.body_of(submitted)
    etag = submitted.get("etag", "")
    context: dict = {"payload": submitted.get("payload", "")}
    if not body["id"]:
        errors.append({"name": "id", "reason": "the rule needs an id, like platform.domain.name"})
    if errors:
        return editor_page(t, mode, rule_id, body, etag, published, status=422, errors=errors, form_values=submitted,
                           **context)
    if do == "save":
        return save(t, mode, rule_id, body, etag, published, submitted)
    check = admin("POST", rule_path(body["id"], "/check"), body=body)
    context["check"] = check_result(check, t)
    if do == "test":
        context.update(trial(t, body, example))
    return editor_page(t, mode, rule_id, body, etag, published, form_values=submitted, **context)


def check_result(answer: api.Answer, t: Texts) -> dict:
    """What the check said: errors (the API's names and reasons), warnings, whether examples ran."""
    if answer.ok:
        return {"ok": True, "errors": [], "warnings": answer.body.get("warnings", []), "examples_ran": True}
    if answer.status != 422:
        return {"ok": False, "errors": [], "warnings": [], "examples_ran": False, "failure": failure(answer, t)}
    params = answer.problem.get("invalid-params") or []
    ran = any(EXAMPLE_ERROR.match(p.get("reason", "")) for p in params) or \
        all(p.get("reason", "").startswith("doc_url") for p in params)
    return {"ok": False, "errors": params, "warnings": [], "examples_ran": ran}


def trial(t: Texts, body: dict, chosen: str) -> dict:
    """The unsaved rule against the pasted payload, or against one of its examples."""
    if chosen:
        kind, _, n = chosen.partition(".")
        found = [ex for k, i, ex in form.examples(body) if k == kind and str(i) == n]
        if not found:
            return {"form_error": {"message": t.payload_missing, "params": []}}
        payload, text = found[0], json.dumps(found[0], ensure_ascii=False, indent=2)
    else:
        payload, form_error, text = form_payload(t)
        if form_error:
            return {"form_error": form_error, "payload": text}
    tested = admin("POST", rule_path(body["id"], "/test"),
                   body={"payload": payload, "lang": g.console_lang, "rule": body})
    if not tested.ok:
        return {"form_error": failure(tested, t), "payload": text}
    return {"result": tested.body, "payload": text}


def save(t: Texts, mode: str, rule_id: str | None, body: dict, etag: str, published: dict | None,
         submitted: MultiDict):
    """POST (new) or PUT with If-Match (edit); on 412, the other editor's version beside ours."""
    if mode == "new":
        answer = admin("POST", "/admin/v1/rules", body=body)
    else:
        answer = admin("PUT", rule_path(rule_id or body["id"]), body=body, headers={"If-Match": etag})
    if answer.ok:
        return redirect(link("console.rule", rule_id=body["id"], saved="1"), 303)
    context = {"payload": submitted.get("payload", ""), "form_values": submitted}
    if answer.status == 412:
        theirs = admin("GET", rule_path(body["id"]))
        if theirs.ok:
            context["conflict"] = conflict(body, theirs.body, mode)
            if mode == "edit":
                etag = theirs.body["etag"]  # saving again now replaces their version, knowingly
    elif answer.status == 422:
        context["check"] = check_result(answer, t)
    else:
        context["save_error"] = failure(answer, t)
    return editor_page(t, mode, rule_id, body, etag, published, status=answer.status, **context)


def conflict(mine: dict, state: dict, mode: str) -> dict:
    """Who changed the rule meanwhile, their version, and how ours differs from it."""
    last = admin("GET", "/admin/v1/audit", query={"rule_id": mine["id"], "limit": "1"})
    entries = last.body.get("entries", []) if last.ok else []
    theirs = state.get("rule")
    return {"exists": mode == "new", "theirs": dump_yaml(theirs) if theirs else "",
            "diff": form.diff(theirs, mine, "theirs", "mine"), "by": entries[0] if entries else None}


def invalid_fields(check: dict | None) -> set[str]:
    """Every field an error names, and the fields holding it: `then.en.title` marks the
    input of that name; `examples.match.0` marks `examples`."""
    names = set()
    for p in (check or {}).get("errors", []):
        parts = str(p.get("name", "")).split(".")
        names.update(".".join(parts[:n]) for n in range(1, len(parts) + 1))
    return names


def editor_page(t: Texts, mode: str, rule_id: str | None, body: dict, etag: str, published: dict | None,
                status: int = 200, errors: list | None = None, form_values: MultiDict | None = None, **context):
    """The editor: the form, its YAML view, the check, the examples, the diff, a trial."""
    check = context.pop("check", None)
    if errors:
        check = {"ok": False, "errors": errors, "warnings": [], "examples_ran": False}
    values = form.fields_of(body)
    if form_values is not None:  # show what was typed, as typed (a YAML error stays visible)
        values.update({k: form_values.get(k, "") for k in values if k != "platforms"})
        values["platforms"] = form_values.getlist("platforms")
    failed = {}
    for p in (check or {}).get("errors", []):
        found = EXAMPLE_ERROR.match(p.get("reason", ""))
        if found:
            failed[f"{found.group(1)}.{found.group(2)}"] = p["reason"]
    ran = bool(check and check.get("examples_ran"))
    listed = [{"kind": kind, "n": n, "payload": ex, "ran": ran, "failed": failed.get(f"{kind}.{n}")}
              for kind, n, ex in form.examples(body)]
    action = link("console.create_rule") if mode == "new" else link("console.save_rule", rule_id=rule_id)
    editor = {"mode": mode, "rule_id": rule_id, "fields": values, "base": json.dumps(body, ensure_ascii=False),
              "etag": etag, "action": action, "yaml": dump_yaml(body),
              "diff": form.diff(published, body, "published", "this edit"), "published": published is not None,
              "check": check, "examples": listed, "invalid": invalid_fields(check)}
    defaults = {"result": None, "form_error": None, "payload": "", "conflict": None, "save_error": None,
                "error": None}
    return page("editor.html", status, editor=editor, **choices(), **{**defaults, **context})


# ------------------------------------------------------------------ publish, rollback


def versions_context(t: Texts) -> dict:
    context: dict = {"versions": None, "current": None, "drafts": [], "error": None, "published": None,
                     "broken": None, "rolled_back": None, "note": ""}
    if not api.has_key():
        return context
    versions = admin("GET", "/admin/v1/versions")
    if not versions.ok:
        return {**context, "error": failure(versions, t), "status": versions.status}
    rules = admin("GET", "/admin/v1/rules")
    drafts = [r for r in (rules.body.get("rules", []) if rules.ok else []) if r["status"] != "published"]
    return {**context, "versions": list(reversed(versions.body["versions"])), "current": versions.body["current"],
            "drafts": drafts}


def without_status(context: dict) -> dict:
    return {k: v for k, v in context.items() if k != "status"}


@bp.get("/publish")
def publish():
    """The drafts waiting, the publish form, and every version with its rollback."""
    t = Texts(g.console_lang)
    context = versions_context(t)
    return page("publish.html", context.pop("status", 200), **context)


@bp.post("/publish")
def publish_drafts():
    t = Texts(g.console_lang)
    if not may("publisher"):
        return refused(t, "publisher", "publish.html", **without_status(versions_context(t)))
    note = request.form.get("note", "")
    answer = admin("POST", "/admin/v1/publish", body={"note": note})
    context = without_status(versions_context(t))
    if answer.ok:
        return page("publish.html", **{**context, "published": answer.body})
    broken = answer.problem.get("broken-examples") if answer.status == 409 else None
    error = failure(answer, t)
    return page("publish.html", answer.status, **{**context, "error": error, "broken": broken, "note": note})


@bp.post("/rollback/<int(max=2147483647):v>")
def rollback(v: int):
    t = Texts(g.console_lang)
    if not may("publisher"):
        return refused(t, "publisher", "publish.html", **without_status(versions_context(t)))
    answer = admin("POST", f"/admin/v1/rollback/{v}")
    context = without_status(versions_context(t))
    if not answer.ok:
        return page("publish.html", answer.status, **{**context, "error": failure(answer, t)})
    return page("publish.html", **{**context, "rolled_back": v})
