""""Works in Postman, fails in the ERP": the differences between two calls to one operation
that matter, ranked, and which of them explains the failure.

Differences are found in the request as sent (headers added or dropped or changed, query
parameters and their encoding and order, body fields missing, extra or of another type,
host and region, the token's environment), in the caller's clock (the request timestamp
against the response `Date`) and in the answer's status. The bad call is diagnosed by the
engine; `EXPLAINS` says which kinds of difference each root-cause category is made of, so
the differences of those kinds are ranked first and carry the rule that says so.
"""

from dataclasses import asdict, dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote, unquote_plus, urlsplit

from rules.engine import infer
from rules.privacy import classify, redact_text

from .capture import Exchange
from .decode import decode
from .report import diagnosis

# the kinds of difference each root-cause category consists of (one place for this fact)
EXPLAINS: dict[str, frozenset[str]] = {
    "signature.timestamp_out_of_range": frozenset({"clock"}),
    "signature.invalid": frozenset({"query-order", "query-encoding", "query", "body-value", "clock"}),
    "auth.token_expired": frozenset({"token"}),
    "auth.token_invalid": frozenset({"token", "token-environment"}),
    "auth.environment_mismatch": frozenset({"token-environment", "host"}),
    "auth.app_credentials_invalid": frozenset({"query", "token-environment"}),
    "region.endpoint_mismatch": frozenset({"host", "region"}),
    "validation.missing_field": frozenset({"body-missing", "query-missing"}),
    "validation.type_mismatch": frozenset({"body-type"}),
    "validation.invalid_value": frozenset({"body-value", "body-type", "query"}),
    "validation.malformed_request": frozenset({"content-encoding", "content-type", "body-encoding"}),
    "rate_limit.ip_blocked": frozenset({"proxy"}),
    "webhook.delivery_failed": frozenset({"status"}),
    "platform.server_error": frozenset({"status"}),
    "platform.unavailable": frozenset({"status"}),
}
# how much a kind of difference matters when no diagnosis points at it
WEIGHT = {"clock": 9, "token": 8, "host": 8, "region": 8, "token-environment": 8, "content-encoding": 7,
          "content-type": 7, "body-missing": 6, "body-type": 6, "query-missing": 6, "body-encoding": 6,
          "proxy": 5, "user-agent": 4, "accept": 4, "query": 4, "body-extra": 3, "body-value": 3,
          "query-order": 2, "query-encoding": 2, "header": 1, "status": 1}
PROXY_HEADERS = ("via", "forwarded", "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "x-real-ip",
                 "proxy-authorization", "proxy-connection")
TOKEN_HEADERS = ("authorization", "x-tts-access-token", "x-amz-access-token")
TOKEN_PARAMS = ("access_token",)
VOLATILE_HEADERS = ("content-length", "date", "host", "postman-token", "cookie", "traceparent", "x-request-id")
VOLATILE_PARAMS = ("sign", "timestamp", "ts", "signature", "nonce")
CLOCK_TOLERANCE = 60  # seconds between the request's timestamp and the response Date still seen as in step


@dataclass
class Difference:
    kind: str
    what: str
    good: str | None
    bad: str | None
    weight: int
    explains: bool = False
    rule_id: str | None = None


