"""The error envelope inside a client library's rendering of a response.

ERPs often log what their HTTP client printed rather than the body itself: Guzzle's
"Client error: `POST ...` resulted in a `401 Unauthorized` response: {...}", a
swagger-generated "Exception when calling X: [403] {...}", Python's repr of a dict, a
list or a tuple (`('invalid_client', 'Client authentication failed', 401)`), a Ruby
hash (`{"code"=>"X"}`), a JavaScript object literal (`{ code: 'X', message: '...' }`),
PHP's print_r (`[code] => X`), Symfony's and Laravel's dump() (`array:3 [ "code" => 1 ...]`),
an XML error document (`<Code>..</Code><Message>..`),
form encoding (`oauth_problem=...`), or a JSON document quoted as a JSON string. The
normalizer hands such text here; what comes back is the envelope as a JSON object,
which every envelope reader understands. Only bounded, literal parsing: no eval.
"""

import ast
import itertools
import json
import re
from typing import Any
from urllib.parse import parse_qsl

MAX_SCAN = 16 * 1024  # renderings carry the envelope near their start; the scan cost stays bounded
MAX_LITERAL = 8 * 1024  # a rendering's envelope is small; the scan stays cheap whatever the text
MAX_STARTS = 4
_OPENING = re.compile(r"[{\[(]")
# Keys that make a mapping an error envelope (a data object is not an error).
ENVELOPE_KEYS = frozenset({
    "error", "errors", "code", "message", "msg", "error_description", "error_code", "errorcode",
    "errmsg", "detail", "details", "title", "fault", "type", "status", "statuscode", "description",
})
OAUTH_ERRORS = re.compile(
    r"\b(invalid_client|invalid_grant|invalid_scope|invalid_request|unauthorized_client|unsupported_grant_type"
    r"|unsupported_response_type|invalid_token|insufficient_scope|access_denied|expired_token)\b")
_JS_KEY = re.compile(r"([{,]\s*)([A-Za-z_$][\w$]*)\s*:")
_SINGLE_QUOTED = re.compile(r"'((?:[^'\\]|\\.)*)'")
# print_r's `[key] => value`, one per line or run together on one line; a property's
# visibility is written `[message:protected]`, `[*message]` or `[data:Class:private]`.
# Every repetition is bounded, so that no text makes a scan more than linear.
_PHP_ITEM = re.compile(r"\[\*?([^\[\]:\n]{1,64})(?::[^\]\n]{0,128})?\]\s{0,8}=>[ \t]{0,8}([^\n\[]{0,2000})")
# Symfony's VarDumper (Laravel's dd()/dump()): `"code" => 105005`, `+"message": "..."` per line.
_DUMP_ITEM = re.compile(r'^[ \t]{0,16}\+?"([^"\n]{1,64})"[ \t]{0,4}(?:=>|:)[ \t]{0,4}'
                        r'(?:"((?:[^"\\\n]|\\.){0,2000})"|([^\s\[{]{1,200}))[ \t]*$', re.MULTILINE)
_DUMP_HEAD = re.compile(r"^\s{0,16}(?:array:\d{1,6} \[|\{#\d{1,9}|[\w\\]{1,128} \{#\d{1,9})")
# JSON cut short by a log ("... (truncated...)"): its first code and message still read.
_CUT_FIELD = re.compile(r"\"(code|message|error|error_description|msg)\"\s*:\s*(?:\"((?:[^\"\\]|\\.){1,2000})|(-?\d+))")
# A feed processing report: a tab-separated header naming error-code and error-message.
_REPORT_HEADER = re.compile(r"^(?=[^\n]*\berror-code\b)[^\n]*\t[^\n]*$", re.MULTILINE)
_XML_TAG = re.compile(r"<(?:\w+:)?(Code|code|ErrorCode|errorCode|ResultMessageCode|Message|message|ErrorMessage|"
                      r"ResultDescription|Detail|detail|faultstring|faultcode)(?:\s[^>]*)?>([^<]{1,2000})</")
_XML_CODE_ATTR = re.compile(r"<Error\s+code=\"([^\"]{1,64})\"")
_TSV = re.compile(r"^(code|message|error|category|detail|error-code|error-message)\t+\s*(.+)$",
                  re.MULTILINE | re.IGNORECASE)


def _is_envelope(value: Any) -> bool:
    if isinstance(value, dict):
        return any(str(k).lower() in ENVELOPE_KEYS for k in value)
    if isinstance(value, list) and value:
        return isinstance(value[0], dict) and _is_envelope(value[0])
    return False


def _balanced(text: str, start: int) -> str | None:
    """The bracketed text from start to its closing bracket, skipping quoted strings."""
    pairs = {"{": "}", "[": "]", "(": ")"}
    stack, quote, escaped = [], None, False
    for i in range(start, min(len(text), start + MAX_LITERAL)):
        ch = text[i]
        if quote:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch in pairs:
            stack.append(pairs[ch])
        elif stack and ch == stack[-1]:
            stack.pop()
            if not stack:
                return text[start:i + 1]
        elif ch in ")]}":
            return None
    return None


