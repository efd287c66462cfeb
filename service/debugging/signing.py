"""Recomputes a marketplace's request signature from a captured call, and says which input differs.

The app secret comes from the caller (an environment variable or standard input, see
`cli.py`); it is used here and nowhere else: never stored, logged or put in an answer
(the string to sign is shown with the secret as `{app_secret}` and tokens masked).

Each scheme is written from the platform's own documentation or official SDK:

- `tiktok_shop` (API versions 202309 and later): path + sorted `{key}{value}` of the
  query without `sign` and `access_token` + the body unless multipart/form-data, wrapped
  in the secret, HMAC-SHA256, lower-case hex. source:
  https://partner.tiktokshop.com/docv2/page/sign-your-api-request (Go, Java, Node.js code
  and the worked example of Get Authorized Shops).
- `tiktok_shop_legacy` (the `/api/...` paths before 202309): the same without the body.
  source: https://partner.tiktokshop.com/doc/page/274638 ("Extract all query param EXCEPT
  sign, access_token ... Append the request path to the beginning ... Wrap ... with
  app_secret").
- `shopee_v2`: partner_id + API path + timestamp [+ access_token + shop_id | merchant_id],
  HMAC-SHA256 keyed with the partner key, hex. source: Shopee Open Platform, "API calls",
  Signature calculation (https://open.shopee.com/developer-guide/16).
- `lazada`: the API name (the path after `/rest`) + sorted `{key}{value}` of every
  parameter but `sign` (query and form body), HMAC-SHA256, upper-case hex. source: the
  official Lazada Open Platform SDK (`lazop`, `base.sign`; PyPI `lazop-sdk`).
- `hmac`: any other gateway, described by a small declarative form (`HmacForm`).

`check()` recomputes the signature; when it differs from the one sent, it recomputes it
again with one input changed at a time the way clients get it wrong (another path, the
parameters unsorted or with the token, the body re-serialised or left out, a timestamp
near the one sent, another algorithm or case) and names the input whose change
reproduces the signature sent. When none does, the secret is what differs.
"""

import base64
import hashlib
import hmac
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from rules import platforms
from rules.privacy import redact_text

INPUTS = ("path", "parameters", "body", "timestamp", "algorithm", "secret")
TIMESTAMP_WINDOW = 900  # seconds either side of the timestamp sent that `check` tries


@dataclass(frozen=True)
class Call:
    """The parts of a captured request that signatures read."""

    method: str
    path: str
    query: tuple[tuple[str, str], ...]  # as sent, in order, percent-decoded
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names

    @classmethod
    def from_url(cls, method: str, url: str, headers: dict | None = None, body: str | None = None) -> "Call":
        parts = urlsplit(url)
        return cls(method.upper(), unquote(parts.path) or "/",
                   tuple(parse_qsl(parts.query, keep_blank_values=True)), body or "",
                   {str(k).lower(): str(v) for k, v in (headers or {}).items()})

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    def param(self, name: str) -> str | None:
        return next((v for k, v in self.query if k == name), None)

    def with_param(self, name: str, value: str) -> "Call":
        return replace(self, query=tuple((k, value if k == name else v) for k, v in self.query))

    def read(self, where: str) -> str | None:
        """`param:NAME` or `header:NAME`."""
        kind, _, name = where.partition(":")
        return self.param(name) if kind == "param" else self.headers.get(name.lower())

    def with_value(self, where: str, value: str) -> "Call":
        kind, _, name = where.partition(":")
        if kind == "param":
            return self.with_param(name, value)
        return replace(self, headers={**self.headers, name.lower(): value})


def _hmac(secret: str, text: str, digest: str = "sha256") -> bytes:
    return hmac.new(secret.encode("utf-8"), text.encode("utf-8"), digest).digest()


@dataclass(frozen=True)
class Variant:
    """How a scheme builds its string: the knobs `check` turns to find the differing input."""

    sort: bool = True
    drop: tuple[str, ...] = ("sign", "access_token")
    body: bool = True
    wrap: bool = True
    upper: bool = False
    keyed: bool = True  # HMAC; False: a plain SHA-256 of the string (a common mistake)


