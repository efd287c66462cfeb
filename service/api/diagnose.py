"""POST /diagnose: one raw error in, ranked root causes out."""

import json

from flask import Blueprint, current_app, g, jsonify, request
from werkzeug.exceptions import BadRequest, UnsupportedMediaType

from .. import metrics
from ..admin.auth import authenticate
from ..admin.keys import CLIENT
from ..schemas import DiagnoseRequestSchema

bp = Blueprint("diagnose", __name__)
_schema = DiagnoseRequestSchema()


def preferred_language() -> str:
    """zh-CN for any Chinese preference that outranks English, else English."""
    for lang, _quality in request.accept_languages:
        lang = lang.lower()
        if lang.startswith("zh"):
            return "zh-CN"
        if lang.startswith("en") or lang == "*":
            return "en"
    return "en"


def json_payload():
    """The request's JSON, with our own errors for wrong media type and broken JSON."""
    if not request.is_json:
        raise UnsupportedMediaType("send the error as application/json")
    raw = request.get_data(cache=False)
    try:
        return json.loads(raw)
    except UnicodeDecodeError as exc:
        raise BadRequest("the body is not UTF-8 encoded") from exc
    except RecursionError as exc:
        raise BadRequest("the JSON body is nested too deeply") from exc
    except ValueError as exc:
        raise BadRequest(f"the body is not valid JSON: {exc}") from exc


@bp.before_request
def client_key():
    """With OPSDIAG_DIAGNOSE_AUTH=on, callers need a key (role `client` or any other)."""
    if current_app.config.get("DIAGNOSE_AUTH"):
        authenticate(CLIENT)


@bp.post("/diagnose")
def diagnose():
    data = json_payload()
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object")
    payload = _schema.load(data)
    lang = preferred_language()
    result = current_app.extensions["opsdiag.kb"].diagnose(payload, lang)
    metrics.record_diagnosis(result)
    response = jsonify({"request_id": g.request_id, **result})
    response.headers["Content-Language"] = lang
    return response
