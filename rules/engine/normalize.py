"""Turns a raw error (status, endpoint, headers, body) into the one fact rules see.

Each platform wraps errors its own way; the normalizer reads every known envelope
(TikTok Shop, SP-API, Shopee, Lazada, OAuth 2.0, problem+json, GraphQL, plain text with a
leading code, HTML pages, and through unwrap.py a client library's rendering) into `code`,
`message`, `error_type` and `request_id`, and derives what a person would work out by
hand: clock skew, the host's environment, the SP-API region, the call's direction. It
must accept anything: payloads reach it from HTTP, from log files and from rule examples.
"""

import contextlib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import lru_cache
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .. import jsontext
from ..model import DOMAINS, PLATFORMS
from ..platforms.base import canonical_host
from . import infer
from .unwrap import oauth_error, unwrap

MAX_MESSAGE = 2000
MAX_TEXT_SCAN = 64 * 1024
# An HTML page is read piece by piece until its title and HTML_TEXT_ENOUGH characters of
# text are in, at most MAX_HTML_SCAN: a batch of large pages costs what its error pages say.
MAX_HTML_SCAN, HTML_PIECE, HTML_TEXT_ENOUGH = 16 * 1024, 2048, 600


@dataclass
class Fact:
    status: int
    endpoint: str
    method: str | None
    host: str
    path: str
    query: dict[str, str]
    platform: str
    region: str | None
    domain: str
    inferred: list[str]
    code: str | None
    message: str | None
    error_type: str | None
    request_id: str | None
    body_format: str
    body: Any
    headers: dict[str, str]
    request_headers: dict[str, str]
    request_body: Any
    context: dict[str, Any]
    derived: dict[str, Any] = field(default_factory=dict)


