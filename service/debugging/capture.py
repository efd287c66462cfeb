"""Reads a capture - a HAR export or JSONL of calls as `opsdiag batch` reads them - into
`Exchange`s: every call, the ones that worked too, since a report is a timeline.

The file is opened by `service/batch/readers.py` (encoding and format detection, the same
JSONL lines); a HAR is one JSON document and is read whole. A failed exchange becomes the
same `/diagnose` payload as in `opsdiag batch` (`payloads.har_payload`), plus the time the
caller's clock put in the request (`timestamp`), so that clock skew shows.
"""

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from rules import jsontext

from .. import limits
from ..batch.payloads import har_payload, is_error_envelope
from ..batch.readers import SAMPLE_BYTES, InputError, InputFile, detect_encoding, detect_format
from .decode import decode

TIMESTAMP_PARAMS = ("timestamp", "ts")


@dataclass
class Exchange:
    """One call of a capture, as it was sent and answered."""

    number: int
    method: str
    url: str
    status: int
    started: str | None = None
    elapsed_ms: float | None = None
    request_headers: dict[str, str] = field(default_factory=dict)
    request_body: str | None = None
    request_base64: bool = False
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: str | None = None
    response_base64: bool = False
    request_bytes: int | None = None
    response_bytes: int | None = None
    payload_source: dict | None = None  # a JSONL line is already a /diagnose payload

    @property
    def host(self) -> str:
        return (urlsplit(self.url).hostname or "").lower()

    @property
    def path(self) -> str:
        return urlsplit(self.url).path or "/"

    @property
    def operation(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def query(self) -> list[tuple[str, str]]:
        return parse_qsl(urlsplit(self.url).query, keep_blank_values=True)

    @property
    def params(self) -> list[tuple[str, str]]:
        """The query and, for a form body (Lazada posts its parameters so), the form's fields."""
        form = []
        content_type = next((v for k, v in self.request_headers.items() if k.lower() == "content-type"), "")
        if "x-www-form-urlencoded" in content_type.lower() and self.request_body and not self.request_base64:
            form = parse_qsl(self.request_body, keep_blank_values=True)
        return self.query + form

    @property
    def response_text(self) -> str | None:
        """The response body as text: a HAR's base64 (and any compression in it) undone."""
        if not self.response_base64 or not self.response_body:
            return self.response_body
        value = decode(self.response_body, self.response_headers, True).value
        return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)

    @property
    def failed(self) -> bool:
        if self.status == 0 or self.status >= 400:
            return True
        return 200 <= self.status < 300 and is_error_envelope(self.response_text)

    def sent_at(self) -> str | None:
        """The caller's clock as the request states it (epoch seconds or milliseconds)."""
        for name, value in self.params:
            if name in TIMESTAMP_PARAMS and value.isdigit() and len(value) in (10, 13):
                seconds = int(value) / (1000 if len(value) == 13 else 1)
                return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")
        return None

    def payload(self) -> dict:
        """The /diagnose payload of this call."""
        if self.payload_source is not None:
            return self.payload_source
        payload: dict[str, Any] = {"status": self.status, "endpoint": self.url, "method": self.method}
        if self.response_headers:
            payload["headers"] = self.response_headers
        if self.response_body:
            payload["body"] = (self.response_text or "")[: limits.LIMITS.string_chars]
        sent: dict[str, Any] = {}
        if self.request_headers:
            sent["headers"] = self.request_headers
        if self.request_body:
            sent["body"] = self.request_body[: limits.LIMITS.string_chars]
        if sent:
            payload["request"] = sent
        context = {k: v for k, v in (("occurred_at", self.started), ("sent_at", self.sent_at())) if v}
        if context:
            payload["context"] = context
        return payload


