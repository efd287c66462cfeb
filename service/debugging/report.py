"""The report of a capture that a person attaches to a ticket: verdict, timeline, failures.

`build` turns the exchanges of a capture into one plain dict (the `/debug/report` answer
and what the templates render): the verdict (who acts first and why), the timeline of
every call, the first failing step with everything after it marked as its consequence,
and for each failed call the masked request and response as sent, the decoded bodies,
the diagnosis of the same engine as `/diagnose`, and the identifiers the platform's
support asks for. Everything shown goes through `rules/privacy.py` first.
"""

import json
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from marshmallow import ValidationError
from opsdiag_client.answer import Diagnosis

from rules import jsontext
from rules.engine.normalize import parse_body, read_envelope
from rules.privacy import redact, redact_text

from ..schemas import DiagnoseRequestSchema
from .capture import Exchange
from .decode import decode

TEMPLATES = Path(__file__).with_name("templates")
FORMATS = ("md", "html")
REQUEST_ID_HEADERS = ("x-request-id", "x-amzn-requestid", "x-amz-request-id", "x-tt-logid", "x-correlation-id",
                      "request-id", "x-trace-id")
# identifiers support asks for, as the platforms name them in the query or body
IDENTIFIERS = ("app_key", "partner_id", "shop_id", "shop_cipher", "merchant_id", "seller_id", "marketplace_id",
               "order_id", "package_id")
SHOWN_BODY_CHARS = 20_000


def _utc(value: str | None) -> str | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _header(headers: dict[str, str], name: str) -> str | None:
    return next((v for k, v in headers.items() if k.lower() == name), None)


def _masked_body(text: str | None, base64_encoded: bool) -> str | None:
    if text is None:
        return None
    if base64_encoded:
        return f"(base64, {len(text)} characters: see the decoded body)"
    if text.lstrip()[:1] in ("{", "["):  # JSON is masked by key (a buyer's name under recipient_address)
        try:
            text = json.dumps(redact(jsontext.loads(text)), ensure_ascii=False)
        except (ValueError, RecursionError):
            text = redact_text(text)
    else:
        text = redact_text(text)
    return text[:SHOWN_BODY_CHARS] + (" …(cut)" if len(text) > SHOWN_BODY_CHARS else "")


def _decoded(text: str | None, headers: dict, base64_encoded: bool) -> dict | None:
    if not text:
        return None
    result = decode(text, headers, base64_encoded)
    return {"steps": result.steps, "value": redact(result.value), "note": result.note}


def identifiers(exchange: Exchange) -> dict[str, str]:
    """What the platform's support asks for: its request id, UTC times, app key, shop ids."""
    found: dict[str, str] = {}
    body, fmt = parse_body(decode(exchange.response_body, exchange.response_headers,
                                  exchange.response_base64).value) if exchange.response_body else (None, "text")
    request_id = read_envelope(body, fmt)[3] if body is not None else None
    request_id = request_id or next((v for h in REQUEST_ID_HEADERS
                                     if (v := _header(exchange.response_headers, h))), None)
    if request_id:
        found["request_id"] = request_id
    if exchange.started:
        found["sent_utc"] = _utc(exchange.started) or exchange.started
    if (date := _header(exchange.response_headers, "date")) and _utc(date):
        found["answered_utc (response Date)"] = _utc(date)
    if exchange.sent_at():
        found["request timestamp (caller's clock, UTC)"] = exchange.sent_at()
    sent = decode(exchange.request_body, exchange.request_headers, exchange.request_base64).value \
        if exchange.request_body else {}
    for name in IDENTIFIERS:
        value = next((v for k, v in exchange.query if k == name), None)
        if value is None and isinstance(sent, dict) and isinstance(sent.get(name), str | int):
            value = str(sent[name])
        if value:
            found[name] = value
    return redact(found)  # a token or secret among them is masked by its name