class _TextOfHtml(HTMLParser):
    """Title and visible text of an error page (gateways answer 502/504 in HTML)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.title, self.text, self._skip, self._in_title = [], [], 0, False

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        self._in_title = self._in_title or tag == "title"

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self._skip:
            self._skip -= 1
        if tag == "title":
            self._in_title = False

    def enough(self) -> bool:
        return bool(self.title) and not self._in_title and sum(map(len, self.text)) >= HTML_TEXT_ENOUGH

    def handle_data(self, data):
        if self._skip or not data.strip():
            return
        (self.title if self._in_title else self.text).append(data.strip())


def _lower_headers(headers: Any) -> dict[str, str]:
    if not isinstance(headers, dict):
        return {}
    out = {}
    for name, value in headers.items():
        if isinstance(value, list):
            value = ", ".join(map(str, value))
        out[str(name).lower()] = value if isinstance(value, str) else json.dumps(value)
    return out


def parse_body(body: Any) -> tuple[Any, str]:
    """(parsed body, format): a string holding JSON is parsed; HTML is reduced to text."""
    if body is None or body == "" or body == {} or body == []:
        return body, "empty"
    if isinstance(body, dict | list):
        return body, "json"
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if not isinstance(body, str):
        return body, "json"
    stripped = jsontext.clean(body.strip())
    if stripped[:1] in ("{", "["):
        try:
            return jsontext.loads(stripped, strict=False), "json"  # a body as logged, line breaks and all
        except (ValueError, RecursionError):
            pass
    head = stripped[:200].lower()
    if head.startswith("<!doctype html") or "<html" in head or "<body" in head:
        return stripped, "html"
    inner = unwrap(stripped)  # a client library's rendering of the response
    return (inner, "json") if inner is not None else (stripped, "text")


def _text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int | float):
        return json.dumps(value)
    return json.dumps(value, ensure_ascii=False, default=str)


def read_envelope(body: Any, fmt: str) -> tuple[str | None, str | None, str | None, str | None]:
    """(code, message, error_type, request_id) from any known error envelope."""
    if fmt == "html":
        parser = _TextOfHtml()
        with contextlib.suppress(Exception):  # a broken page still has a status
            for start in range(0, min(len(body), MAX_HTML_SCAN), HTML_PIECE):
                parser.feed(body[start:start + HTML_PIECE])
                if parser.enough():  # an error page says what it is near its top
                    break
        return None, " ".join(parser.title + parser.text) or None, None, None
    if fmt == "text":
        code, message = leading_code(body)
        return code or oauth_error(body), message, None, None
    if isinstance(body, list):
        first = next((item for item in body if isinstance(item, dict)), None)
        return read_envelope(first, "json") if first else (None, None, None, None)
    if not isinstance(body, dict):
        return None, None, None, None
    if any(k.__class__ is str and not k.islower() for k in body):  # {"Detail": ...}, {"Message": ...}
        body = {(k.lower() if k.__class__ is str else k): v for k, v in reversed(body.items())}

    request_id = _text(body.get("request_id") or body.get("requestid"))
    if isinstance(body.get("error_response"), dict):  # the TOP gateway (Taobao, AliExpress): {code, msg} inside
        return read_envelope(body["error_response"], "json")[:3] + (request_id,)
    fault = body.get("fault")
    if isinstance(fault, dict) and ("faultstring" in fault or "detail" in fault):
        # Apigee gateways: {"fault": {"faultstring": "Access Token expired", "detail": {"errorcode": "..."}}}
        detail = fault.get("detail") if isinstance(fault.get("detail"), dict) else {}
        return (_text(detail.get("errorcode") or fault.get("faultcode")), _text(fault.get("faultstring")), None,
                request_id)
    errors = body.get("errors")
    if errors is None and isinstance(body.get("error"), list):  # Walmart {"error": [{"code", ...}]}
        errors = body["error"]
    if errors is None and isinstance(body.get("detail"), list) and "code" not in body and "message" not in body:
        errors = body["detail"]  # FastAPI {"detail": [{"loc", "msg", "type"}]}; Lazada's detail[] explains a code
    if errors is None and isinstance(body.get("issues"), list):
        # SP-API Listings Items {"status": "INVALID", "issues": [{"code", "message", "severity"}]}: errors first
        errors = sorted(body["issues"], key=lambda e: not isinstance(e, dict) or e.get("severity") != "ERROR")
    if isinstance(errors, list) and errors and all(isinstance(e, dict) for e in errors):
        # SP-API {"errors": [{"code", "message", "details"}]}; GraphQL's extensions.code; Square's detail
        first = errors[0]
        messages = [m for e in errors
                     for m in _with_details(_text(e.get("message") or e.get("detail") or e.get("description")
                                                  or e.get("msg")), e.get("details")) if m]
        extensions = first.get("extensions") if isinstance(first.get("extensions"), dict) else {}
        code = first.get("code") or first.get("error_code") or extensions.get("code") or first.get("type")
        return _text(code), " | ".join(messages) or None, None, request_id
    if isinstance(errors, str | dict) and errors:  # {"errors": "[API] Invalid API key ..."}
        return _text(body.get("code")), _text(errors), None, request_id
    error = body.get("error")
    if isinstance(error, dict):
        # {"error": {"code", "message"}} as many REST APIs and ERPs answer; MediaWiki's info
        return (_text(error.get("code") or error.get("type")),
                _text(error.get("message") or error.get("description") or error.get("info")),
                _text(error.get("type")), request_id)
    if isinstance(error, str) and error:
        failed = _batch_failure(body.get("response"))
        if failed:  # Shopee batch APIs: "common.batch_api_all_failed", each failure in response.result_list[]
            return failed + (None, request_id)
        # Shopee {"error", "message"}; OAuth 2.0 {"error", "error_description"}
        message = body.get("message") or body.get("error_description") or body.get("msg")
        if " " in error.strip() and not message:  # {"error": "Invalid API key: ..."} is a sentence
            return _text(body.get("code")), error, None, request_id
        return error, _text(message), None, request_id
    data = body.get("data")
    if str(body.get("code", "")) == "0" and isinstance(data, dict) and isinstance(data.get("errors"), list):
        # TikTok Shop batch operations: code 0 on top, each failure in data.errors[]
        return read_envelope(data, "json")[:3] + (request_id,)
    if "result_code" in body or "result_message" in body:  # Lazada Media Center
        return _text(body.get("result_code")), _text(body.get("result_message")), None, request_id
    if "type" in body and "code" in body:
        # Lazada {"type": ISV|ISP|SYSTEM, "code", "message"}
        return (_text(body.get("code")), _text(body.get("message") or body.get("msg") or body.get("sub_msg")),
                _text(body.get("type")), request_id)
    code = body.get("code", body.get("error_code", body.get("errcode")))
    message = (body.get("message") or body.get("msg") or body.get("error_message") or body.get("error_msg")
               or body.get("detail") or body.get("errmsg") or body.get("errormsg"))
    if not message and (listed := _detail_list(body)):
        # problem+json whose title is only the status phrase and whose cause is in an extension
        # list: NetSuite {"title": "Unauthorized", "o:errorDetails": [{"detail", "o:errorCode"}]}
        first = listed[0]
        code = code if code is not None else _suffixed(first, _CODE_SUFFIXES)
        message = " | ".join(m for m in [_text(body.get("title")), *(
            _text(e.get("detail") or e.get("message")) for e in listed[:MAX_PARAMS])] if m)
    if not message and code is not None:  # Walmart {"code", "description", "info"}
        message = body.get("description") or body.get("info")
    if not message and code is None and (pairs := _field_messages(body)):
        return None, pairs, None, request_id  # Django REST framework {"quantity": ["A valid integer is required."]}
    message = message or body.get("title")
    if code is None and isinstance(body.get("error"), int) and not isinstance(body.get("error"), bool):
        code = body["error"]  # {"error": 99, "errormsg": "..."}
    if code is None and message is None:  # an ERP's own log record: providerErrorCode, upstreamMessage...
        code, message = _suffixed(body, _CODE_SUFFIXES), _suffixed(body, _MESSAGE_SUFFIXES)
    if code is None and message is None and (nested := _nested_errors(body)):
        return read_envelope({"errors": nested}, "json")[:3] + (request_id,)  # Ozon result.items[].errors[]
    if isinstance(message, str):  # {"code": "Unauthorized", "message": "...", "details": "The ... has expired."}
        message = " | ".join(_with_details(message, body.get("details")))
    params = data.get("params") if isinstance(data, dict) else None
    if isinstance(params, dict) and params and isinstance(message, str):
        # WordPress/WooCommerce rest_invalid_param: {"data": {"params": {"regular_price": "... not of type string."}}}
        message = " | ".join([message, *(str(v) for v in list(params.values())[:MAX_PARAMS])])
    return _text(code), _text(message), None, request_id


MAX_PARAMS = 8  # per-parameter reasons read beside the message


def _field_messages(body: dict) -> str | None:
    """"field: message | ..." of a body that is only a map of field names to lists of messages."""
    if not body or len(body) > 50 or not any(isinstance(v, list) for v in body.values()):
        return None
    def messages(v: Any) -> bool:
        return isinstance(v, str) or (isinstance(v, list) and bool(v) and all(isinstance(m, str) for m in v))

    if not all(isinstance(k, str) and messages(v) for k, v in body.items()):
        return None
    return " | ".join(f"{k}: {v if isinstance(v, str) else v[0]}" for k, v in list(body.items())[:MAX_PARAMS])


def _detail_list(body: dict) -> list[dict] | None:
    """A list of error objects under a key naming details ("o:errorDetails", "errorDetails",
    "error_details"), each with a detail or a message."""
    for key, value in body.items():
        if (isinstance(key, str) and key.lower().replace("_", "").endswith("errordetails") and isinstance(value, list)
                and value and all(isinstance(e, dict) for e in value)
                and any(e.get("detail") or e.get("message") for e in value)):
            return value
    return None


def _with_details(message: str | None, details: Any) -> list[str | None]:
    """The message and, when it is a sentence, the `details` beside it: SP-API answers a bare
    "Access to requested resource is denied." and says why in details ("The access token you
    provided has expired."); a details naming a class or a code adds nothing to read."""
    if isinstance(details, str) and " " in details.strip() and details.strip() != (message or "").strip():
        return [message, details.strip()]
    return [message]
_CODE_SUFFIXES = ("errorcode", "error_code", "errcode")
_MESSAGE_SUFFIXES = ("errormessage", "error_message", "message", "errmsg", "errormsg", "error_msg")
NESTED_DEPTH = 4  # how deep a batch answer may hold its failures


def _nested_errors(doc: Any, depth: int = 0) -> list | None:
    """The first `errors` list of objects nested in a batch answer ({"result": {"items": [{"errors": [...]}]}})."""
    if depth > NESTED_DEPTH:
        return None
    values = doc.values() if isinstance(doc, dict) else doc if isinstance(doc, list) else ()
    if isinstance(doc, dict):
        found = doc.get("errors")
        if isinstance(found, list) and found and all(isinstance(e, dict) for e in found):
            return found
    for value in list(values)[:MAX_NESTED]:
        if isinstance(value, dict | list) and (found := _nested_errors(value, depth + 1)):
            return found
    return None


MAX_NESTED = 20  # items looked into per level


def _suffixed(body: dict, suffixes: tuple[str, ...]) -> Any:
    """The first value whose key ends in one of the suffixes (keys are compared lower-cased)."""
    return next((v for k, v in body.items() if isinstance(k, str) and k.lower().endswith(suffixes)
                 and isinstance(v, str | int) and v != ""), None)


def _batch_failure(response: Any) -> tuple[str | None, str | None] | None:
    results = response.get("result_list") if isinstance(response, dict) else None
    if not isinstance(results, list):
        return None
    failed = next((r for r in results if isinstance(r, dict) and r.get("fail_error")), None)
    return (_text(failed["fail_error"]), _text(failed.get("fail_message"))) if failed else None


# A code standing before the message in a log line: `36004001 "rt has expired"`,
# `E034: Order Item must be packed`, `IncompleteSignature: ...`, `code=36009002 (...)`,
# and the lazop SDK's `...^_^CODE^_^message` layout.
_CODE = (r"\d{3,10}|[A-Z]{1,4}\d{2,6}|[A-Z][a-z]+(?:[A-Z][a-z0-9]+)+|[A-Z][A-Z0-9]*(?:[_.][A-Z0-9]+)+"
         r"|[a-z]+(?:[_.][a-z0-9]+)+")
_LEADING_CODE = re.compile(
    rf"^\s*(?:\d{{3}}\s+)?\[?(?P<code>{_CODE})\]?(?:\s*(?:[:\-–—·|]\s*|\s+[\"'“(])(?P<message>.+)|\s*$)", re.DOTALL)
_CODE_EQUALS = re.compile(r"\b(?:error_?)?code\s*[=:]\s*[\"']?(?P<code>[\w.-]{2,64})")
_CODE_TOKEN = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+){1,12}")  # an UPPER_SNAKE name alone
_NAMED_CODE = re.compile(r"(?:\d{3,10}\s+)?([A-Z][a-z]+(?:[A-Z][a-z0-9]+){1,8})")  # [a number] and a PascalCase name
LAZOP_SEPARATOR = "^_^"
_EXCEPTION_NAMES = ("Error", "Exception", "Fault")


