"""Turns a CSV row of an ops-error board or a HAR entry into a /diagnose payload.

The payload is then validated by the same DiagnoseRequestSchema as POST /diagnose; when
it fails, the error names the CSV column (`retry_count`, not `context.retry_count`).
Values are passed on as given: a cell that is not a number where one is expected stays
a string, so that the schema, not this module, says what is wrong with it.
"""

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from rules import jsontext, platforms
from rules.engine.compiler import number_or_text
from rules.engine.normalize import parse_body, read_envelope

from .. import limits
from ..schemas import HEADER_NAME
from .columns import recognise, region_value

# canonical column -> where its value goes in the payload (used to name errors)
COLUMNS = {
    "error_id": "id",
    "api_endpoint": "endpoint",
    "http_status": "status",
    "error_code": "body",
    "error_message": "body",
    "first_occurred_at": "context.occurred_at",
    "retry_count": "context.retry_count",
    "shop_id": "context.shop_id",
    "region": "region",
    "platform": "platform",
    "response_headers": "headers",
    "response_body": "body",
    "method": "method",
    "request_body": "request.body",
}
REQUIRED = ("api_endpoint", "http_status")
SLASH_DATE = re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$")
SUCCESS_CODES = frozenset({"0", "200", "ok", "success", "true"})
DROPPED_HEADERS = frozenset({"cookie", "set-cookie"})


@lru_cache(maxsize=1024)
def column_key(name: str) -> str:
    """`Error ID`, `error-id` and ` ERROR_ID ` all name the column error_id."""
    return re.sub(r"[\s\-]+", "_", name.strip().lstrip("\ufeff").strip().lower())


def number(text: str) -> Any:
    """A whole number as an int, anything else as the text (the schema names the field)."""
    value = number_or_text(text)
    if value.__class__ is float and value.is_integer():
        return int(value)
    return value if value.__class__ is int else text


def timestamp(text: str) -> Any:
    if text.isdigit():
        return int(text)  # epoch seconds or milliseconds
    match = SLASH_DATE.match(text)
    if match:  # Excel's 2024/3/5 10:22 -> ISO 8601
        y, mo, d, h, mi, s = (int(g) if g else 0 for g in match.groups())
        try:
            return datetime(y, mo, d, h, mi, s).isoformat()
        except ValueError:
            return text
    return text


def _headers(text: str) -> Any:
    """A JSON object, or `Name: value` lines as an HTTP client prints them."""
    if text.startswith("{"):
        try:
            return jsontext.loads(text)
        except (ValueError, RecursionError):
            return text
    headers: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        name, sep, value = line.partition(":")
        if not sep:
            return text  # not headers: the schema says so
        name, value = name.strip(), value.strip()
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return headers


@dataclass(frozen=True)
class CsvLayout:
    """Which column holds what, from the header line; extra columns are kept as they are."""

    header: tuple[str, ...]
    delimiter: str
    index: dict[str, int]  # canonical name -> position
    region_as_is: bool = True  # the region column is `region` itself (columns.region_value)

    @classmethod
    def from_header(cls, header: list[str], delimiter: str = ",", overrides: dict[str, str] | None = None):
        """ValueError when a column the payload needs is missing (columns.py: the names
        each column goes by; `overrides` maps canonical names to header names)."""
        overrides = overrides or {}
        index = recognise([column_key(name) for name in header], overrides, column_key)
        missing = [c for c in REQUIRED if c not in index]
        if missing:
            raise ValueError(f"line 1: no column {', '.join(missing)} in the header "
                             f"(found: {', '.join(h.strip() for h in header)[:300]}); "
                             f"--columns {missing[0]}=NAME names it")
        header = [name.lstrip("\ufeff") for name in header]
        as_is = "region" not in index or column_key(header[index["region"]]) == "region" or "region" in overrides
        return cls(tuple(header), delimiter, index, as_is)

    @property
    def width(self) -> int:
        return len(self.header)

    def column_for(self, field: str) -> str:
        """The header name of the column a payload field came from (for errors)."""
        if field == "body" and "response_body" not in self.index:
            for key in ("error_message", "error_code"):  # the body was built from them
                if key in self.index:
                    return self.header[self.index[key]]
        for key, target in COLUMNS.items():
            if target == field and key in self.index:
                return self.header[self.index[key]]
        return field

    def payload(self, row: list[str]) -> dict:
        cells = {name: row[position].strip() for name, position in self.index.items()}
        get = cells.get
        status = get("http_status", "")
        payload: dict[str, Any] = {"status": number(status)} if status else {}
        payload["endpoint"] = get("api_endpoint", "")
        if get("error_id"):
            payload["id"] = cells["error_id"]
        if get("method"):
            payload["method"] = cells["method"]
        if get("platform"):
            key = column_key(cells["platform"])
            payload["platform"] = platforms.by_alias(key) or key
        region = get("region") and region_value(cells["region"], self.region_as_is)
        if region:
            payload["region"] = region
        if get("response_headers"):
            payload["headers"] = _headers(cells["response_headers"])
        if get("response_body"):
            payload["body"] = cells["response_body"]
        else:
            code, message = get("error_code"), get("error_message")
            if code and message:
                payload["body"] = {"code": code, "message": message}
            elif code or message:
                payload["body"] = {"code": code} if code else {"message": message}
        if get("request_body"):
            payload["request"] = {"body": cells["request_body"]}  # checked against the operation's schema
        context: dict[str, Any] = {}
        if get("shop_id"):
            context["shop_id"] = cells["shop_id"]
        if get("retry_count"):
            context["retry_count"] = number(cells["retry_count"])
        if get("first_occurred_at"):
            context["occurred_at"] = timestamp(cells["first_occurred_at"])
        if context:
            payload["context"] = context
        return payload


