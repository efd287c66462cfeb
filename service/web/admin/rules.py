"""Rules as drafts: list, read (with ETag), check, create, replace, merge-patch, delete, test."""

import json

from flask import jsonify, request
from werkzeug.exceptions import BadRequest, UnsupportedMediaType

from rules.kb.curation import RuleState

from ..api.diagnose import json_object
from ..auth import requires
from . import actor, bp, if_match, workspace
from .schemas import RuleListQuery, RuleQuery, RuleTestRequest

MERGE_PATCH = "application/merge-patch+json"


def rule_json(state: RuleState, warnings=()) -> dict:
    out = {"id": state.rule_id, "file": state.file, "status": state.status, "etag": state.etag,
           "rule": state.body}
    if warnings:
        out["warnings"] = [w.reason for w in warnings]
    return out


def with_etag(payload: dict, state: RuleState, status: int = 200):
    response = jsonify(payload)
    response.status_code = status
    response.headers["ETag"] = state.etag
    return response


def rule_body() -> dict:
    return json_object("a rule, as a JSON object")


def merge_patch(target, patch):
    """RFC 7396 JSON Merge Patch."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


@bp.get("/rules")
@requires("viewer")
def list_rules():
    query = RuleListQuery().load(request.args.to_dict())
    out = []
    for state in workspace().states():
        body = state.body or {}
        if query.get("status") and state.status != query["status"]:
            continue
        if not _selects(body, "platforms", query.get("platform")) or \
                not _selects(body, "regions", query.get("region")) or \
                not _selects(body, "domains", query.get("domain")):
            continue
        if query.get("q") and query["q"].lower() not in json.dumps(body, ensure_ascii=False).lower():
            continue
        then = body.get("then", {}) if isinstance(body.get("then"), dict) else {}
        out.append({"id": state.rule_id, "file": state.file, "status": state.status, "etag": state.etag,
                    "category": then.get("category"), "priority": body.get("priority"),
                    "platforms": body.get("platforms"), "regions": body.get("regions"),
                    "domains": body.get("domains")})
    return jsonify({"rules": out, "count": len(out)})


def _selects(body: dict, key: str, wanted: str | None) -> bool:
    value = body.get(key)
    return wanted is None or value in (None, "*") or (isinstance(value, list) and wanted in value)


@bp.get("/rules/<rule_id>")
@requires("viewer")
def get_rule(rule_id):
    state = workspace().state(rule_id)
    return with_etag({**rule_json(state), "published": workspace().published_body(rule_id)}, state)


@bp.post("/rules/<rule_id>/check")
@requires("editor")
def check_rule(rule_id):
    """What a write of this rule would say (422 naming each field, or its warnings); saves nothing."""
    options = RuleQuery().load(request.args.to_dict())
    file, warnings = workspace().check(rule_id, rule_body(), options.get("file"))
    return jsonify({"id": rule_id, "file": file, "warnings": [w.reason for w in warnings]})


@bp.post("/rules")
@requires("editor")
def create_rule():
    options = RuleQuery().load(request.args.to_dict())
    body = rule_body()
    rule_id = body.get("id")
    if not isinstance(rule_id, str) or not rule_id:
        raise BadRequest("the rule needs an id")
    state, warnings = workspace().save(rule_id, body, None, actor(), options.get("file"), create=True)
    response = with_etag(rule_json(state, warnings), state, 201)
    response.headers["Location"] = f"/admin/v1/rules/{rule_id}"
    return response


@bp.put("/rules/<rule_id>")
@requires("editor")
def replace_rule(rule_id):
    options = RuleQuery().load(request.args.to_dict())
    expected = if_match()
    state, warnings = workspace().save(rule_id, rule_body(), expected, actor(), options.get("file"))
    return with_etag(rule_json(state, warnings), state)


@bp.patch("/rules/<rule_id>")
@requires("editor")
def patch_rule(rule_id):
    if request.mimetype not in (MERGE_PATCH, "application/json"):
        raise UnsupportedMediaType(f"send a JSON Merge Patch ({MERGE_PATCH})")
    expected = if_match()
    current = workspace().state(rule_id)
    body = merge_patch(current.body or {}, _patch_body())
    state, warnings = workspace().save(rule_id, body, expected, actor(), current.file)
    return with_etag(rule_json(state, warnings), state)


def _patch_body() -> dict:
    raw = request.get_data(cache=False)
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise BadRequest("the merge patch is not valid JSON") from exc
    if not isinstance(data, dict):
        raise BadRequest("the merge patch must be a JSON object")
    return data


@bp.delete("/rules/<rule_id>")
@requires("editor")
def delete_rule(rule_id):
    workspace().delete(rule_id, if_match(), actor())
    return "", 204


@bp.post("/rules/<rule_id>/test")
@requires("editor")
def test_rule(rule_id):
    request_ = RuleTestRequest().load(json_object("a JSON object with a `payload`"))
    return jsonify(workspace().test(rule_id, request_["payload"], request_["lang"], request_.get("rule")))