def leading_code(text: str) -> tuple[str | None, str]:
    """(a code the text names, the message) of a plain-text body."""
    head = text[:MAX_TEXT_SCAN]
    if head.count(LAZOP_SEPARATOR) >= 2:  # the lazop SDK's log line: ...^_^url^_^CODE^_^message
        *_, code, message = head.split(LAZOP_SEPARATOR)
        return code.strip() or None, message.strip() or text
    match = _LEADING_CODE.match(head)
    if match and not match.group("code").endswith(_EXCEPTION_NAMES):  # "CustomError: ..." is a class
        return match.group("code"), text
    match = _CODE_EQUALS.search(head)
    return (match.group("code") if match else None), text


def _parse_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        seconds = value / 1000 if value > 10**11 else value  # epoch ms or s
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            try:
                parsed = parsedate_to_datetime(value)
            except (TypeError, ValueError, IndexError, OverflowError):  # "01 Jan 99999999999999999999"
                return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


@lru_cache(maxsize=4096)
def _host_and_path(url: str) -> tuple[str, str]:
    parts = urlsplit(url)  # ValueError as for the whole endpoint: it is in the part before "?"
    return ("" if parts.hostname in (None, "_") else canonical_host(parts.hostname)), parts.path or "/"


def split_endpoint(endpoint: str) -> tuple[str, str, str]:
    """(host, path, raw query) of an endpoint, a URL or a bare path; ("", "/", "") when unreadable.

    urlsplit takes the scheme, host and path from what precedes the first "?" and the query
    from what follows it (less tabs and line breaks) when there is no "#"; so the part before
    "?", the same for every call of an API, is split once and cached (batch runs read
    millions of endpoints; service/batch/worker.py parses the query only when it matters)."""
    url = endpoint if "://" in endpoint else "http://_" + ("" if endpoint.startswith("/") else "/") + endpoint
    try:
        if "#" in url:
            host, path = _host_and_path.__wrapped__(url)
            return host, path, urlsplit(url).query
        before, _, text = url.partition("?")
        host, path = _host_and_path(before)
    except ValueError:
        return "", "/", ""
    if "\t" in text or "\r" in text or "\n" in text:
        text = text.replace("\t", "").replace("\r", "").replace("\n", "")
    return host, path, text


