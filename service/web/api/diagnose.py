"""POST /diagnose: one raw error in, ranked root causes out; POST /diagnose/batch: many."""

import json

from flask import Blueprint, current_app, g, jsonify, request
from marshmallow import ValidationError
from opsdiag_client.answer import Result
from werkzeug.exceptions import BadRequest, UnsupportedMediaType

from rules import jsontext

from ... import limits
from ...language import preferred_language
from ...schemas import DiagnoseRequestSchema
from .. import gaps, metrics
from ..auth import authenticate
from ..keys import CLIENT
from ..problems import invalid_params

bp = Blueprint("diagnose", __name__)
# A WSGI environ key no HTTP client can set: the console's own trial calls (service/web/console/api.py),
# which are not kept as unexplained errors.
CONSOLE_TRIAL = "opsdiag.console_trial"
_schema = DiagnoseRequestSchema()


def json_payload():
    """The request's JSON, with our own errors for wrong media type and broken JSON."""
    if not request.is_json:
        raise UnsupportedMediaType("send the error as application/json")
    raw = request.get_data(cache=False)
    try:
        text = raw.decode(json.detect_encoding(raw), "surrogatepass")  # UTF-8, or UTF-16/32 as json.loads takes
        data = jsontext.loads(text)
    except UnicodeDecodeError as exc:
        raise BadRequest("the body is not UTF-8 encoded") from exc
    except RecursionError as exc:
        raise BadRequest("the JSON body is nested too deeply") from exc
    except ValueError as exc:
        raise BadRequest(f"the body is not valid JSON: {exc}") from exc
    return data


def json_object(what: str = "a JSON object") -> dict:
    """The request's JSON, which must be an object (400 saying the body must be `what`)."""
    data = json_payload()
    if not isinstance(data, dict):
        raise BadRequest(f"the body must be {what}")
    return data


@bp.before_request
def client_key():
    """With OPSDIAG_DIAGNOSE_AUTH=on, callers need a key (role `client` or any other)."""
    if current_app.config.get("DIAGNOSE_AUTH"):
        authenticate(CLIENT)


@bp.post("/diagnose")
def diagnose():
    data = json_object()
    payload = _schema.load(data)
    lang = preferred_language()
    result = current_app.extensions["opsdiag.kb"].diagnose(payload, lang)
    metrics.record_diagnosis(result)
    _keep_if_unmatched(payload, result)
    response = jsonify({"request_id": g.request_id, **result, **_warnings(data)})
    response.headers["Content-Language"] = lang
    return response


def _warnings(data: dict) -> dict:
    """`warnings` naming the payload's fields that are not part of the contract, if any."""
    ignored = _schema.ignored_fields(data)
    return {"warnings": [f"unknown field {name!r} ignored" for name in ignored]} if ignored else {}


def _keep_if_unmatched(payload: dict, result: Result) -> None:
    """Unmatched errors are kept (masked, in the background) for `kb gaps`; a curator's
    trial in the console is no production gap."""
    if not request.environ.get(CONSOLE_TRIAL):
        gaps.record(payload, result)


# -- POST /diagnose/batch ---------------------------------------------------------------

def _batch_limit() -> int:
    """Bytes a batch may have (OPSDIAG_MAX_BATCH_BYTES, 8 MiB by default)."""
    return int(current_app.config.get("MAX_BATCH_CONTENT_LENGTH") or limits.LIMITS.batch_bytes)


def _batch_items(data) -> list:
    if not isinstance(data, dict):
        raise BadRequest('the body must be a JSON object: {"items": [payload, ...]}')
    errors = {name: ["Unknown field."] for name in data if name != "items"}
    items = data.get("items")
    if "items" not in data:
        errors["items"] = ["Missing data for required field."]
    elif not isinstance(items, list):
        errors["items"] = ["must be an array of /diagnose payloads"]
    elif len(items) > limits.LIMITS.batch_items:
        errors["items"] = [f"at most {limits.LIMITS.batch_items} items per request, got {len(items)}"]
    if errors:
        raise ValidationError(errors)
    return items


@bp.post("/diagnose/batch")
def diagnose_batch():
    """Up to 1,000 payloads, answered in order; an invalid item gets its own error."""
    request.max_content_length = _batch_limit()
    items = _batch_items(json_payload())
    lang = preferred_language()
    kb = current_app.extensions["opsdiag.kb"]
    results, failed = [], 0
    for index, item in enumerate(items):
        entry: dict = {"index": index}
        if isinstance(item, dict) and isinstance(item.get("id"), str) and len(item["id"]) <= 128:
            entry["id"] = item["id"]
        try:
            if not isinstance(item, dict):
                raise ValidationError("must be a JSON object, as POST /diagnose takes")
            payload = _schema.load(item)
        except ValidationError as exc:
            failed += 1
            params = invalid_params(exc)
            names = ", ".join(p["name"] for p in params if p["name"])
            entry["error"] = {"type": "about:blank", "title": "Invalid item", "status": 422,
                              "detail": f"invalid fields: {names}" if names else params[0]["reason"],
                              "invalid-params": params}
        else:
            result = kb.diagnose(payload, lang)
            metrics.record_diagnosis(result)
            _keep_if_unmatched(payload, result)
            entry.update(result)
            entry.update(_warnings(item))
        results.append(entry)
    response = jsonify({"request_id": g.request_id, "count": len(items), "failed": failed, "results": results})
    response.headers["Content-Language"] = lang
    return response