# -- HAR 1.2 ------------------------------------------------------------------------


def _har_headers(items: Any) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(items, list):
        return headers
    for item in items:
        if not isinstance(item, dict):
            continue
        name, value = item.get("name"), item.get("value")
        if not isinstance(name, str) or not isinstance(value, str) or not HEADER_NAME.match(name):
            continue  # HTTP/2 pseudo-headers (:authority) and junk
        if name.lower() in DROPPED_HEADERS or len(headers) >= limits.LIMITS.payload_headers:
            continue
        value = value[: limits.LIMITS.header_value_chars]
        headers[name] = [*headers[name], value] if isinstance(headers.get(name), list) else (
            [headers[name], value] if name in headers else value)
    return headers


def _har_text(content: Any) -> str | None:
    if not isinstance(content, dict) or not isinstance(content.get("text"), str):
        return None
    text = content["text"]
    if content.get("encoding") == "base64":
        try:
            text = base64.b64decode(text).decode("utf-8", "replace")
        except (binascii.Error, ValueError):
            return None
    return text[: limits.LIMITS.string_chars] or None


def is_error_envelope(text: str | None) -> bool:
    """A 200 answer that still reports an error (TikTok Shop and Lazada do this)."""
    if not text:
        return False
    body, fmt = parse_body(text)
    if fmt != "json":
        return False
    if isinstance(body, dict) and (body.get("errors") or body.get("error")):
        return True
    code, _message, _type, _request_id = read_envelope(body, fmt)
    return code is not None and code.strip().lower() not in SUCCESS_CODES


def har_payload(entry: Any) -> dict | None:
    """The payload of a failed HAR entry; None for an entry that did not fail."""
    if not isinstance(entry, dict):
        return None
    request = entry.get("request") if isinstance(entry.get("request"), dict) else {}
    response = entry.get("response") if isinstance(entry.get("response"), dict) else {}
    status = response.get("status")
    body = _har_text(response.get("content"))
    failed = isinstance(status, int) and status >= 400
    if not failed and not (isinstance(status, int) and 200 <= status < 300 and is_error_envelope(body)):
        return None
    payload: dict[str, Any] = {"status": status, "endpoint": request.get("url") or ""}
    if isinstance(request.get("method"), str):
        payload["method"] = request["method"]
    headers = _har_headers(response.get("headers"))
    if headers:
        payload["headers"] = headers
    if body is not None:
        payload["body"] = body
    sent: dict[str, Any] = {}
    sent_headers = _har_headers(request.get("headers"))
    if sent_headers:
        sent["headers"] = sent_headers
    post = request.get("postData")
    if isinstance(post, dict) and isinstance(post.get("text"), str) and post["text"]:
        sent["body"] = post["text"][: limits.LIMITS.string_chars]
    if sent:
        payload["request"] = sent
    if isinstance(entry.get("startedDateTime"), str):
        payload["context"] = {"occurred_at": entry["startedDateTime"]}
    return payload