def normalize(payload: dict) -> Fact:
    endpoint = str(payload.get("endpoint") or "")
    host, path, text = split_endpoint(endpoint)
    query = dict(parse_qsl(text)) if text else {}

    inferred = []
    platform = payload.get("platform")
    if platform not in PLATFORMS:
        platform = infer.platform_of(host)
        inferred.append("platform")
    region = payload.get("region")
    region = region.upper() if isinstance(region, str) and region else None
    if region is None:
        region = infer.region_of(platform, host, query)
        if region:
            inferred.append("region")
    domain = payload.get("domain")
    if domain not in DOMAINS:
        domain = infer.domain_of(path)
        inferred.append("domain")

    body, fmt = parse_body(payload.get("body"))
    code, message, error_type, request_id = read_envelope(body, fmt)
    if code is None and message and _CODE_TOKEN.fullmatch(message.strip()):
        code = message.strip()  # {"message": "BIZ_CHECK_MAIN_IMAGE_REQUIRE"}: the message is a code
    elif code is None and message and (named := _NAMED_CODE.fullmatch(message.strip())):
        code = named.group(1)  # "300100 InvalidPart": a number and a code's name, nothing else
    headers = _lower_headers(payload.get("headers"))
    error_type = error_type or headers.get("x-amzn-errortype")
    request_id = request_id or headers.get("x-amzn-requestid") or headers.get("x-request-id")
    if message and len(message) > MAX_MESSAGE:
        message = message[:MAX_MESSAGE]

    request = payload.get("request") if isinstance(payload.get("request"), dict) else {}
    request_body, _ = parse_body(request.get("body"))
    context = payload.get("context") if isinstance(payload.get("context"), dict) else {}
    status = payload.get("status")
    method = payload.get("method")

    fact = Fact(
        status=status if isinstance(status, int) and not isinstance(status, bool) else 0,
        endpoint=endpoint, method=method.upper() if isinstance(method, str) else None,
        host=host, path=path, query=query,
        platform=platform, region=region, domain=domain, inferred=inferred,
        code=code, message=message, error_type=error_type, request_id=request_id,
        body_format=fmt, body=body, headers=headers,
        request_headers=_lower_headers(request.get("headers")), request_body=request_body,
        context=context,
    )
    fact.derived = derive(fact)
    return fact


