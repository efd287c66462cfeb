"""Synthetic rules in kb_content's own format, and payloads that exercise them.

Rule n is a function of n alone (its own seeded generator), so the rule set of size N
is the first N rules and every size holds the smaller ones. Each rule carries a token
unique to it (an error code, a field name in its message, a path segment), so one
synthetic rule never answers another one's payloads. The shapes follow the real
knowledge base: about half the rules test an error code (alone, with a message regex,
with a body path, with a header), the others a status with a message regex or a path
regex; they are spread over the four platforms (and a few generic ones), over
regions and over domains the way kb_content is.

Every document goes through the same loader validation as kb_content (RuleSchema).
"""

import random
from functools import cache

from rules.kb.loader import RuleDocument, build_rules
from rules.model import DOMAINS
from rules.taxonomy import categories

REGIONS = {
    "tiktok_shop": ["US", "GB", "ID", "MY", "PH", "TH", "VN", "SG"],
    "amazon_sp": ["US", "CA", "MX", "BR", "GB", "DE", "FR", "IT", "ES", "JP", "AU"],
    "shopee": ["SG", "MY", "TH", "ID", "VN", "PH", "TW", "BR"],
    "lazada": ["SG", "MY", "TH", "ID", "VN", "PH"],
}
HOSTS = {
    "tiktok_shop": "open-api.tiktokglobalshop.com",
    "amazon_sp": "sellingpartnerapi-na.amazon.com",
    "shopee": "partner.shopeemobile.com",
    "lazada": "api.lazada.sg",
}
PLATFORMS = list(REGIONS)
# (shape, weight): see _when
SHAPES = (("code", 20), ("code_message", 15), ("code_body", 10), ("code_header", 5),
          ("status_message", 30), ("path_status", 20))


def _rng(n: int) -> random.Random:
    return random.Random(f"opsdiag-synthetic-{n}")


def _pick_shape(rng: random.Random) -> str:
    return rng.choices([s for s, _ in SHAPES], [w for _, w in SHAPES])[0]


def _when(shape: str, n: int, domain: str) -> dict:
    code = f"SX{n}"
    if shape == "code":
        return {"code": code}
    if shape == "code_message":
        return {"code": code, "message": {"regex": rf"quota {n} (exceeded|used up)\b"}}
    if shape == "code_body":
        return {"code": [code, f"SZ{n}"], "body": {"data.reason": f"R{n}"}}
    if shape == "code_header":
        return {"code": code, "headers": {f"x-synthetic-{n % 7}": {"exists": True}}}
    if shape == "status_message":
        return {"status": [400, 422], "message": {"regex": rf"\bfield_{n}\b (is|are) (missing|required)"}}
    return {"path": {"regex": rf"^/api/v\d+/{domain}/x{n}/"}, "status": {"gte": 400, "lt": 500}}


def _payload(shape: str, n: int, platform: str, region: str | None, domain: str, match: bool) -> dict:
    """A payload rule n must answer (match) or a near miss it must not."""
    path = f"/api/v2/{domain}/x{n}/items" if shape == "path_status" else f"/api/v2/{domain}/synthetic"
    payload: dict = {
        "status": 400, "method": "POST", "platform": platform, "domain": domain,
        "endpoint": f"https://{HOSTS[platform]}{path}?shop_id=7{n}",
        "headers": {"Content-Type": "application/json"},
        "body": {"code": f"SX{n}", "message": "synthetic failure", "request_id": f"req-{n}"},
    }
    if region:
        payload["region"] = region
    body = payload["body"]
    if shape == "code":
        if not match:
            body["code"] = f"SY{n}"
    elif shape == "code_message":
        body["message"] = f"daily quota {n} exceeded for this shop" if match else f"quota {n} is fine"
    elif shape == "code_body":
        body["code"] = f"SZ{n}"
        body["data"] = {"reason": f"R{n}" if match else f"R{n}X"}
    elif shape == "code_header":
        if match:
            payload["headers"][f"X-Synthetic-{n % 7}"] = "1"
    elif shape == "status_message":
        body["code"] = f"SV{n}"
        body["message"] = f"field_{n} is required" if match else f"field_{n} was accepted"
    else:
        body["code"] = f"SV{n}"
        payload["status"] = 409 if match else 200
    return payload


