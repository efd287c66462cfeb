"""The batch memo is exact: a remembered answer is the answer the engine gives for that row."""

import copy
import random

import pytest
from marshmallow import ValidationError

from rules.engine.normalize import normalize
from service.batch.worker import Diagnoser, endpoint_parts
from service.schemas import DiagnoseRequestSchema

SCHEMA = DiagnoseRequestSchema()


def examples(rules):
    for rule in rules:
        yield from rule.examples_match
        yield from rule.examples_no_match


def vary(payload: dict, rng: random.Random) -> dict:
    """The same error met again: another id, shop, time, retry and per-call query parameters."""
    out = copy.deepcopy(payload)
    out["id"] = f"row-{rng.randrange(10**9)}"
    context = dict(out.get("context") or {})
    context["occurred_at"] = f"2025-06-{rng.randrange(1, 29):02d}T{rng.randrange(24):02d}:00:00Z"
    context["shop_id"] = f"shop-{rng.randrange(100)}"
    context["retry_count"] = rng.randrange(6)
    out["context"] = context
    endpoint = out["endpoint"]
    per_call = f"timestamp={rng.randrange(10**9)}&sign=ab{rng.randrange(99)}"
    out["endpoint"] = endpoint + ("&" if "?" in endpoint else "?") + per_call
    return out


def direct(engine, payload):
    result = engine.diagnose(SCHEMA.load(payload), "en")
    first = result["diagnoses"][0]
    steps = first["repair_steps"]
    return (first["category"], first["owner"], first["rule_id"], first["title"], steps[0] if steps else "",
            first["doc_url"], result["platform"], result["region"], result["domain"])


def test_memo_answers_equal_the_engine_for_every_example(local_kb, kb_rules):
    engine = local_kb.engine
    diagnoser = Diagnoser(engine, "en")
    rng = random.Random(11)
    checked = 0
    for example in examples(kb_rules):
        try:
            SCHEMA.load(example)
        except ValidationError:
            continue
        for _ in range(3):
            payload = vary(example, rng)
            answer, _parts, context = diagnoser.diagnose(payload)
            assert tuple(answer)[:9] == direct(engine, payload), example
            assert context["shop_id"] == payload["context"]["shop_id"]
            checked += 1
    assert checked > 600
    assert diagnoser.hits >= checked * 0.6, "the same error with another id, shop or time is remembered"


def test_rows_that_differ_only_in_left_out_fields_share_one_entry(local_kb):
    diagnoser = Diagnoser(local_kb.engine, "en")
    base = {"status": 401, "endpoint": "https://open-api.tiktokglobalshop.com/order/202309/orders?app_key=a&sign=1",
            "body": {"code": 105002, "message": "Expired credentials."}}
    first, _, _ = diagnoser.diagnose({**base, "id": "a", "context": {"occurred_at": "2025-06-01T00:00:00Z"}})
    again, _, _ = diagnoser.diagnose({**base, "id": "b", "endpoint": base["endpoint"].replace("sign=1", "sign=2"),
                                      "context": {"occurred_at": 1748736000, "shop_id": "s9", "retry_count": 4}})
    assert again is first and (diagnoser.hits, diagnoser.misses) == (1, 1)
    other, _, _ = diagnoser.diagnose({**base, "body": {"code": 36009004, "message": "Invalid credentials."}})
    assert other.category == "auth.token_invalid" and diagnoser.misses == 2


def test_a_remembered_row_is_still_validated(local_kb):
    diagnoser = Diagnoser(local_kb.engine, "en")
    base = {"status": 503, "endpoint": "https://api.lazada.sg/rest/orders/get"}
    diagnoser.diagnose(base)
    diagnoser.diagnose({**base, "context": {"retry_count": 1, "shop_id": "s1"}})
    for bad, field in [({"id": "x" * 129}, "id"), ({"context": {"retry_count": -1}}, "context"),
                       ({"context": {"retry_count": True}}, "context"), ({"context": {"retry_count": "1"}}, "context"),
                       ({"context": {"occurred_at": "soon"}}, "context"), ({"context": {"shop_id": 5}}, "context")]:
        with pytest.raises(ValidationError) as caught:
            diagnoser.diagnose({**base, **bad})
        assert field in caught.value.messages
    assert diagnoser.misses == 2, "every bad row was a hit, and still refused"


