"""POST /debug/report and POST /debug/compare (secret-less), and the console page
/console/debug where a HAR file is dropped and its report read.

A capture is posted as JSON: a HAR document (`{"log": {"entries": [...]}}`) or
`{"calls": [payload, ...]}` (the JSONL lines of `opsdiag batch`, as an array). It may be
as large as a batch (OPSDIAG_MAX_BATCH_BYTES) and hold as many calls as a batch has items.
The signature check has no route: the app secret stays on the machine that has it.
"""

from flask import Blueprint, Flask, Response, current_app, jsonify, render_template_string, request
from marshmallow import ValidationError
from werkzeug.exceptions import BadRequest

from rules import jsontext

from .. import limits
from ..language import preferred_language
from ..web.api.diagnose import json_payload
from ..web.auth import authenticate
from ..web.keys import CLIENT
from . import capture, compare, report

bp = Blueprint("debugging", __name__)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
MEDIA = {"json": "application/json", "md": "text/markdown; charset=utf-8", "html": "text/html; charset=utf-8"}
REPORT_CSP = ("default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; "
              "frame-ancestors 'none'")


@bp.before_request
def client_key():
    """The same rule as POST /diagnose: with OPSDIAG_DIAGNOSE_AUTH=on, callers need a key."""
    request.max_content_length = int(current_app.config.get("MAX_BATCH_CONTENT_LENGTH")
                                     or limits.LIMITS.batch_bytes)
    if current_app.config.get("DIAGNOSE_AUTH"):
        authenticate(CLIENT)


def exchanges_of(value, field: str) -> list[capture.Exchange]:
    """The calls of a posted capture; ValidationError naming `field` otherwise."""
    most = limits.LIMITS.batch_items
    if isinstance(value, dict) and "log" in value:
        entries = value["log"].get("entries") if isinstance(value["log"], dict) else None
        if not isinstance(entries, list):
            raise ValidationError({f"{field}log.entries": ["a HAR document needs log.entries, an array"]})
        if len(entries) > most:
            raise ValidationError({f"{field}log.entries": [f"at most {most} calls, got {len(entries)}"]})
        wrong = next((n for n, entry in enumerate(entries) if not isinstance(entry, dict)), None)
        if wrong is not None:
            raise ValidationError({f"{field}log.entries[{wrong}]": ["a HAR entry is a JSON object"]})
        found = capture.from_har(value)
    elif isinstance(value, dict) and isinstance(value.get("calls"), list):
        if len(value["calls"]) > most:
            raise ValidationError({f"{field}calls": [f"at most {most} calls, got {len(value['calls'])}"]})
        try:
            found = [capture.from_payload(n, call) for n, call in enumerate(value["calls"], start=1)]
        except ValueError as exc:
            raise ValidationError({f"{field}calls": [str(exc)]}) from exc
    else:
        raise ValidationError({field.rstrip(".") or "body": [
            'a capture: a HAR document {"log": {"entries": [...]}} or {"calls": [payload, ...]}']})
    if not found:
        raise ValidationError({f"{field}calls" if "calls" in value else f"{field}log.entries": ["no calls"]})
    return found


def _engine():
    return current_app.extensions["opsdiag.kb"]


@bp.post("/debug/report")
def debug_report():
    fmt = request.args.get("format", "json")
    if fmt not in MEDIA:
        raise ValidationError({"format": [f"one of {', '.join(MEDIA)}"]})
    lang = preferred_language()
    built = report.build(exchanges_of(json_payload(), ""), _engine(), lang, title="posted capture")
    if fmt == "json":
        response = jsonify(built)
    else:
        response = Response(report.render(built, fmt), mimetype=MEDIA[fmt].split(";")[0])
        if fmt == "html":
            response.headers["Content-Security-Policy"] = REPORT_CSP
    response.headers["Content-Language"] = lang
    return response


def _call_number(data: dict, name: str) -> int | None:
    if name not in data:
        return None
    value = data[name]
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValidationError({name: ["a call number: a whole number from 1"]})
    return value


@bp.post("/debug/compare")
def debug_compare():
    data = json_payload()
    if not isinstance(data, dict):
        raise BadRequest('the body must be a JSON object: {"good": capture, "bad": capture}')
    unknown = {name: ["Unknown field."] for name in data if name not in ("good", "bad", "good_call", "bad_call")}
    missing = {name: ["Missing data for required field."] for name in ("good", "bad") if name not in data}
    if unknown or missing:
        raise ValidationError({**unknown, **missing})
    good_call, bad_call = _call_number(data, "good_call"), _call_number(data, "bad_call")
    try:
        bad = compare.pick(exchanges_of(data["bad"], "bad."), bad_call, failed=None if bad_call else True)
    except ValueError as exc:
        raise ValidationError({"bad": [str(exc)]}) from exc
    try:
        good = compare.pick(exchanges_of(data["good"], "good."), good_call, operation=bad.operation, failed=False)
    except ValueError as exc:
        raise ValidationError({"good": [str(exc)]}) from exc
    lang = preferred_language()
    response = jsonify(compare.compare(good, bad, _engine(), lang))
    response.headers["Content-Language"] = lang
    return response


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>opsdiag - capture report</title>
<style>body { font: 15px/1.5 system-ui, sans-serif; margin: 2rem; max-width: 48rem; }
.drop { display: block; border: 2px dashed #889; padding: 2rem; text-align: center; }</style></head>
<body><h1>Capture report</h1>
<p>Drop a HAR file (exported from the browser, a proxy or Postman) on the field below, or choose it,
then read its report: the verdict, the timeline, the first failing step and its diagnosis.
Tokens, secrets and buyer data are masked; nothing is stored.</p>
<form method="post" action="/console/debug" enctype="multipart/form-data">
<label class="drop">HAR file <input type="file" name="capture" accept=".har,.json,application/json" required></label>
<p><label>Language <select name="lang"><option value="en">English</option>
<option value="zh-CN">简体中文</option></select></label> <button type="submit">Report</button></p>
{% if error %}<p role="alert"><strong>{{ error }}</strong></p>{% endif %}
</form></body></html>"""


def _page(error: str | None = None, status: int = 200) -> Response:
    response = Response(render_template_string(PAGE, error=error), status=status, mimetype="text/html")
    response.headers["Content-Security-Policy"] = REPORT_CSP
    return response


@bp.get("/console/debug")
def console_debug():
    return _page()


@bp.post("/console/debug")
def console_debug_report():
    upload = request.files.get("capture")
    if upload is None:
        return _page("choose a HAR file first", 422)
    try:
        document = jsontext.loads(upload.read().decode("utf-8-sig", errors="replace"))
        found = exchanges_of(document, "")
    except (ValueError, RecursionError, ValidationError) as exc:
        messages = exc.messages if isinstance(exc, ValidationError) else str(exc)
        return _page(f"{upload.filename or 'the file'} is not a HAR capture: {messages}", 422)
    lang = "zh-CN" if request.form.get("lang") == "zh-CN" else "en"
    built = report.build(found, _engine(), lang, title=upload.filename or "capture")
    response = Response(report.render(built, "html"), mimetype="text/html")
    response.headers["Content-Security-Policy"] = REPORT_CSP
    return response
