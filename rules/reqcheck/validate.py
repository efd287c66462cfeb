"""Checks a request an ERP sends (or sent) against the platform's published schema.

The operation is found in the imported catalog (rules/reqcheck/schemas.py) by platform, method and
path; its path, query and header parameters and its body are validated with jsonschema
(Draft 4, the dialect of Swagger 2.0), and the envelope rules no operation schema holds
(kb_content/schemas/envelope.json: signature parameters, timestamp unit and window, where
the access token goes) are checked beside them. Each problem names the JSON path, what the
schema wants, what was sent (its type, and its value masked by rules/privacy.py), a severity
and the doc link. Nothing here knows about Flask: /check, `opsdiag check`, /diagnose and the
batch tool all call `check`.
"""

import difflib
import json
import re
from datetime import datetime
from functools import cache
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import fastjsonschema
from jsonschema import Draft4Validator

from .. import platforms
from ..engine import infer
from ..model import PLATFORMS
from ..privacy import redact
from .schemas import SCHEMA_DIR, Operation, catalog

ENVELOPE_FILE = SCHEMA_DIR / "envelope.json"
SHOWN_CHARS = 64  # of a sent value, after masking
MAX_PROBLEMS = 50

ERROR, WARNING = "error", "warning"
# kind -> (severity, English, Chinese); {expected} and {sent} are filled in.
KINDS = {
    "missing": (ERROR, "required field missing", "缺少必填字段"),
    "type": (ERROR, "wrong type: the schema wants {expected}, got {sent}", "类型错误：应为 {expected}，实际为 {sent}"),
    "enum": (ERROR, "value not among the allowed values {expected}", "取值不在允许范围 {expected} 内"),
    "limit": (ERROR, "outside the schema's limit: {expected}", "超出 schema 限制：{expected}"),
    "shape": (ERROR, "matches none of the allowed shapes", "不符合任何允许的结构"),
    "unknown_field": (WARNING, "field not in the published schema (misspelt or nested wrongly?)",
                      "字段不在平台公布的 schema 中（拼写错误或嵌套层级不对？）"),
    "no_body": (ERROR, "the operation requires a JSON body", "该接口需要 JSON 请求体"),
    "body_not_json": (ERROR, "the body is not JSON", "请求体不是 JSON"),
    "method": (ERROR, "this path takes {expected}, not {sent}", "该路径只接受 {expected}，不接受 {sent}"),
    "unknown_operation": (WARNING, "no imported schema for this operation: nothing was checked against a schema",
                          "没有该接口的已导入 schema：未做 schema 校验"),
    "unknown_platform": (WARNING, "the platform could not be told from the endpoint: nothing was checked",
                         "无法从地址判断平台：未做任何校验"),
    "signature": (ERROR, "signature parameter missing", "缺少签名参数"),
    "timestamp_unit": (ERROR, "timestamp in the wrong unit: the platform wants {expected}",
                       "timestamp 单位错误：平台要求 {expected}"),
    "timestamp_window": (ERROR, "timestamp outside the accepted window: {expected}",
                         "timestamp 超出允许的时间窗口：{expected}"),
    "token_missing": (ERROR, "access token missing: it belongs in {expected}", "缺少访问令牌：应放在 {expected}"),
    "token_misplaced": (ERROR, "access token in the wrong place: it belongs in {expected}",
                        "访问令牌位置错误：应放在 {expected}"),
    "shop_missing": (ERROR, "shop identifier missing: one of {expected}", "缺少店铺标识：需要 {expected} 之一"),
}
JSON_TYPES = ((bool, "boolean"), (int, "integer"), (float, "number"), (str, "string"), (list, "array"),
              (dict, "object"), (type(None), "null"))


def json_type(value: Any) -> str:
    for kind, name in JSON_TYPES:
        if isinstance(value, kind):
            return name
    return type(value).__name__


def _shown(value: Any, key: str) -> Any:
    """The sent value as it may be shown: masked, scalars only, clipped."""
    if isinstance(value, dict | list):
        return None
    masked = redact(value, key=key or None)
    if isinstance(masked, str) and len(masked) > SHOWN_CHARS:
        return masked[:SHOWN_CHARS] + "..."
    return masked


def problem(kind: str, where: str, path: str, lang: str, doc: str | None, expected: Any = None,
            sent: Any = ..., sent_key: str = "") -> dict:
    severity, en, zh = KINDS[kind]
    out = {"where": where, "path": path, "kind": kind, "severity": severity}
    if expected is not None:
        out["expected"] = expected
    if sent is not ...:
        out["sent"] = {"type": json_type(sent), "value": _shown(sent, sent_key)}
    text = zh if lang == "zh-CN" else en
    sent_text = out["sent"]["type"] if "sent" in out else ""
    out["message"] = text.format(expected=expected if expected is not None else "", sent=sent_text)
    out["doc"] = doc
    return out