def _document(n: int) -> tuple[dict, dict]:
    """(rule document, facts about it needed to make more payloads)."""
    rng = _rng(n)
    platform = "generic" if rng.random() < 0.04 else rng.choice(PLATFORMS)
    shape = _pick_shape(rng)
    if platform == "generic" or rng.random() < 0.75:
        regions = "*"
    else:
        regions = sorted(rng.sample(REGIONS[platform], rng.randint(1, 3)))
    roll = rng.random()
    domains = ("*" if roll < 0.2 else sorted(rng.sample(DOMAINS, 2)) if roll < 0.45
               else [rng.choice(DOMAINS)])
    domain = rng.choice(DOMAINS if domains == "*" else domains)
    category = rng.choice(sorted(c for c in categories() if c != "unknown"))
    generic = platform == "generic"
    doc = {
        "id": f"{'generic' if generic else platform}.{domain}.synthetic_{n:05d}",
        "platforms": [platform],
        "regions": regions,
        "domains": domains,
        "priority": rng.randint(10, 40) if generic else rng.randint(50, 90),
        "when": _when(shape, n, domain),
        "then": {
            "category": category,
            "doc_url": "https://partner.tiktokshop.com/docv2/page/synthetic",
            "en": {
                "title": f"Synthetic failure {n} on {{path}}",
                "explanation": f"Synthetic rule {n} matched the error {{code}} ({{message}}) from {{host}}.",
                "repair_steps": ["Nothing to repair: this rule exists for benchmarks.",
                                 "Status was {status}; request id {request_id}."],
            },
            "zh-CN": {
                "title": f"合成错误 {n}：{{path}}",
                "explanation": f"合成规则 {n} 命中了来自 {{host}} 的错误 {{code}}（{{message}}）。",
                "repair_steps": ["无需处理：此规则仅用于性能测试。"],
            },
        },
        "source": "generated by bench/synth.py for scaling measurements",
        "examples": {"match": [], "no_match": []},
    }
    meta = {"shape": shape, "platform": platform, "regions": regions, "domains": domains}
    for match in (True, False):
        payload = _payload(shape, n, *_place(rng, meta), match=match)
        doc["examples"]["match" if match else "no_match"].append(payload)
    return doc, meta


def _place(rng: random.Random, meta: dict) -> tuple[str, str | None, str]:
    """A (platform, region, domain) the rule applies to."""
    platform = rng.choice(PLATFORMS) if meta["platform"] == "generic" else meta["platform"]
    regions = [None, *REGIONS[platform]] if meta["regions"] == "*" else meta["regions"]
    region = rng.choice(regions)
    domain = rng.choice(DOMAINS if meta["domains"] == "*" else meta["domains"])
    return platform, region, domain


@cache
def _documents(count: int) -> tuple[dict, ...]:
    return tuple(_document(n)[0] for n in range(count))


def synthetic_documents(count: int, start: int = 0) -> list[RuleDocument]:
    docs = _documents(start + count)[start:]
    return [RuleDocument(f"synthetic/{doc['id'].split('.')[0]}.yaml", doc) for doc in docs]


def synthetic_rules(count: int, start: int = 0):
    """The validated Rules n = start .. start + count - 1."""
    return build_rules(synthetic_documents(count, start))


def unmatched_payloads(count: int, seed: int = 7) -> list[dict]:
    """Errors no synthetic rule answers: unknown codes and messages on every platform."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        platform = rng.choice(PLATFORMS)
        domain = rng.choice(DOMAINS)
        out.append({
            "status": rng.choice([400, 404, 409, 422]), "method": "GET", "platform": platform,
            "domain": domain, "endpoint": f"https://{HOSTS[platform]}/api/v2/{domain}/list?page={i}",
            "body": {"code": f"UNKNOWN{i}", "message": f"unrecognised condition {i} in upstream"},
        })
    return out