def test_the_memo_is_bounded(local_kb):
    diagnoser = Diagnoser(local_kb.engine, "en", memo_size=50)
    for n in range(120):
        diagnoser.diagnose({"status": 200, "endpoint": "/sync", "body": {"code": "E", "message": f"ref {n}"}})
    assert len(diagnoser.memo) == 50


def test_rules_testing_shop_or_retries_make_them_part_of_the_key(local_kb):
    class Cond:
        def __init__(self, source, name):
            self.source, self.name = source, name

    class Rule:
        conditions = (Cond("context", "retry_count"), Cond("query", "version"))

    class Engine:
        rules = [Rule()]

    diagnoser = Diagnoser(Engine(), "en")
    key_a, _ = diagnoser.key({"status": 1, "endpoint": "/a?version=1&x=1", "context": {"retry_count": 1}})
    key_b, _ = diagnoser.key({"status": 1, "endpoint": "/a?version=1&x=2", "context": {"retry_count": 2}})
    key_c, _ = diagnoser.key({"status": 1, "endpoint": "/a?version=2&x=1", "context": {"retry_count": 1}})
    assert len({key_a, key_b, key_c}) == 3


ENDPOINTS = [
    "", "/", "orders", "/api/orders?x=1", "https://Open-API.TikTokGlobalShop.com/order/202309/orders?a=1&b=",
    "https://sellingpartnerapi-eu.amazon.com/orders/v0/orders?MarketplaceIds=A1PA6795UKMFR9&CreatedAfter=2025",
    "https://sellingpartnerapi-na.amazon.com/fba/inventory/v1/summaries?marketplace%49ds=ATVPDKIKX0DER",
    "https://sellingpartnerapi-na.amazon.com/x?marketplaceIds=ATVPDKIKX0DER,A2EUQ1WTGCTBG2&marketplaceIds=A2Q3Y263D00KWC",
    "http://[::1/bad", "https://api.lazada.sg/rest/orders/get?sign=1#frag?x=2", "https://h/p?a+b=c d",
    "/orders?cb=https://x.example/y&marketplaceIds=ATVPDKIKX0DER", "orders?x=a:b", "  https://h/p?q=1 ",
    "https://h/p?marketplace\tIds=ATVPDKIKX0DER", "https://h#f", "https://h?", "?marketplaceIds=A1PA6795UKMFR9",
    "https://[::1]:8080/x?MARKETPLACEIDS=1", "mailto:a@b?marketplaceIds=1", "https://user:pw@Host.Example:443/p",
]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_endpoint_parts_read_the_endpoint_as_the_normalizer_does(endpoint, kb_rules):
    keep = frozenset(c.name for r in kb_rules for c in r.conditions if c.source == "query")
    fact = normalize({"status": 400, "endpoint": endpoint})
    host, path, kept = endpoint_parts(endpoint, keep)
    assert (host, path) == (fact.host, fact.path)
    relevant = {k: v for k, v in fact.query.items() if k in keep or "marketplace" in k.lower()}
    assert dict(kept) == relevant


def test_endpoints_with_equal_parts_infer_the_same_platform_region_and_domain(kb_rules):
    keep = frozenset(c.name for r in kb_rules for c in r.conditions if c.source == "query")
    seen = {}
    for example in examples(kb_rules):
        for suffix in ("", "?timestamp=1&sign=2", "&timestamp=3"):
            endpoint = str(example["endpoint"]) + suffix
            fact = normalize({"status": 400, "endpoint": endpoint})
            inferred = (fact.platform, fact.region, fact.domain, fact.derived.get("host_environment"))
            assert seen.setdefault(endpoint_parts(endpoint, keep), inferred) == inferred, endpoint
