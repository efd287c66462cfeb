"""POST /check: a request an ERP is about to send, checked against the platform's published
schema and envelope rules (rules/reqcheck/validate.py) before it goes out."""

import time

from flask import Blueprint, g, jsonify

from rules.reqcheck import validate as reqcheck

from ...language import preferred_language
from ...schemas import CheckRequestSchema
from .diagnose import client_key, json_object

bp = Blueprint("check", __name__)
bp.before_request(client_key)  # the same keys as /diagnose (OPSDIAG_DIAGNOSE_AUTH)
_schema = CheckRequestSchema()


@bp.post("/check")
def check():
    request_ = _schema.load(json_object())
    lang = preferred_language()
    sent_at = request_.pop("sent_at", None)
    now = sent_at.timestamp() if sent_at else time.time()
    result = reqcheck.check(request_, lang, now=now)
    response = jsonify({"request_id": g.request_id, **result})
    response.headers["Content-Language"] = lang
    return response