# -- validation with jsonschema ---------------------------------------------------------------

STRICT = "x-opsdiag-strict"


def strict(schema):
    """The schema with additionalProperties: false added (and marked) wherever an object lists its
    properties and says nothing of others: a field the platform does not know shows up as a
    warning instead of passing silently."""
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: (value if key == "enum" else strict(value)) if key != "properties" else
           {name: strict(sub) for name, sub in value.items()} for key, value in schema.items()}
    if ("properties" in out and "additionalProperties" not in out
            and not any(k in out for k in ("allOf", "oneOf", "anyOf"))):
        out["additionalProperties"] = False
        out[STRICT] = True
    return out


class Validator:
    """One part of an operation (its body, query, path parameters), compiled twice: fastjsonschema
    turns the schema into Python code that says quickly whether a value conforms (the common case
    of a check, about ten times faster than walking the schema), and jsonschema lists every
    problem of a value that does not (fastjsonschema stops at the first)."""

    def __init__(self, schema: dict):
        self.full = Draft4Validator(schema)
        self._quick = fastjsonschema.compile({"$schema": "http://json-schema.org/draft-04/schema#", **schema},
                                             formats=ANY_FORMAT)

    def conforms(self, value: Any) -> bool:
        try:
            self._quick(value)
        except fastjsonschema.JsonSchemaException:
            return False
        return True

    def iter_errors(self, value: Any):
        return iter(()) if self.conforms(value) else self.full.iter_errors(value)


# jsonschema leaves `format` unchecked unless asked; the quick path must not be stricter.
ANY_FORMAT = {name: (lambda _value: True) for name in (
    "date-time", "date", "time", "email", "idn-email", "hostname", "idn-hostname", "ipv4", "ipv6", "uri",
    "uri-reference", "iri", "iri-reference", "uri-template", "json-pointer", "relative-json-pointer", "regex",
    "uuid", "duration", "int32", "int64", "float", "double", "byte", "binary", "password", "date-only")}
_validators: dict[tuple, Validator] = {}


def validator(op: Operation, part: str) -> Validator | None:
    key = (op.platform, op.source.get("path"), op.name, part)
    if key not in _validators:
        schema = op.spec.get(part)
        if schema is None:
            return None
        if part == "body":
            schema = {**strict(schema), "definitions": strict(op.definitions)}
        _validators[key] = Validator(schema)
    return _validators[key]


def _json_path(root: str, parts) -> str:
    out = root
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _describe(error) -> tuple[str, Any]:
    """(kind, what the schema wants) of one jsonschema error."""
    name = error.validator
    if name == "type":
        wanted = error.validator_value
        return "type", wanted if isinstance(wanted, str) else " or ".join(wanted)
    if name == "enum":
        values = list(error.validator_value)
        return "enum", values[:20] + (["..."] if len(values) > 20 else [])
    if name in ("oneOf", "anyOf", "allOf", "not"):
        return "shape", None
    return "limit", f"{name} {error.validator_value}"


def schema_problems(validator_: Validator, instance: Any, where: str, root: str, lang: str,
                    doc: str | None) -> list[dict]:
    found, missing = [], set()
    for error in validator_.iter_errors(instance):
        parts = list(error.absolute_path)
        if error.validator == "required":  # one error per missing field (draft 4): each said once
            present = error.instance if isinstance(error.instance, dict) else {}
            for name in error.validator_value:
                if name not in present and _json_path(root, [*parts, name]) not in missing:
                    missing.add(_json_path(root, [*parts, name]))
                    found.append(problem("missing", where, _json_path(root, [*parts, name]), lang, doc,
                                         expected="present"))
        elif error.validator == "additionalProperties":
            known = error.schema.get("properties", {})
            for name in error.instance:
                if name not in known:
                    kind = "unknown_field"
                    near = difflib.get_close_matches(str(name), list(known), n=3)  # "sku" -> "skus"
                    prob = problem(kind, where, _json_path(root, [*parts, name]), lang, doc,
                                   expected=near or sorted(known)[:12], sent=error.instance[name], sent_key=name)
                    if not error.schema.get(STRICT):  # the platform itself forbids other fields
                        prob["severity"] = ERROR
                    found.append(prob)
        else:
            kind, expected = _describe(error)
            key = str(parts[-1]) if parts else ""
            found.append(problem(kind, where, _json_path(root, parts), lang, doc, expected=expected,
                                 sent=error.instance, sent_key=key))
    return found