def _from_tuple(value: tuple) -> dict | None:
    """requests-oauthlib and others render (error, description[, status])."""
    strings = [v for v in value if isinstance(v, str)]
    if strings and OAUTH_ERRORS.fullmatch(strings[0]):
        return {"error": strings[0], "error_description": strings[1] if len(strings) > 1 else None}
    return None


def _literal(chunk: str) -> Any:
    for attempt in (
        lambda c: json.loads(c),
        lambda c: json.loads(c.replace("=>", ":")),  # Ruby's Hash#inspect
        lambda c: ast.literal_eval(c),  # Python's repr
        lambda c: json.loads(_SINGLE_QUOTED.sub(lambda m: json.dumps(m.group(1)), _JS_KEY.sub(r'\1"\2":', c))),
    ):
        try:
            value = attempt(chunk)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
        if isinstance(value, tuple):
            value = _from_tuple(value)
        if _is_envelope(value):
            return value
    return None


def _embedded(text: str) -> Any:
    starts = [m.start() for m in itertools.islice(_OPENING.finditer(text, 0, MAX_SCAN), MAX_STARTS)]
    for start in starts:
        chunk = _balanced(text, start)
        if chunk is None:
            try:  # JSON cut short in a log line: the start of it still reads as JSON
                value, _end = json.JSONDecoder().raw_decode(text[start:start + MAX_SCAN])
            except (ValueError, RecursionError):
                continue
            if _is_envelope(value):
                return value
            continue
        value = _literal(chunk)
        if value is not None:
            return value
    return None


def _php(text: str) -> dict | None:
    items = {}
    for key, value in _PHP_ITEM.findall(text[:MAX_SCAN]):
        key, value = key.strip("'\" ").lower(), value.strip().rstrip(" )")
        if value and not value.startswith(("Array", "stdClass Object")) and key not in items:
            items[key] = value
    return items if _is_envelope(items) else None


def _dump(text: str) -> dict | None:
    if not _DUMP_HEAD.search(text[:200]):
        return None
    items: dict[str, str] = {}
    for key, quoted, bare in _DUMP_ITEM.findall(text[:MAX_SCAN]):
        items.setdefault(key.lower(), quoted if quoted or not bare else bare)
    return items if _is_envelope(items) else None


def _cut_json(text: str) -> dict | None:
    found: dict[str, str] = {}
    for key, text_value, number in _CUT_FIELD.findall(text[:MAX_SCAN]):
        found.setdefault(key, text_value or number)
    return found if ("code" in found or "error" in found) else None


def _report(text: str) -> dict | None:
    """The first data row of a tab-separated feed report with error-code / error-message columns."""
    header = _REPORT_HEADER.search(text[:MAX_SCAN])
    if not header:
        return None
    names = header.group(0).split("\t")
    row = text[header.end():].strip("\r\n").split("\n", 1)[0].split("\t")
    cells = dict(zip(names, row, strict=False))
    code, message = cells.get("error-code"), cells.get("error-message")
    return {"code": code, "message": message} if code or message else None


def _xml(text: str) -> dict | None:
    found: dict[str, str] = {}
    for tag, value in _XML_TAG.findall(text[:MAX_SCAN]):
        key = "code" if "code" in tag.lower() else "message"
        if key not in found or (key == "message" and len(value) > len(found[key])):
            found[key] = value.strip()
    attr = _XML_CODE_ATTR.search(text[:MAX_SCAN])
    if attr and "code" not in found:
        found["code"] = attr.group(1)
    return found or None


def _pairs(text: str) -> dict | None:
    """`oauth_problem=...&...` form encoding, or `code<TAB>value` lines."""
    stripped = text.strip()
    if "=" in stripped and " " not in stripped[: stripped.find("=")] and "\n" not in stripped:
        pairs = dict(parse_qsl(stripped))
        if any(k in pairs for k in ("oauth_problem", "error", "error_description", "message")):
            problem = pairs.pop("oauth_problem", None)  # OAuth 1.0a Problem Reporting
            if problem:
                pairs.setdefault("message", problem)
                if " " not in problem:  # a problem name such as timestamp_refused
                    pairs.setdefault("error", problem)
            return pairs
    lines = {k.lower(): v.strip() for k, v in _TSV.findall(text[:MAX_SCAN])}
    return lines if _is_envelope(lines) else None


def unwrap(text: str, depth: int = 0) -> Any:
    """The error envelope a rendering carries (a dict or a list of dicts), else None."""
    stripped = text.strip()
    if not stripped:
        return None
    if stripped[0] == '"' and depth < 2:  # a JSON document quoted as a JSON string
        try:
            inner = json.loads(stripped)
        except ValueError:
            inner = None
        if isinstance(inner, str):
            return unwrap(inner, depth + 1)
    if stripped[0] == "<" or "<?xml" in stripped[:200]:
        return _xml(stripped)
    for reader in (_dump, _embedded, _php, _cut_json, _report, _pairs):
        found = reader(stripped)
        if found:
            return found
    return None


def oauth_error(text: str) -> str | None:
    """An OAuth 2.0 error name (RFC 6749 5.2, RFC 6750 3.1) named anywhere in the text."""
    match = OAUTH_ERRORS.search(text[:MAX_SCAN])
    return match.group(1) if match else None
