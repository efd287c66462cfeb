"""Unpacks a captured body into something a person can read, saying each step it took.

Captures hold bodies as the wire had them: base64 (a HAR's `encoding`, or a client that
sent it so), compressed (gzip, deflate, br by `Content-Encoding` or by their magic bytes),
form or percent encoded, and JSON inside JSON strings (a Lazada `payload=` parameter, a
webhook's `data`). Every step is bounded: at most `MAX_BYTES` come out of a decompressor
(a small bomb cannot fill memory) and JSON is unwrapped `MAX_NESTING` strings deep.
"""

import base64
import binascii
import gzip
import re
import zlib
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote_plus

import brotli

from rules import jsontext

MAX_BYTES = 4 * 1024 * 1024
MAX_NESTING = 4
BASE64 = re.compile(r"^[A-Za-z0-9+/\r\n]+={0,2}$")
FORM = re.compile(r"^[\w.\-\[\]%]+=[^&]*(&[\w.\-\[\]%]+=[^&]*)*$")


@dataclass
class Decoded:
    value: Any  # text, or the JSON / form value it held
    steps: list[str] = field(default_factory=list)
    note: str | None = None  # why a step could not be taken


def _inflate(data: bytes, kind: str) -> bytes:
    if kind == "br":
        out = brotli.Decompressor().process(data, output_buffer_limit=MAX_BYTES)
    else:
        wbits = {"gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}[kind]
        try:
            inflater = zlib.decompressobj(wbits)
            out = inflater.decompress(data, MAX_BYTES)
        except zlib.error:
            if kind != "deflate":
                raise
            inflater = zlib.decompressobj(-zlib.MAX_WBITS)  # raw deflate, as some servers send it
            out = inflater.decompress(data, MAX_BYTES)
    if len(out) >= MAX_BYTES:
        raise ValueError(f"more than {MAX_BYTES} bytes once decompressed")
    return out


def _compression(data: bytes, encoding: str) -> list[str]:
    """The codings to undo, last applied first; a gzip body told by its magic bytes too."""
    kinds = [k.strip().lower() for k in encoding.split(",") if k.strip() and k.strip().lower() != "identity"]
    kinds = ["gzip" if k == "x-gzip" else k for k in kinds]
    if not kinds and data[:2] == b"\x1f\x8b":
        kinds = ["gzip"]
    return list(reversed(kinds))


def decode(body: str | bytes | None, headers: dict | None = None, base64_encoded: bool = False) -> Decoded:
    """`body` as captured, `headers` of the same message (any case)."""
    headers = {str(k).lower(): str(v) for k, v in (headers or {}).items()}
    out = Decoded(value="")
    if body is None or body == "" or body == b"":
        return out
    data = body if isinstance(body, bytes) else None
    if data is None and base64_encoded:
        try:
            data = base64.b64decode(body, validate=False)
            out.steps.append("base64 (as captured)")
        except (binascii.Error, ValueError):
            out.note = "the capture says base64, but it is not"
    if data is None:
        data = body.encode("utf-8", "surrogateescape") if isinstance(body, str) else body
    for kind in _compression(data, headers.get("content-encoding", "")):
        if kind not in ("gzip", "deflate", "br"):
            out.note = f"Content-Encoding {kind} is not one opsdiag can undo"
            break
        try:
            data = _inflate(data, kind)
            out.steps.append(kind)
        except (zlib.error, brotli.error, ValueError, OSError, gzip.BadGzipFile) as exc:
            out.note = f"Content-Encoding says {kind}, but the body is not: {exc}"
            break
    text = data.decode("utf-8", "replace")
    out.value = _text(text.strip(), headers.get("content-type", ""), out.steps, 0)
    return out


def _text(text: str, content_type: str, steps: list[str], depth: int) -> Any:
    if depth > MAX_NESTING or not text:
        return text
    if text[0] in "{[":
        try:
            value = jsontext.loads(text)
        except (ValueError, RecursionError):
            return text
        steps.append("json" if depth == 0 else "json inside a string")
        return _unnest(value, steps, depth + 1)
    if len(text) >= 8 and len(text) % 4 == 0 and BASE64.match(text):
        try:
            raw = base64.b64decode(text, validate=True)
            inner = raw.decode("utf-8")
        except (binascii.Error, ValueError):
            inner = ""
        if inner and (inner.isprintable() or inner.lstrip()[:1] in "{["):
            steps.append("base64")
            return _text(inner.strip(), "", steps, depth + 1)
    if "x-www-form-urlencoded" in content_type or (depth == 0 and FORM.match(text)):
        pairs = parse_qsl(text, keep_blank_values=True)
        if pairs:
            steps.append("form (percent-decoded)")
            return {k: _text(v.strip(), "", steps, depth + 1) for k, v in pairs}
    if "%" in text and re.search(r"%[0-9A-Fa-f]{2}", text):
        decoded = unquote_plus(text)
        if decoded != text:
            steps.append("percent-encoding")
            return _text(decoded, "", steps, depth + 1)
    return text


def _unnest(value: Any, steps: list[str], depth: int) -> Any:
    """JSON values whose strings hold JSON (or base64 JSON) again."""
    if isinstance(value, dict):
        return {k: _unnest(v, steps, depth) for k, v in value.items()}
    if isinstance(value, list):
        return [_unnest(v, steps, depth) for v in value]
    if isinstance(value, str) and value.strip()[:1] in "{[" and depth <= MAX_NESTING:
        return _text(value.strip(), "", steps, depth)
    return value