# -- parameters arrive as strings -------------------------------------------------------------

INTEGER = re.compile(r"^-?\d+$")
NUMBER = re.compile(r"^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")


def coerce(value: Any, schema: dict) -> Any:
    """A query or path parameter's string as the type its schema names, when it reads as one
    (a string that does not stays a string, and the validator names the mismatch)."""
    if not isinstance(value, str):
        return value
    kind = schema.get("type")
    if kind == "integer" and INTEGER.match(value):
        return int(value)
    if kind == "number" and NUMBER.match(value):
        return float(value)
    if kind == "boolean" and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if kind == "array" and "x-split" in schema:
        items = schema.get("items", {})
        return [coerce(part, items) for part in value.split(schema["x-split"])] if value else []
    if kind in ("array", "object"):
        try:
            parsed = json.loads(value)
        except ValueError:
            parsed = value
        if kind == "array" and not isinstance(parsed, list):  # no declared style: JSON text or a, b, c
            parsed = [coerce(part, schema.get("items", {})) for part in value.split(",")] if value else []
        return parsed
    return value


def coerced(params: dict, schema: dict) -> dict:
    props = schema.get("properties", {})
    return {name: coerce(value, props.get(name, {})) for name, value in params.items()}


# -- the envelope -----------------------------------------------------------------------------

@cache
def envelopes() -> dict:
    return json.loads(ENVELOPE_FILE.read_text(encoding="utf-8"))


def _unit_of(raw: str) -> str | None:
    if INTEGER.match(raw):
        return "ms" if len(raw.lstrip("-")) >= 12 else "s"
    return None