def diagnosis(exchange: Exchange, kb, lang: str) -> dict:
    """The top diagnosis of a failed call, or why none could be made."""
    try:
        payload = DiagnoseRequestSchema().load(exchange.payload())
    except ValidationError as exc:
        return {"category": "unknown", "owner": "integrator", "title": "the captured call is not a valid payload",
                "explanation": str(exc.messages)[:500], "rule_id": None, "repair_steps": [], "doc_url": None}
    answer = kb.diagnose(payload, lang)
    top: Diagnosis = answer["diagnoses"][0]
    return {"rule_id": top.get("rule_id"), "category": top["category"], "owner": top["owner"],
            "title": top["title"], "explanation": top.get("explanation"), "repair_steps": top.get("repair_steps", []),
            "doc_url": top.get("doc_url"), "evidence": top.get("evidence", {}), "platform": answer.get("platform"),
            "region": answer.get("region")}


def _masked_headers(headers: dict[str, str]) -> dict:
    return redact({k: v for k, v in headers.items() if k.lower() not in ("cookie", "set-cookie")})


def build(exchanges: list[Exchange], kb, lang: str = "en", title: str = "capture") -> dict:
    """The report of a capture, as a plain dict."""
    first = next((e for e in exchanges if e.failed), None)
    timeline, failures = [], []
    for exchange in exchanges:
        if first is None or exchange.number < first.number:
            state = "failed" if exchange.failed else "ok"
        elif exchange is first:
            state = "first failure"
        else:
            state = "consequence (failed)" if exchange.failed else "consequence"
        timeline.append({
            "number": exchange.number, "started_utc": _utc(exchange.started), "method": exchange.method,
            "endpoint": redact_text(exchange.url), "status": exchange.status, "elapsed_ms": exchange.elapsed_ms,
            "request_bytes": exchange.request_bytes if exchange.request_bytes is not None
            else len((exchange.request_body or "").encode()),
            "response_bytes": exchange.response_bytes if exchange.response_bytes is not None
            else len((exchange.response_body or "").encode()),
            "state": state})
        if exchange.failed:
            failures.append({
                "number": exchange.number, "operation": f"{exchange.method} {exchange.path}", "state": state,
                "request": {"method": exchange.method, "url": redact_text(exchange.url),
                            "headers": _masked_headers(exchange.request_headers),
                            "body": _masked_body(exchange.request_body, exchange.request_base64)},
                "response": {"status": exchange.status, "headers": _masked_headers(exchange.response_headers),
                             "body": _masked_body(exchange.response_body, exchange.response_base64)},
                "decoded": {"request": _decoded(exchange.request_body, exchange.request_headers,
                                                exchange.request_base64),
                            "response": _decoded(exchange.response_body, exchange.response_headers,
                                                 exchange.response_base64)},
                "diagnosis": diagnosis(exchange, kb, lang),
                "identifiers": identifiers(exchange)})
    return {"title": title, "calls": len(exchanges), "failed": len(failures), "verdict": _verdict(first, failures),
            "first_failure": first.number if first else None, "timeline": timeline, "failures": failures}


def _verdict(first: Exchange | None, failures: list[dict]) -> dict:
    if first is None:
        return {"owner": None, "category": None, "step": None,
                "summary": "every call of the capture succeeded: nobody has to act"}
    top = failures[0]["diagnosis"]
    later = len(failures) - 1
    tail = f"; {later} later failed call(s) are its consequence" if later else ""
    return {"owner": top["owner"], "category": top["category"], "step": first.number,
            "operation": failures[0]["operation"], "rule_id": top.get("rule_id"),
            "summary": f"{top['owner']} acts first: step {first.number} ({failures[0]['operation']}) failed "
                       f"first - {top['title']} ({top['category']}){tail}"}


def render(report: dict, fmt: str) -> str:
    """The report as Markdown or as one self-contained HTML page."""
    if fmt not in FORMATS:
        raise ValueError(f"format {fmt!r}: one of {', '.join(FORMATS)}")
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html.j2"]),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["pretty"] = _pretty
    return env.get_template(f"report.{fmt}.j2").render(report=report)


def _pretty(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, indent=2, default=str)