def _headers(items: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items if isinstance(items, list) else []:
        if (isinstance(item, dict) and isinstance(item.get("name"), str) and isinstance(item.get("value"), str)
                and not item["name"].startswith(":")):  # HTTP/2 pseudo-headers
            name = item["name"]
            out[name] = f"{out[name]}, {item['value']}" if name in out else item["value"]
    return out


def _size(value: Any) -> int | None:
    return value if isinstance(value, int) and value >= 0 else None


def from_har_entry(number: int, entry: Any) -> Exchange:
    entry = entry if isinstance(entry, dict) else {}
    request = entry.get("request") if isinstance(entry.get("request"), dict) else {}
    response = entry.get("response") if isinstance(entry.get("response"), dict) else {}
    content = response.get("content") if isinstance(response.get("content"), dict) else {}
    post = request.get("postData") if isinstance(request.get("postData"), dict) else {}
    status = response.get("status")
    text = content.get("text") if isinstance(content.get("text"), str) else None
    exchange = Exchange(
        number=number, method=str(request.get("method") or "GET").upper(), url=str(request.get("url") or ""),
        status=status if isinstance(status, int) else 0,
        started=entry.get("startedDateTime") if isinstance(entry.get("startedDateTime"), str) else None,
        elapsed_ms=entry.get("time") if isinstance(entry.get("time"), int | float) else None,
        request_headers=_headers(request.get("headers")),
        request_body=post.get("text") if isinstance(post.get("text"), str) else None,
        request_base64=post.get("encoding") == "base64",
        response_headers=_headers(response.get("headers")),
        response_body=text, response_base64=content.get("encoding") == "base64",
        request_bytes=_size(request.get("bodySize")),
        response_bytes=_size(content.get("size")) if _size(content.get("size")) is not None
        else _size(response.get("bodySize")))
    if exchange.failed and not exchange.response_base64:
        payload = har_payload(entry)  # the same payload `opsdiag batch` builds (cookies dropped)
        if payload is not None:
            context = payload.setdefault("context", {})
            if exchange.sent_at():
                context["sent_at"] = exchange.sent_at()
            exchange.payload_source = payload
    return exchange


def from_har(document: Any) -> list[Exchange]:
    """ValueError when it is not a HAR document."""
    log = document.get("log") if isinstance(document, dict) else None
    entries = log.get("entries") if isinstance(log, dict) else None
    if not isinstance(entries, list):
        raise ValueError("not a HAR file: no log.entries")
    return [from_har_entry(n, e) for n, e in enumerate(entries, start=1)]


def from_payload(number: int, payload: Any) -> Exchange:
    """A JSONL line: a /diagnose payload (`status`, `endpoint`, ...), optionally with
    `elapsed_ms` and `started_at` for the timeline."""
    if not isinstance(payload, dict):
        raise ValueError(f"line {number}: not a JSON object")
    sent = payload.get("request") if isinstance(payload.get("request"), dict) else {}
    context = payload.get("context") if isinstance(payload.get("context"), dict) else {}
    body = payload.get("body")
    status = payload.get("status")
    return Exchange(
        number=number, method=str(payload.get("method") or "GET").upper(), url=str(payload.get("endpoint") or ""),
        status=status if isinstance(status, int) else 0,
        started=str(payload.get("started_at") or context.get("occurred_at") or "") or None,
        elapsed_ms=payload.get("elapsed_ms") if isinstance(payload.get("elapsed_ms"), int | float) else None,
        request_headers={str(k): str(v) for k, v in sent["headers"].items()}
        if isinstance(sent.get("headers"), dict) else {},
        request_body=sent.get("body") if isinstance(sent.get("body"), str) or sent.get("body") is None
        else json.dumps(sent["body"]),
        response_headers={str(k): str(v) for k, v in (payload.get("headers") or {}).items()}
        if isinstance(payload.get("headers"), dict) else {},
        response_body=body if isinstance(body, str) or body is None else json.dumps(body),
        payload_source={k: v for k, v in payload.items() if k not in ("elapsed_ms", "started_at", "id")})


def read(path: Path | str) -> list[Exchange]:
    """Every call of a capture file; InputError when the file cannot be read as one."""
    path = Path(path)
    try:
        sample = path.open("rb").read(SAMPLE_BYTES)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from exc
    encoding = detect_encoding(sample)
    kind = detect_format(path, sample.decode(encoding, errors="replace").lstrip("\ufeff")[:4096])
    if kind == "har":  # one JSON document (the batch reader keeps only its failed entries)
        try:
            return from_har(jsontext.loads(path.read_text(encoding, errors="replace").lstrip("\ufeff")))
        except (ValueError, RecursionError) as exc:
            raise InputError(f"not a HAR file: {exc}") from exc
    if kind != "jsonl":
        raise InputError("a capture is a HAR file or JSONL of calls, not CSV")
    with InputFile(path, kind="jsonl") as source:
        exchanges = []
        for chunk in source.chunks(1000):
            for number, line in chunk:
                try:
                    exchanges.append(from_payload(number, jsontext.loads(line)))
                except (ValueError, RecursionError, AttributeError) as exc:
                    raise InputError(f"line {number}: {exc}") from exc
        return exchanges