def _timestamp(rule: dict, params: dict, lang: str, doc: str, now: float | None) -> list[dict]:
    name, unit = rule["name"], rule["unit"]
    raw = params.get(name)
    if raw is None:
        return []
    raw = str(raw)
    where, path = "envelope", f"query.{name}"
    sent_unit = _unit_of(raw)
    if sent_unit is None:
        try:
            moment = datetime.fromisoformat(raw.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return [problem("type", where, path, lang, doc, expected=f"Unix time in {unit}", sent=raw)]
    elif sent_unit != unit:
        wanted = "seconds (10 digits)" if unit == "s" else "milliseconds (13 digits)"
        return [problem("timestamp_unit", where, path, lang, doc, expected=wanted, sent=raw)]
    else:
        moment = int(raw) / (1000 if unit == "ms" else 1)
    if now is None:
        return []
    offset = moment - now
    if -rule["past_seconds"] <= offset <= rule["future_seconds"]:
        return []
    expected = f"between {rule['past_seconds']} s before and {rule['future_seconds']} s after now"
    found = problem("timestamp_window", where, path, lang, doc, expected=expected, sent=raw)
    found["offset_seconds"] = round(offset)
    return [found]


def _applies(rule: dict | None, path: str) -> bool:
    return rule is not None and not (rule.get("unless") and re.search(rule["unless"], path))


def envelope_problems(platform: str, path: str, params: dict, headers: dict, lang: str,
                      now: float | None) -> list[dict]:
    rules = envelopes().get(platform)
    if not rules or (rules.get("applies") and not re.search(rules["applies"], path)):
        return []
    doc = rules["doc"]
    found = [problem("signature", "envelope", f"query.{name}", lang, doc, expected="present")
             for name in rules.get("required", ()) if not params.get(name)]
    if "timestamp" in rules:
        found += _timestamp(rules["timestamp"], params, lang, doc, now)
    token = rules.get("token")
    if _applies(token, path):
        places = {"query": params, "headers": headers}
        name, home = token["name"], token["in"]
        if not places[home].get(name):
            legacy = token.get("legacy")  # where an older API version took it
            elsewhere = [where for where, got in places.items() if where != home and got.get(name)]
            elsewhere += [legacy["in"]] if legacy and places[legacy["in"]].get(legacy["name"]) else []
            kind = "token_misplaced" if elsewhere else "token_missing"
            found.append(problem(kind, "envelope", f"{home}.{name}", lang, doc, expected=f"{home}.{name}"))
    shop = rules.get("shop")
    if _applies(shop, path) and not any(params.get(name) for name in shop["one_of"]):
        found.append(problem("shop_missing", "envelope", "query", lang, doc, expected=shop["one_of"]))
    return found


# -- the check --------------------------------------------------------------------------------

def split_endpoint(endpoint: str) -> tuple[str, str, dict[str, str]]:
    """(host, path, query) of an absolute URL or a path."""
    try:
        parts = urlsplit(endpoint if "://" in endpoint else "http://_" + ("" if endpoint.startswith("/") else "/")
                         + endpoint)
        host = "" if parts.hostname in (None, "_") else parts.hostname.lower()
        return host, parts.path or "/", dict(parse_qsl(parts.query, keep_blank_values=True))
    except ValueError:
        return "", "/", {}


def _query_text(value: Any) -> str:
    """A query parameter given as JSON, as it goes on the wire."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return "" if value is None else str(value)


def operation_path(platform: str, path: str) -> str:
    """The path as the schemas write it: a reference may leave out the host's prefix (Lazada's /rest)."""
    prefix = platforms.MARKETPLACES[platform].path_prefix if platform in platforms.MARKETPLACES else ""
    return path[len(prefix):] if prefix and path.startswith(prefix + "/") else path


def _body(op: Operation, body: Any, lang: str) -> tuple[Any, list[dict]]:
    if isinstance(body, str | bytes):
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        if not text.strip():
            body = None
        else:
            try:
                body = json.loads(text)
            except ValueError:
                return None, [problem("body_not_json", "body", "$", lang, op.doc, sent=text[:SHOWN_CHARS])]
    if body is None:
        wanted = op.spec.get("body_required")
        return None, [problem("no_body", "body", "$", lang, op.doc, expected="JSON")] if wanted else []
    return body, []


def check(request: dict, lang: str = "en", now: float | None = None) -> dict:
    """Problems of one request: {method, endpoint, headers, query, body, platform}.
    `now` (Unix seconds) also checks the timestamp's distance from it; None skips that."""
    endpoint = str(request.get("endpoint") or "")
    host, path, query = split_endpoint(endpoint)
    query = {**query, **{str(k): _query_text(v) for k, v in (request.get("query") or {}).items()}}
    headers = {str(k).lower(): v for k, v in (request.get("headers") or {}).items()}
    method = str(request.get("method") or "").upper() or None
    platform = request.get("platform") if request.get("platform") in PLATFORMS else infer.platform_of(host)
    body = request.get("body")
    region = request.get("region") or infer.region_of(platform, host, query)  # as /diagnose infers it
    out: dict = {"platform": platform, "region": region, "operation": None}
    if platform not in platforms.MARKETPLACES:
        return {**out, "ok": False, "problems": [problem("unknown_platform", "endpoint", "endpoint", lang, None)]}
    path = operation_path(platform, path)
    in_body = platforms.MARKETPLACES[platform].params_in_body
    params = {**query, **body} if in_body and isinstance(body, dict) else query  # form-body parameters
    found = envelope_problems(platform, path, params, headers, lang, now)
    op, path_values = catalog().find(platform, method, path)
    if op is None:
        methods = catalog().methods_at(platform, path)
        if methods:
            found.insert(0, problem("method", "method", "method", lang, None, expected=methods, sent=method or ""))
        else:
            found.insert(0, problem("unknown_operation", "endpoint", "endpoint", lang, None,
                                    expected=f"one of the {platform} operations in `opsdiag schemas coverage`"))
        return {**out, "ok": False, "problems": found[:MAX_PROBLEMS]}
    out["operation"] = {"name": op.name, "api": op.api, "version": op.version, "method": op.method,
                        "path": op.path, "domain": op.domain, "doc": op.doc, "source": op.source}
    schema_found = []
    for part, values, root in (("path_params", path_values, "path"), ("query", params, "query")):
        checker = validator(op, part)
        if checker is not None:
            schema_found += schema_problems(checker, coerced(values, op.spec[part]), part.removesuffix("_params"),
                                            root, lang, op.doc)
    if "headers" in op.spec:
        schema_found += [problem("missing", "headers", f"headers.{name}", lang, op.doc, expected="present")
                         for name in op.spec["headers"].get("required", ()) if name not in headers
                         and name != "content-type"]
    if not in_body:
        value, body_found = _body(op, body, lang)
        schema_found += body_found
        checker = validator(op, "body")
        if value is not None and checker is not None:
            schema_found += schema_problems(checker, value, "body", "$", lang, op.doc)
    # the envelope owns the token and signature parameters; the schema's copy of them would say it twice
    said = {p["path"] for p in found}
    found += [p for p in schema_found if p["path"] not in said]
    found.sort(key=lambda p: p["severity"] != ERROR)
    return {**out, "ok": not found, "problems": found[:MAX_PROBLEMS]}


def first_error(result: dict) -> dict | None:
    """The first problem that is an error and names a field of the request, if any."""
    for found in result.get("problems", ()):
        if found["severity"] == ERROR and found["where"] in ("body", "query", "path", "headers"):
            return found
    return None