def _lower(headers: dict[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def _shown(name: str, value: str | None) -> str | None:
    if value is None:
        return None
    return f"[{kind}]" if (kind := classify(name)) else redact_text(value)


def _header_kind(name: str) -> str:
    if name == "content-encoding":
        return "content-encoding"
    if name == "content-type":
        return "content-type"
    if name in PROXY_HEADERS or name.startswith("proxy-"):
        return "proxy"
    if name in TOKEN_HEADERS:
        return "token"
    return {"user-agent": "user-agent", "accept": "accept"}.get(name, "header")


def _headers(good: Exchange, bad: Exchange) -> list[Difference]:
    g, b = _lower(good.request_headers), _lower(bad.request_headers)
    out = []
    for name in sorted(set(g) | set(b)):
        if name in VOLATILE_HEADERS or g.get(name) == b.get(name):
            continue
        kind = _header_kind(name)
        state = "added" if name not in g else "dropped" if name not in b else "changed"
        out.append(Difference(kind, f"header {name} {state}", _shown(name, g.get(name)),
                              _shown(name, b.get(name)), WEIGHT[kind]))
    return out


def _raw_query(exchange: Exchange) -> dict[str, str]:
    out = {}
    for part in urlsplit(exchange.url).query.split("&"):
        name, _, value = part.partition("=")
        if name:
            out[unquote_plus(name)] = value
    return out


def _query(good: Exchange, bad: Exchange) -> list[Difference]:
    g, b = dict(good.query), dict(bad.query)
    out = []
    for name in sorted(set(g) | set(b)):
        if name in VOLATILE_PARAMS:
            continue
        if name in TOKEN_PARAMS:
            if g.get(name) != b.get(name):
                out.append(Difference("token", f"query {name} differs", _shown(name, g.get(name)),
                                      _shown(name, b.get(name)), WEIGHT["token"]))
            continue
        if name not in b:
            out.append(Difference("query-missing", f"query parameter {name} missing", _shown(name, g[name]),
                                  None, WEIGHT["query-missing"]))
        elif name not in g:
            out.append(Difference("query", f"query parameter {name} added", None, _shown(name, b[name]),
                                  WEIGHT["query"]))
        elif g[name] != b[name]:
            out.append(Difference("query", f"query parameter {name} changed", _shown(name, g[name]),
                                  _shown(name, b[name]), WEIGHT["query"]))
    g_order = [k for k, _ in good.query if k in b]
    b_order = [k for k, _ in bad.query if k in g]
    if g_order != b_order and sorted(g_order) == sorted(b_order):
        out.append(Difference("query-order", "query parameters in another order", ",".join(g_order),
                              ",".join(b_order), WEIGHT["query-order"]))
    graw, braw = _raw_query(good), _raw_query(bad)
    for name in sorted(set(graw) & set(braw)):
        if name not in VOLATILE_PARAMS and graw[name] != braw[name] and g.get(name) == b.get(name):
            out.append(Difference("query-encoding", f"query parameter {name} encoded otherwise",
                                  _shown(name, graw[name]), _shown(name, braw[name]), WEIGHT["query-encoding"]))
    return out


def _fields(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            out.update(_fields(item, f"{prefix}.{key}" if prefix else str(key)))
        return out or {prefix: value}
    if isinstance(value, list) and value:
        return _fields(value[0], f"{prefix}[0]")
    return {prefix: value}


def _type(value: Any) -> str:
    return {bool: "boolean", int: "number", float: "number", str: "string", type(None): "null",
            list: "array", dict: "object"}.get(type(value), type(value).__name__)


def _coding(steps: list[str]) -> list[str]:
    """How the sender encoded the body (not how the capture stored it, nor what it holds)."""
    return [step for step in steps if step in ("gzip", "deflate", "br", "base64")]


def _body(good: Exchange, bad: Exchange) -> list[Difference]:
    gd = decode(good.request_body, good.request_headers, good.request_base64)
    bd = decode(bad.request_body, bad.request_headers, bad.request_base64)
    out = []
    g_coding, b_coding = _coding(gd.steps), _coding(bd.steps)
    if g_coding != b_coding:
        out.append(Difference("body-encoding", "the body is encoded otherwise", " -> ".join(g_coding) or "plain",
                              " -> ".join(b_coding) or "plain", WEIGHT["body-encoding"]))
    if not isinstance(gd.value, dict | list) or not isinstance(bd.value, dict | list):
        return out
    g, b = _fields(gd.value), _fields(bd.value)
    for name in sorted(set(g) | set(b)):
        leaf = name.rsplit(".", 1)[-1]
        if leaf in TOKEN_PARAMS:  # a form body's access_token (Lazada posts its parameters)
            if g.get(name) != b.get(name):
                out.append(Difference("token", f"body field {name} differs", _shown(leaf, str(g.get(name))),
                                      _shown(leaf, str(b.get(name))), WEIGHT["token"]))
            continue
        if name not in b:
            out.append(Difference("body-missing", f"body field {name} missing", _shown(leaf, str(g[name])),
                                  None, WEIGHT["body-missing"]))
        elif name not in g:
            out.append(Difference("body-extra", f"body field {name} extra", None, _shown(leaf, str(b[name])),
                                  WEIGHT["body-extra"]))
        elif _type(g[name]) != _type(b[name]):
            out.append(Difference("body-type", f"body field {name} is a {_type(b[name])}, not a {_type(g[name])}",
                                  _type(g[name]), _type(b[name]), WEIGHT["body-type"]))
        elif g[name] != b[name] and leaf not in VOLATILE_PARAMS:
            out.append(Difference("body-value", f"body field {name} changed", _shown(leaf, str(g[name])),
                                  _shown(leaf, str(b[name])), WEIGHT["body-value"]))
    return out


def clock_distance(exchange: Exchange) -> int | None:
    """Seconds between the request's own timestamp and the response's Date."""
    sent = exchange.sent_at()
    date = next((v for k, v in exchange.response_headers.items() if k.lower() == "date"), None)
    if not sent or not date:
        return None
    try:
        answered = parsedate_to_datetime(date)
    except (TypeError, ValueError):
        return None
    return round((answered - datetime.fromisoformat(sent.replace("Z", "+00:00"))).total_seconds())


def _where(exchange: Exchange) -> tuple[str, str | None, str | None]:
    platform = infer.platform_of(exchange.host)
    region = infer.region_of(platform, exchange.host, dict(exchange.query)) if platform else None
    return platform, region, infer.host_environment(platform, exchange.host) if platform else None


def _host(good: Exchange, bad: Exchange) -> list[Difference]:
    out = []
    if good.host != bad.host:
        out.append(Difference("host", "host", good.host, bad.host, WEIGHT["host"]))
    (_gp, g_region, g_env), (_bp, b_region, b_env) = _where(good), _where(bad)
    if g_region != b_region:
        out.append(Difference("region", "region of the host", g_region, b_region, WEIGHT["region"]))
    if g_env != b_env:
        out.append(Difference("token-environment", "environment of the host (and so of the token it takes)",
                              g_env, b_env, WEIGHT["token-environment"]))
    return out


def _clock(good: Exchange, bad: Exchange) -> list[Difference]:
    g, b = clock_distance(good), clock_distance(bad)
    if b is None or abs(b) <= CLOCK_TOLERANCE or (g is not None and abs(g) >= abs(b)):
        return []
    return [Difference("clock", "request timestamp against the response Date (the caller's clock)",
                       f"{g} s" if g is not None else None, f"{b} s", WEIGHT["clock"])]


def differences(good: Exchange, bad: Exchange) -> list[Difference]:
    found = _host(good, bad) + _clock(good, bad) + _headers(good, bad) + _query(good, bad) + _body(good, bad)
    if good.status != bad.status:
        found.append(Difference("status", "response status", str(good.status), str(bad.status), WEIGHT["status"]))
    return found


def compare(good: Exchange, bad: Exchange, kb, lang: str = "en") -> dict:
    """Ranked differences; those the bad call's diagnosis consists of first, with its rule."""
    found = differences(good, bad)
    answer = diagnosis(bad, kb, lang) if bad.failed else None
    kinds = EXPLAINS.get(answer["category"], frozenset()) if answer else frozenset()
    for difference in found:
        if difference.kind in kinds:
            difference.explains, difference.rule_id = True, answer["rule_id"]
    found.sort(key=lambda d: (not d.explains, -d.weight, d.what))
    explaining = [d for d in found if d.explains]
    if explaining:
        verdict = (f"{explaining[0].what} explains the failure: rule {answer['rule_id']} "
                   f"({answer['category']}) - {answer['title']}")
    elif answer:
        verdict = (f"the bad call fails with {answer['category']} ({answer['title']}), but no difference found "
                   "is of that kind: look at what both calls share (credentials, shop, data)")
    else:
        verdict = "the second call did not fail"
    return {"good": {"number": good.number, "operation": good.operation, "status": good.status},
            "bad": {"number": bad.number, "operation": bad.operation, "status": bad.status},
            "same_operation": good.path == bad.path or _quoted(good.path) == _quoted(bad.path),
            "diagnosis": answer, "verdict": verdict, "differences": [asdict(d) for d in found]}


def _quoted(path: str) -> str:
    return quote(unquote_plus(path))


def pick(exchanges: list[Exchange], number: int | None = None, operation: str | None = None,
         failed: bool | None = None) -> Exchange:
    """The call of a capture to compare: by number; else the first of the same operation that
    failed (or worked, as `failed` says), else of the same operation, else the first that
    failed (or worked), else the first. ValueError for a number the capture does not have."""
    if number is not None:
        chosen = next((e for e in exchanges if e.number == number), None)
        if chosen is None:
            raise ValueError(f"no call number {number} in the capture ({len(exchanges)} calls)")
        return chosen
    if not exchanges:
        raise ValueError("no call in the capture to compare")
    path = operation.split(" ", 1)[-1] if operation else None
    preferred = (
        [e for e in exchanges if (failed is None or e.failed == failed) and (path is None or e.path == path)],
        [e for e in exchanges if path is not None and e.path == path],  # the same operation, whatever it did
        [e for e in exchanges if failed is None or e.failed == failed],
        exchanges,
    )
    return next(group for group in preferred if group)[0]