class Scheme:
    """A platform's signing rule: `string_to_sign` and `encode`; the signature's place."""

    name = ""
    source = ""
    param = "sign"
    variant = Variant()
    timestamp_at = "param:timestamp"

    def string_to_sign(self, call: Call, secret: str, v: Variant) -> str:
        raise NotImplementedError

    def sign(self, call: Call, secret: str, v: Variant | None = None) -> str:
        v = v or self.variant
        text = self.string_to_sign(call, secret, v)
        raw = _hmac(secret, text) if v.keyed else hashlib.sha256(text.encode("utf-8")).digest()
        return raw.hex().upper() if v.upper else raw.hex()

    def sent(self, call: Call) -> str | None:
        return call.param(self.param)

    def shown(self, call: Call, secret: str) -> str:
        """The string to sign, safe to print: the secret replaced, tokens masked."""
        text = self.string_to_sign(call, secret, self.variant)
        text = text.replace(secret, "{app_secret}") if secret else text
        token = call.param("access_token")
        if token:  # a short token could also be part of a key's name
            text = text.replace(token, "{access_token}") if len(token) >= 8 else text.replace(
                f"access_token{token}", "access_token{access_token}")
        return redact_text(text)


def _pairs(call: Call, v: Variant) -> str:
    items = [(k, val) for k, val in call.query if k not in v.drop]
    return "".join(f"{k}{val}" for k, val in (sorted(items) if v.sort else items))


class TikTokShop(Scheme):
    name = "tiktok_shop"
    source = "https://partner.tiktokshop.com/docv2/page/sign-your-api-request"

    def string_to_sign(self, call, secret, v):
        text = call.path + _pairs(call, v)
        if v.body and call.content_type != "multipart/form-data":
            text += call.body
        return f"{secret}{text}{secret}" if v.wrap else text


class TikTokShopLegacy(TikTokShop):
    name = "tiktok_shop_legacy"
    source = "https://partner.tiktokshop.com/doc/page/274638"
    variant = Variant(body=False)


class ShopeeV2(Scheme):
    name = "shopee_v2"
    source = "https://open.shopee.com/developer-guide/16"
    variant = Variant(drop=())

    def string_to_sign(self, call, secret, v):
        get = call.param
        parts = [get("partner_id") or "", call.path, get("timestamp") or ""]
        if get("access_token") is not None and "access_token" not in v.drop:
            parts += [get("access_token") or "", get("shop_id") or get("merchant_id") or ""]
        return "".join(parts)


class Lazada(Scheme):
    name = "lazada"
    source = "lazop-sdk (Lazada Open Platform official SDK), lazop/base.py sign()"
    variant = Variant(drop=("sign",), upper=True)

    def _params(self, call: Call) -> list[tuple[str, str]]:
        items = list(call.query)
        if call.content_type == "application/x-www-form-urlencoded" and call.body:
            items += parse_qsl(call.body, keep_blank_values=True)
        return items

    def sent(self, call):
        return next((val for k, val in self._params(call) if k == "sign"), None)

    def string_to_sign(self, call, secret, v):
        api = call.path.removeprefix("/rest") if v.wrap else call.path
        items = [(k, val) for k, val in self._params(call) if k not in v.drop]
        return api + "".join(f"{k}{val}" for k, val in (sorted(items) if v.sort else items))


# -- a declarative HMAC scheme for other gateways ----------------------------------------

PARTS: dict[str, Callable[[Call, str], str]] = {
    "method": lambda call, _arg: call.method,
    "path": lambda call, _arg: call.path,
    "query": lambda call, _arg: "&".join(f"{k}={v}" for k, v in sorted(call.query) if k != "sign"),
    "body": lambda call, _arg: call.body,
    "body_sha256": lambda call, _arg: hashlib.sha256(call.body.encode("utf-8")).hexdigest(),
    "header": lambda call, arg: call.headers.get(arg.lower(), ""),
    "param": lambda call, arg: call.param(arg) or "",
    "literal": lambda _call, arg: arg,
}
ENCODINGS = ("hex", "HEX", "base64")