def derive(fact: Fact) -> dict[str, Any]:
    derived: dict[str, Any] = {}
    sent = _parse_time(fact.context.get("sent_at"))
    answered = _parse_time(fact.headers.get("date"))
    if sent and answered:
        derived["clock_skew_seconds"] = round(abs((answered - sent).total_seconds()))
    env = infer.host_environment(fact.platform, fact.host)
    if env:
        derived["host_environment"] = env
    given = fact.context.get("environment")
    if env and given in ("sandbox", "production"):
        derived["environment_mismatch"] = given != env
    region = infer.api_region(fact.host)
    if region:
        derived["api_region"] = region
    direction = direction_of(fact)
    if direction:
        derived["direction"] = direction
    return derived


def direction_of(fact: Fact) -> str | None:
    """`outbound`: a call the ERP made to a platform's API (managing webhook subscriptions
    included); `inbound`: an event delivered to the ERP's own callback. The payload may say
    so (context.direction); otherwise a platform's own host means outbound, a GET or DELETE
    too (a delivery is POSTed: reading or removing events is a call the ERP makes), and another
    host under a callback-like path (the webhook domain) means inbound."""
    given = fact.context.get("direction")
    if given in ("outbound", "inbound"):
        return given
    host_platform = fact.platform if "platform" in fact.inferred else infer.platform_of(fact.host)
    if fact.host and host_platform != "generic":  # the host was read already when no platform was given
        return "outbound"
    if fact.method in ("GET", "HEAD", "DELETE"):
        return "outbound"
    if fact.domain == "webhook" and (fact.host or fact.path != "/"):
        return "inbound"
    return None