@dataclass(frozen=True)
class HmacForm(Scheme):
    """A gateway's HMAC, as data: `{"parts": ["method", "path", "header:X-Timestamp",
    "body"], "separator": "\\n", "digest": "sha256", "encoding": "hex", "signature":
    "header:X-Signature", "timestamp": "header:X-Timestamp"}`."""

    parts: tuple[str, ...] = ("method", "path", "query", "body")
    separator: str = "\n"
    digest: str = "sha256"
    encoding: str = "hex"
    signature: str = "param:sign"
    timestamp: str = "param:timestamp"
    name: str = "hmac"
    source: str = "the gateway's own description (HmacForm)"

    @classmethod
    def parse(cls, form: Any) -> "HmacForm":
        """ValueError naming the field that is wrong."""
        if not isinstance(form, dict):
            raise ValueError("the HMAC form must be a JSON object")
        unknown = set(form) - {"parts", "separator", "digest", "encoding", "signature", "timestamp", "name"}
        if unknown:
            raise ValueError(f"unknown field(s): {', '.join(sorted(unknown))}")
        parts = tuple(form.get("parts") or cls.parts)
        for part in parts:
            if not isinstance(part, str) or part.partition(":")[0] not in PARTS:
                raise ValueError(f"parts: {part!r} is not one of {', '.join(PARTS)} (name:argument)")
        digest = str(form.get("digest", cls.digest))
        if digest not in hashlib.algorithms_guaranteed:
            raise ValueError(f"digest: {digest!r} is not a hash the standard library has")
        encoding = str(form.get("encoding", cls.encoding))
        if encoding not in ENCODINGS:
            raise ValueError(f"encoding: {encoding!r} is not one of {', '.join(ENCODINGS)}")
        fields = {k: str(form[k]) for k in ("separator", "signature", "timestamp", "name") if k in form}
        for key in ("signature", "timestamp"):
            where = fields.get(key, getattr(cls, key)).partition(":")[0]
            if where not in ("param", "header"):
                raise ValueError(f"{key}: must be param:NAME or header:NAME")
        return cls(parts=parts, digest=digest, encoding=encoding, **fields)

    @property
    def timestamp_at(self) -> str:  # type: ignore[override]
        return self.timestamp

    @property
    def variant(self) -> Variant:  # type: ignore[override]
        return Variant(drop=("sign",), upper=self.encoding == "HEX")

    def sent(self, call):
        return call.read(self.signature)

    def string_to_sign(self, call, secret, v):
        values = []
        for part in self.parts:
            kind, _, arg = part.partition(":")
            if kind == "body" and not v.body:
                continue
            if kind == "query" and not v.sort:
                values.append("&".join(f"{k}={val}" for k, val in call.query if k != "sign"))
                continue
            values.append(PARTS[kind](call, arg))
        return self.separator.join(values)

    def sign(self, call, secret, v=None):
        v = v or self.variant
        text = self.string_to_sign(call, secret, v)
        raw = hmac.new(secret.encode("utf-8"), text.encode("utf-8"), self.digest).digest()
        if self.encoding == "base64":
            return base64.b64encode(raw).decode("ascii")
        return raw.hex().upper() if v.upper else raw.hex()


SCHEMES: dict[str, Scheme] = {s.name: s for s in (TikTokShop(), TikTokShopLegacy(), ShopeeV2(), Lazada())}


def scheme_for(name: str, form: Any = None) -> Scheme:
    """The scheme named (`hmac` needs its form); ValueError otherwise."""
    if name == "hmac":
        return HmacForm.parse(form)
    if name not in SCHEMES:
        raise ValueError(f"unknown scheme {name!r}; one of {', '.join([*SCHEMES, 'hmac'])}")
    return SCHEMES[name]


def guess_scheme(call: Call, host: str) -> str | None:
    """The scheme the host's platform signs with (rules/platforms/: TikTok Shop's legacy for `/api/`)."""
    platform = platforms.of_host(host.lower())
    return platform.signing_scheme(call.path) if platform else None


# -- finding the input that differs -------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """The answer of `check`: never holds the secret, and the signatures only shortened."""

    scheme: str
    source: str
    valid: bool
    differs: str | None  # one of INPUTS, None when valid
    detail: str
    string_to_sign: str
    sent: str | None
    expected: str

    def as_dict(self) -> dict:
        return {"scheme": self.scheme, "source": self.source, "valid": self.valid, "differs": self.differs,
                "detail": self.detail, "string_to_sign": self.string_to_sign,
                "sent": _short(self.sent), "expected": _short(self.expected)}


def _short(signature: str | None) -> str | None:
    return f"{signature[:8]}…" if signature else signature


def _json_forms(body: str) -> Iterator[tuple[str, str]]:
    try:
        value = json.loads(body)
    except ValueError:
        return
    yield "compact", json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    yield "with spaces (json.dumps default)", json.dumps(value)
    yield "with sorted keys", json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def _candidates(scheme: Scheme, call: Call) -> Iterator[tuple[str, str, Call, Variant]]:
    """(input, how, call, variant): one input changed at a time, as clients get it wrong."""
    base = scheme.variant
    path = call.path
    for other in {path.rstrip("/"), path + "/", "/" + path.lstrip("/").split("/", 1)[-1]} - {path}:
        yield "path", f"signed over the path {other!r}, sent {path!r}", replace(call, path=other), base
    if not isinstance(scheme, HmacForm) or "query" in scheme.parts:
        yield "parameters", "signed with the parameters in the order sent, not sorted", call, replace(base, sort=False)
    for name in base.drop:
        if name != "sign" and call.param(name) is not None:
            yield "parameters", f"signed with {name} among the parameters", call, replace(
                base, drop=tuple(d for d in base.drop if d != name))
    for name, _value in call.query:
        if name not in base.drop and name not in ("sign",):
            fewer = replace(call, query=tuple(p for p in call.query if p[0] != name))
            yield "parameters", f"the parameter {name} was added after signing (or not signed)", fewer, base
    if call.body:
        yield "body", "signed without the body", call, replace(base, body=False)
        for how, form in _json_forms(call.body):
            if form != call.body:
                yield "body", f"signed over the body serialised {how}, sent otherwise", replace(call, body=form), base
    ts = call.read(scheme.timestamp_at)
    if ts and ts.isdigit():
        sent = int(ts)
        others = [sent // 1000] if len(ts) == 13 else [sent * 1000]
        others += [sent + d for r in range(1, TIMESTAMP_WINDOW + 1) for d in (r, -r)]
        for other in others:
            yield "timestamp", f"signed with timestamp {other}, sent {sent}", call.with_value(
                scheme.timestamp_at, str(other)), base
    yield "algorithm", "the hex digest in the other case", call, replace(base, upper=not base.upper)
    yield "algorithm", "a plain SHA-256 of the string, not HMAC-SHA256", call, replace(base, keyed=False)
    if isinstance(scheme, TikTokShop | Lazada):
        yield "algorithm", "the string not wrapped in the secret" if isinstance(scheme, TikTokShop) else \
            "the path signed with /rest", call, replace(base, wrap=False)
    if isinstance(scheme, TikTokShopLegacy) and call.body:
        yield "algorithm", "signed as API 202309 (with the body), the legacy scheme has none", call, \
            replace(base, body=True)
    if type(scheme) is TikTokShop and call.body:
        yield "algorithm", "signed with the legacy scheme (no body), 202309 signs the body", call, \
            replace(base, body=False)


def check(scheme: Scheme, call: Call, secret: str) -> Finding:
    """Recompute the signature of `call` and name the input that differs, if any."""
    expected, sent = scheme.sign(call, secret), scheme.sent(call)
    shown = scheme.shown(call, secret)
    common = {"scheme": scheme.name, "source": scheme.source, "string_to_sign": shown,
              "sent": sent, "expected": expected}
    if sent is None:
        return Finding(valid=False, differs=None, detail="the request carries no signature", **common)
    if hmac.compare_digest(expected.encode(), sent.encode()):
        return Finding(valid=True, differs=None, detail="the signature sent is the one the scheme gives", **common)
    seen: set[tuple[str, str]] = set()
    for what, how, changed, variant in _candidates(scheme, call):
        try:
            again = scheme.sign(changed, secret, variant)
        except (ValueError, TypeError):
            continue
        if (what, again) in seen:
            continue
        seen.add((what, again))
        if hmac.compare_digest(again.encode(), sent.encode()):
            return Finding(valid=False, differs=what, detail=how, **common)
    return Finding(valid=False, differs="secret", detail=(
        "no change of path, parameters, body, timestamp or algorithm reproduces the signature sent: "
        "it was made with another secret (or another app's key and secret pair)"), **common)
