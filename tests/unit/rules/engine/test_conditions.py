"""What each condition of a rule means, as the compiled engine decides it: every operator,
on every kind of field, with its negations, its edge values and its absent values; and
with many rules at once, the cheap gates that pick candidates never lose a rule that holds.

Each case is also checked against rules/trace.py, which evaluates a condition directly
(curators' lint messages and the `unless` tests of the score stage rely on it): the two
must agree.
"""

import copy

import pytest

from rules.engine import Engine
from rules.engine.normalize import normalize
from rules.engine.trace import holds
from rules.kb.loader import RuleDocument, build_rules

TEXTS = {"en": {"title": "A title", "explanation": "An explanation.", "repair_steps": ["A step."]},
         "zh-CN": {"title": "测试标题", "explanation": "一条用于测试条件的解释说明。", "repair_steps": ["一步。"]}}
TT = "https://open-api.tiktokglobalshop.com/order/202309/orders"


def doc(rule_id: str, when: dict, platforms=("generic",), **extra) -> RuleDocument:
    body = {"id": rule_id, "platforms": list(platforms), "regions": "*", "domains": "*", "priority": 50,
            "when": when, "then": {"category": "validation.invalid_value", "doc_url": "https://example.com/doc",
                                   **copy.deepcopy(TEXTS)},
            "source": "tests/test_conditions.py", "examples": {"match": [{}], "no_match": [{}]}}
    body.update(extra)
    return RuleDocument("generic/http.yaml", body)


def payload(**fields) -> dict:
    return {"status": 400, "endpoint": "https://api.example.com/v1/orders", **fields}


def matched_ids(rules, sent: dict) -> list[str]:
    engine = Engine(rules, "t")
    try:
        return [r.id for r in engine.match(normalize(sent))]
    finally:
        engine.close()


def matches(when: dict, sent: dict) -> bool:
    """Whether a rule of this `when` matches, by the engine; trace.holds must say the same."""
    [rule] = build_rules([doc("generic.t.rule", when)])
    found = matched_ids([rule], sent) == [rule.id]
    fact = normalize(sent)
    assert all(holds(c, fact) for c in rule.conditions) == found, "the engine and trace.holds disagree"
    return found


# (when, payload, matches?) - grouped by operator
CASES = {
    "eq on the status": [
        ({"status": 429}, payload(status=429), True),
        ({"status": 429}, payload(status=430), False),
    ],
    "eq on the error code, compared as text whatever its JSON type": [
        ({"code": "E1"}, payload(body={"code": "E1"}), True),
        ({"code": "E1"}, payload(body={"code": "E2"}), False),
        ({"code": 36009004}, payload(body={"code": 36009004}), True),
        ({"code": 36009004}, payload(body={"code": "36009004"}), True),
        ({"code": "e1"}, payload(body={"code": "E1"}), False),
    ],
    "eq on a header, which arrives as text and compares as a number": [
        ({"headers": {"x-ratelimit-remaining": 0}}, payload(headers={"X-RateLimit-Remaining": "0"}), True),
        ({"headers": {"x-ratelimit-remaining": 0}}, payload(headers={"X-RateLimit-Remaining": " 0 "}), True),
        ({"headers": {"x-ratelimit-remaining": 0}}, payload(headers={"X-RateLimit-Remaining": "00"}), True),
        ({"headers": {"x-ratelimit-remaining": 0}}, payload(headers={"X-RateLimit-Remaining": "1"}), False),
        ({"headers": {"x-ratelimit-remaining": 1.5}}, payload(headers={"X-RateLimit-Remaining": "1.5"}), True),
        ({"headers": {"x-ratelimit-remaining": "1.5"}}, payload(headers={"X-RateLimit-Remaining": "1.5"}), True),
        ({"headers": {"x-ratelimit-remaining": "0"}}, payload(headers={"X-RateLimit-Remaining": "0.0"}), True),
        ({"headers": {"x-amz-rid": "ABC"}}, payload(headers={"x-amz-rid": "ABC"}), True),
        ({"headers": {"x-amz-rid": "ABC"}}, payload(headers={"x-amz-rid": "ABCD"}), False),
        ({"headers": {"x-flag": "nan"}}, payload(headers={"x-flag": "nan"}), True),
        ({"headers": {"x-flag": "inf"}}, payload(headers={"x-flag": "inf"}), True),
        ({"headers": {"x-flag": "inf"}}, payload(headers={"x-flag": "infinity"}), False),
        ({"query": {"page_size": 100}}, payload(endpoint=f"{TT}?page_size=100"), True),
        ({"query": {"page_size": 100}}, payload(endpoint=f"{TT}?page_size=101"), False),
        ({"query": {"page_size": "100"}}, payload(endpoint=f"{TT}?page_size=100"), True),
        ({"query": {"page_size": "0100"}}, payload(endpoint=f"{TT}?page_size=100"), True),
        ({"request_headers": {"content-length": "12"}}, payload(request={"headers": {"Content-Length": "12"}}), True),
        ({"request_headers": {"content-length": 12}}, payload(request={"headers": {"Content-Length": "12"}}), True),
    ],
    "eq on a body path, a context or derived value is exact": [
        ({"body": {"error.reason": "quota"}}, payload(body={"error": {"reason": "quota"}}), True),
        ({"body": {"error.reason": "quota"}}, payload(body={"error": {"reason": "Quota"}}), False),
        ({"body": {"errors[0].code": "E9"}}, payload(body={"errors": [{"code": "E9"}, {"code": "E1"}]}), True),
        ({"body": {"errors[1].code": "E9"}}, payload(body={"errors": [{"code": "E9"}, {"code": "E1"}]}), False),
        ({"body": {"data.count": 0}}, payload(body={"data": {"count": "0"}}), True),  # text spelling a number
        ({"body": {"data.count": 0}}, payload(body={"data": {"count": "0.0"}}), True),
        ({"body": {"data.count": 0}}, payload(body={"data": {"count": "0x0"}}), False),
        ({"context": {"erp": "acme"}}, payload(context={"erp": "acme"}), True),
        ({"context": {"erp": "acme"}}, payload(context={"erp": "other"}), False),
    ],
    "eq null: the value is absent": [
        ({"headers": {"retry-after": None}}, payload(), True),
        ({"headers": {"retry-after": None}}, payload(headers={"Retry-After": "5"}), False),
        ({"body": {"error.reason": None}}, payload(body={"error": {"code": 1}}), True),
        ({"body": {"error.reason": None}}, payload(body={"error": {"reason": "x"}}), False),
    ],
    "ne": [
        ({"headers": {"x-ratelimit-remaining": {"ne": 0}}}, payload(headers={"X-RateLimit-Remaining": "5"}), True),
        ({"headers": {"x-ratelimit-remaining": {"ne": 0}}}, payload(headers={"X-RateLimit-Remaining": "0"}), False),
        ({"headers": {"x-ratelimit-remaining": {"ne": "0"}}}, payload(headers={"X-RateLimit-Remaining": "0"}), False),
        ({"status": 400, "method": {"ne": "GET"}}, payload(method="POST"), True),
        ({"status": 400, "method": {"ne": "GET"}}, payload(method="GET"), False),
        ({"code": {"ne": 7}, "status": 400}, payload(body={"code": 7}), False),
        ({"code": {"ne": 7}, "status": 400}, payload(body={"code": 8}), True),
    ],
    "in: one of the listed values": [
        ({"status": [429, 503]}, payload(status=503), True),
        ({"status": [429, 503]}, payload(status=500), False),
        ({"status": [429]}, payload(status=429), True),
        ({"status": [429]}, payload(status=430), False),
        ({"code": ["E1", 2]}, payload(body={"code": 2}), True),
        ({"code": ["E1", 2]}, payload(body={"code": "E1"}), True),
        ({"code": ["E1", 2]}, payload(body={"code": "E3"}), False),
        ({"headers": {"x-ratelimit-remaining": [0, 1]}}, payload(headers={"X-RateLimit-Remaining": "1"}), True),
        ({"headers": {"x-ratelimit-remaining": [0, 1]}}, payload(headers={"X-RateLimit-Remaining": "2"}), False),
        ({"headers": {"x-ratelimit-remaining": ["0", "1"]}}, payload(headers={"X-RateLimit-Remaining": "1"}), True),
        ({"method": ["POST", "PUT"]}, payload(method="PUT"), True),
        ({"method": ["POST", "PUT"]}, payload(method="GET"), False),
    ],
    "not_in: none of the listed values (every one excluded)": [
        ({"status": 400, "method": {"not_in": ["GET", "HEAD"]}}, payload(method="POST"), True),
        ({"status": 400, "method": {"not_in": ["GET", "HEAD"]}}, payload(method="GET"), False),
        ({"status": 400, "method": {"not_in": ["GET", "HEAD"]}}, payload(method="HEAD"), False),
        ({"status": 400, "headers": {"x-ratelimit-remaining": {"not_in": [0, 1]}}},
         payload(headers={"X-RateLimit-Remaining": "1"}), False),
        ({"status": 400, "headers": {"x-ratelimit-remaining": {"not_in": [0, 1]}}},
         payload(headers={"X-RateLimit-Remaining": "2"}), True),
    ],
    "gt, gte, lt, lte: numeric comparisons at their boundaries": [
        ({"headers": {"x-ratelimit-remaining": {"gt": 0}}}, payload(headers={"X-RateLimit-Remaining": "0"}), False),
        ({"headers": {"x-ratelimit-remaining": {"gt": 0}}}, payload(headers={"X-RateLimit-Remaining": "1"}), True),
        ({"headers": {"x-ratelimit-remaining": {"gt": 0}}}, payload(headers={"X-RateLimit-Remaining": "0.5"}), True),
        ({"headers": {"x-ratelimit-remaining": {"gte": 5}}}, payload(headers={"X-RateLimit-Remaining": "5"}), True),
        ({"headers": {"x-ratelimit-remaining": {"gte": 5}}}, payload(headers={"X-RateLimit-Remaining": "4"}), False),
        ({"headers": {"x-ratelimit-remaining": {"lt": 5}}}, payload(headers={"X-RateLimit-Remaining": "5"}), False),
        ({"headers": {"x-ratelimit-remaining": {"lt": 5}}}, payload(headers={"X-RateLimit-Remaining": "4"}), True),
        ({"headers": {"x-ratelimit-remaining": {"lte": 5}}}, payload(headers={"X-RateLimit-Remaining": "5"}), True),
        ({"headers": {"x-ratelimit-remaining": {"lte": 5}}}, payload(headers={"X-RateLimit-Remaining": "6"}), False),
        ({"headers": {"x-ratelimit-remaining": {"gt": 0}}}, payload(), False),
        ({"status": {"gte": 500, "lt": 600}}, payload(status=500), True),
        ({"status": {"gte": 500, "lt": 600}}, payload(status=600), False),
        ({"status": {"gte": 500, "lt": 600}}, payload(status=499), False),
        ({"body": {"data.count": {"gte": 10}}}, payload(body={"data": {"count": 10}}), True),
        ({"body": {"data.count": {"gte": 10}}}, payload(body={"data": {"count": 9.5}}), False),
        ({"derived": {"clock_skew_seconds": {"gte": 300}}},
         payload(headers={"Date": "Tue, 14 Nov 2023 22:00:00 GMT"},
                 context={"sent_at": "2023-11-14T22:05:00Z"}), True),
        ({"derived": {"clock_skew_seconds": {"gte": 300}}},
         payload(headers={"Date": "Tue, 14 Nov 2023 22:00:00 GMT"},
                 context={"sent_at": "2023-11-14T22:04:59Z"}), False),
    ],
    "exists": [
        ({"headers": {"retry-after": {"exists": True}}}, payload(headers={"Retry-After": "5"}), True),
        ({"headers": {"retry-after": {"exists": True}}}, payload(), False),
        ({"headers": {"retry-after": {"exists": False}}}, payload(), True),
        ({"headers": {"retry-after": {"exists": False}}}, payload(headers={"Retry-After": "5"}), False),
        ({"body": {"error.details": {"exists": True}}}, payload(body={"error": {"details": []}}), True),
        ({"body": {"error.details": {"exists": True}}}, payload(body={"error": {"details": None}}), False),
        ({"body": {"error.details": {"exists": False}}}, payload(body={"error": {}}), True),
        ({"context": {"erp": {"exists": True}}}, payload(context={"erp": "acme"}), True),
        ({"context": {"erp": {"exists": True}}}, payload(context={"other": "acme"}), False),
        ({"query": {"cursor": {"exists": False}}}, payload(endpoint=f"{TT}?cursor=abc"), False),
        ({"query": {"cursor": {"exists": False}}}, payload(endpoint=f"{TT}?page=2"), True),
    ],
    "regex: searched anywhere, case-insensitive, in the value's text": [
        ({"message": {"regex": "ip address has been blocked"}},
         payload(body={"message": "Request denied: your IP Address has been BLOCKED"}), True),
        ({"message": {"regex": "^blocked"}}, payload(body={"message": "not blocked"}), False),
        ({"message": {"regex": "blocked$"}}, payload(body={"message": "not blocked"}), True),
        ({"message": {"regex": "blocked"}}, payload(body={"code": "E1"}), False),
        ({"path": {"regex": "^/order/\\d+/orders$"}}, payload(endpoint=TT), True),
        ({"path": {"regex": "^/order/\\d+/orders$"}}, payload(endpoint=f"{TT}/search"), False),
        ({"host": {"regex": "tiktokglobalshop\\.com$"}}, payload(endpoint=TT), True),
        ({"host": {"regex": "tiktokglobalshop\\.com$"}}, payload(), False),
        ({"code": {"regex": "^Missing"}}, payload(body={"code": "MissingParameter"}), True),
        ({"code": {"regex": "^Missing"}}, payload(body={"code": "InvalidParameter"}), False),
        ({"body": {"error.code": {"regex": "^40\\d$"}}}, payload(body={"error": {"code": 404}}), True),
        ({"body": {"error.code": {"regex": "^40\\d$"}}}, payload(body={"error": {"code": 4040}}), False),
        ({"body": {"errors": {"regex": "\"field\": ?\"sku\""}}},
         payload(body={"errors": [{"field": "sku", "code": 1}]}), True),
        ({"body": {"to_string(@)": {"regex": "quota exceeded"}}}, payload(body={"a": {"b": "Quota exceeded"}}), True),
        ({"body": {"to_string(@)": {"regex": "quota exceeded"}}}, payload(body="<html>quota exceeded</html>"), True),
        ({"body": {"to_string(@)": {"regex": "quota exceeded"}}}, payload(body={"a": "fine"}), False),
        ({"headers": {"x-ratelimit-remaining": {"regex": "^0$"}}}, payload(headers={"X-RateLimit-Remaining": "0"}),
         True),
        ({"message": {"regex": "名称"}}, payload(body={"message": "商品名称不能为空"}), True),
    ],
    "not_regex: the pattern is nowhere, and an absent value holds": [
        ({"status": 400, "message": {"not_regex": "blocked"}}, payload(body={"message": "quota exceeded"}), True),
        ({"status": 400, "message": {"not_regex": "blocked"}}, payload(body={"message": "IP BLOCKED"}), False),
        ({"status": 400, "message": {"not_regex": "blocked"}}, payload(), True),
        ({"message": {"regex": "quota", "not_regex": "daily"}}, payload(body={"message": "quota exceeded"}), True),
        ({"message": {"regex": "quota", "not_regex": "daily"}}, payload(body={"message": "daily quota"}), False),
    ],
    "type: the JSON type of a value, of any item of a list": [
        ({"body": {"data.qty": {"type": "string"}}}, payload(body={"data": {"qty": "5"}}), True),
        ({"body": {"data.qty": {"type": "string"}}}, payload(body={"data": {"qty": 5}}), False),
        ({"body": {"data.qty": {"type": "integer"}}}, payload(body={"data": {"qty": 5}}), True),
        ({"body": {"data.qty": {"type": "integer"}}}, payload(body={"data": {"qty": 5.5}}), False),
        ({"body": {"data.qty": {"type": "integer"}}}, payload(body={"data": {"qty": True}}), False),
        ({"body": {"data.qty": {"type": "number"}}}, payload(body={"data": {"qty": 5}}), True),
        ({"body": {"data.qty": {"type": "number"}}}, payload(body={"data": {"qty": 5.5}}), True),
        ({"body": {"data.qty": {"type": "number"}}}, payload(body={"data": {"qty": "5"}}), False),
        ({"body": {"data.qty": {"type": "boolean"}}}, payload(body={"data": {"qty": False}}), True),
        ({"body": {"data.qty": {"type": "boolean"}}}, payload(body={"data": {"qty": 0}}), False),
        ({"body": {"data.qty": {"type": "object"}}}, payload(body={"data": {"qty": {"n": 1}}}), True),
        ({"body": {"data.qty": {"type": "object"}}}, payload(body={"data": {"qty": [1]}}), False),
        ({"body": {"data.qty": {"type": "string"}}}, payload(body={"data": {"qty": None}}), False),
        ({"body": {"data.qty": {"type": "string"}}}, payload(body={"data": {}}), False),
        ({"body": {"data.qty": {"type": "null"}}}, payload(body={"data": {}}), True),
        ({"body": {"data.qty": {"type": "null"}}}, payload(body={"data": {"qty": None}}), True),
        ({"body": {"data.qty": {"type": "null"}}}, payload(body={"data": {"qty": 0}}), False),
        ({"request_body": {"items[*].quantity": {"type": "string"}}},
         payload(request={"body": {"items": [{"quantity": 1}, {"quantity": "2"}]}}), True),
        ({"request_body": {"items[*].quantity": {"type": "string"}}},
         payload(request={"body": {"items": [{"quantity": 1}, {"quantity": 2}]}}), False),
        ({"request_body": {"items[*].quantity": {"type": "integer"}}},
         payload(request={"body": {"items": [{"quantity": "1"}, [{"quantity": 2}]]}}), False),
        ({"request_body": {"items[*].quantity": {"type": "integer"}}},
         payload(request={"body": {"items": [{"quantity": "1"}, {"quantity": 2}]}}), True),
    ],
    "all conditions of a rule must hold": [
        ({"status": 429, "code": "E1"}, payload(status=429, body={"code": "E1"}), True),
        ({"status": 429, "code": "E1"}, payload(status=429, body={"code": "E2"}), False),
        ({"status": 429, "code": "E1"}, payload(status=400, body={"code": "E1"}), False),
        ({"status": 429, "headers": {"retry-after": {"exists": True}}, "message": {"regex": "slow"}},
         payload(status=429, headers={"Retry-After": "1"}, body={"message": "slow down"}), True),
        ({"status": 429, "headers": {"retry-after": {"exists": True}}, "message": {"regex": "slow"}},
         payload(status=429, body={"message": "slow down"}), False),
    ],
}


@pytest.mark.parametrize("when, sent, expected",
                         [case for cases in CASES.values() for case in cases],
                         ids=[f"{kind}-{i}" for kind, cases in CASES.items() for i in range(len(cases))])
def test_each_operator_means_what_it_says(when, sent, expected):
    assert matches(when, sent) is expected


# ----------------------------------------------------------------- many rules at once

MANY = [
    doc("generic.m.code_e1", {"code": "E1"}),
    doc("generic.m.code_e1_or_e2", {"code": ["E1", "E2"], "status": 400}),
    doc("generic.m.code_numeric", {"code": 7}),
    doc("generic.m.path", {"path": "/v1/orders"}),
    doc("generic.m.host", {"host": "api.example.com", "status": 403}),
    doc("generic.m.error_type", {"error_type": "InvalidInput"}),
    doc("generic.m.msg_quota", {"message": {"regex": "quota"}}),
    doc("generic.m.msg_quota_daily", {"message": {"regex": "daily quota"}, "status": 429}),
    doc("generic.m.path_regex", {"path": {"regex": "/orders$"}, "method": "DELETE"}),
    doc("generic.m.host_regex", {"host": {"regex": "^sellingpartnerapi"}}),
    doc("generic.m.code_regex", {"code": {"regex": "^Missing"}}),
    doc("generic.m.retry_after", {"headers": {"retry-after": {"gte": 1}}}),
    doc("generic.m.no_retry_after", {"headers": {"retry-after": {"exists": False}}, "status": 503}),
    doc("generic.m.context", {"context": {"erp": {"regex": "acme"}}}),
    doc("generic.m.query", {"query": {"cursor": {"exists": True}}}),
    doc("generic.m.status", {"status": 418}),
    doc("generic.m.status_range", {"status": {"gte": 500}}),
    doc("generic.m.method", {"method": "PATCH"}),
    doc("generic.m.html", {"body_format": "html"}),
    doc("generic.m.ungated", {"message": {"not_regex": "."}, "status": {"lt": 300}}),
    doc("generic.m.body", {"body": {"error.reason": "throttled"}}),
    doc("tiktok_shop.m.own", {"message": {"regex": "quota"}}, platforms=("tiktok_shop",)),
    doc("tiktok_shop.m.us_only", {"status": 400}, platforms=("tiktok_shop",), regions=["US"]),
    doc("tiktok_shop.m.products_only", {"status": 400}, platforms=("tiktok_shop",), domains=["products"]),
    doc("amazon_sp.m.own", {"code": "E1"}, platforms=("amazon_sp",)),
]
SENT = [
    payload(body={"code": "E1", "message": "daily quota exceeded"}, status=429),
    payload(body={"code": "E2"}),
    payload(body={"code": 7}),
    payload(body={"code": "MissingParameter", "message": "x"}, method="DELETE"),
    payload(status=403),
    payload(endpoint="https://sellingpartnerapi-na.amazon.com/orders/v0/orders", body={"code": "E1"}),
    payload(status=503, headers={"Retry-After": "3"}),
    payload(status=503),
    payload(status=418, endpoint=f"{TT}?cursor=abc", context={"erp": "ACME cloud"}),
    payload(status=502, body="<html><title>Bad gateway</title></html>", headers={"Content-Type": "text/html"}),
    payload(status=200, method="PATCH"),
    payload(status=400, body={"error": {"reason": "throttled"}, "__type": "InvalidInput"}),
    payload(status=400, headers={"x-amzn-ErrorType": "InvalidInput"}),
    payload(endpoint=TT, region="US", body={"message": "Quota"}),
    payload(endpoint="https://open-api.tiktokglobalshop.com/product/202309/products", region="GB",
            body={"message": "quota"}),
    payload(endpoint="https://api.example.com/v1/orders?cursor=", body={"code": "e1"}),
]


def expected_ids(rules, sent: dict) -> set[str]:
    fact = normalize(sent)
    return {r.id for r in rules if r.applies_to(fact.platform, fact.region, fact.domain)
            and all(holds(c, fact) for c in r.conditions)}


def test_with_many_rules_the_engine_finds_exactly_those_whose_conditions_hold():
    """Gates (code, path, host, regex, presence, status...) only pick candidates: none may
    drop a rule that holds, nor let one through that does not."""
    rules = build_rules(MANY)
    engine = Engine(rules, "t")
    try:
        found_any = set()
        for sent in SENT:
            found = {r.id for r in engine.match(normalize(sent))}
            assert found == expected_ids(rules, sent), sent
            found_any |= found
        assert found_any >= {"generic.m.code_e1", "generic.m.path", "generic.m.host", "generic.m.error_type",
                             "generic.m.msg_quota_daily", "generic.m.path_regex", "generic.m.host_regex",
                             "generic.m.code_regex", "generic.m.retry_after", "generic.m.no_retry_after",
                             "generic.m.context", "generic.m.query", "generic.m.status", "generic.m.status_range",
                             "generic.m.method", "generic.m.html", "generic.m.ungated", "generic.m.body",
                             "generic.m.code_numeric", "generic.m.code_e1_or_e2", "tiktok_shop.m.own",
                             "tiktok_shop.m.us_only", "tiktok_shop.m.products_only", "amazon_sp.m.own"}
        # the same payloads a second time come from the cached plans and give the same answers
        for sent in SENT:
            assert {r.id for r in engine.match(normalize(sent))} == expected_ids(rules, sent)
    finally:
        engine.close()


def test_a_rule_is_only_matched_on_its_platforms_regions_and_domains():
    rules = build_rules(MANY)
    us = payload(endpoint=TT, region="US")
    assert "tiktok_shop.m.us_only" in matched_ids(rules, us)
    assert "tiktok_shop.m.us_only" not in matched_ids(rules, {**us, "region": "GB"})
    assert "tiktok_shop.m.us_only" not in matched_ids(rules, {**us, "region": None})
    assert "tiktok_shop.m.products_only" not in matched_ids(rules, us)
    products = payload(endpoint="https://open-api.tiktokglobalshop.com/product/202309/products")
    assert "tiktok_shop.m.products_only" in matched_ids(rules, products)
    assert "amazon_sp.m.own" not in matched_ids(rules, payload(body={"code": "E1"}))
    assert "tiktok_shop.m.own" not in matched_ids(rules, payload(body={"message": "quota"}))


@pytest.mark.parametrize("n", [0, 19, 20, 21, 44])
def test_rules_sharing_one_gate_past_a_shard_are_each_found(n):
    """Rules with the same gate are packed in shards of twenty; every shard stays reachable."""
    rules = build_rules([doc(f"generic.s.r{i}", {"status": 429, "message": {"regex": f"case {i}\\b"}})
                         for i in range(45)])
    assert matched_ids(rules, payload(status=429, body={"message": f"case {n} failed"})) == [f"generic.s.r{n}"]
    assert matched_ids(rules, payload(status=400, body={"message": f"case {n} failed"})) == []


@pytest.mark.parametrize("n", [0, 7, 29])
def test_rules_on_one_regex_field_are_found_by_their_own_pattern(n):
    rules = build_rules([doc(f"generic.p.r{i}", {"message": {"regex": f"^pattern {i}$"}}) for i in range(30)])
    assert matched_ids(rules, payload(body={"message": f"PATTERN {n}"})) == [f"generic.p.r{n}"]
    assert matched_ids(rules, payload(body={"message": f"pattern {n} and more"})) == []


def test_a_regex_and_a_type_test_on_the_same_value_are_both_made():
    rules = build_rules([
        doc("generic.f.regex", {"body": {"data.qty": {"regex": "^5$"}}}),
        doc("generic.f.type", {"body": {"data.qty": {"type": "string"}}}),
        doc("generic.f.both", {"body": {"data.qty": {"regex": "^5$", "type": "integer"}}}),
    ])
    assert set(matched_ids(rules, payload(body={"data": {"qty": "5"}}))) == {"generic.f.regex", "generic.f.type"}
    assert set(matched_ids(rules, payload(body={"data": {"qty": 5}}))) == {"generic.f.regex", "generic.f.both"}
    assert set(matched_ids(rules, payload(body={"data": {"qty": "6"}}))) == {"generic.f.type"}


def test_a_fact_no_rule_can_match_finds_nothing_and_an_empty_knowledge_base_too():
    rules = build_rules([doc("generic.e.code", {"code": "E1"})])
    assert matched_ids(rules, payload(body={"code": "E2"})) == []
    assert matched_ids([], payload(body={"code": "E1"})) == []


def test_a_projection_that_finds_one_value_compares_as_that_value():
    """`errors[*].code` gives a list; one code found is compared as that code (durable-rules
    compares scalars), several as their JSON text, which an `eq` on one code does not equal."""
    [rule] = build_rules([doc("generic.j.code", {"body": {"errors[*].code": "E1"}})])
    assert matched_ids([rule], payload(body={"errors": [{"code": "E1"}]})) == [rule.id]
    assert matched_ids([rule], payload(body={"errors": [{"code": "E1"}, {"code": "E2"}]})) == []
    assert matched_ids([rule], payload(body={"errors": [{"code": "E2"}]})) == []


# ------------------------------------------------------------ the helpers trace.py shares

@pytest.mark.parametrize("value, expected", [
    ("0", 0), (" 42 ", 42), ("-3", -3), ("1.5", 1.5), ("1e3", 1000.0), ("abc", "abc"), ("", ""),
    ("nan", "nan"), ("inf", "inf"), ("-inf", "-inf"), (7, 7), (None, None), ("0x10", "0x10"),
])
def test_header_and_query_text_that_reads_as_a_number_is_that_number(value, expected):
    from rules.engine.compiler import number_or_text

    found = number_or_text(value)
    assert found == expected and type(found) is type(expected)


@pytest.mark.parametrize("value, kind", [
    (None, "null"), (True, "boolean"), (False, "boolean"), (0, "integer"), (1.5, "number"), ("x", "string"),
    ([], "array"), ({}, "object"),
])
def test_the_json_type_of_a_value(value, kind):
    from rules.engine.compiler import json_type

    assert json_type(value) == kind


def test_a_type_test_on_a_list_asks_about_its_items_at_any_depth():
    from rules.engine.compiler import has_type

    assert has_type([1, ["a"]], "string") and has_type([1, ["a"]], "integer") and has_type([1, ["a"]], "number")
    assert not has_type([1, ["a"]], "boolean") and has_type([1, [2]], "array") and not has_type([1], "object")
    assert has_type(1.5, "number") and not has_type(1.5, "integer") and not has_type(True, "number")
    assert has_type({"a": 1}, "object") and not has_type("x", "object") and not has_type("x", "array")
    # a missing value is null, as JMESPath has it: `type: null` holds there and nowhere else
    assert has_type(None, "null") and not has_type(None, "string") and not has_type(0, "null")


def test_values_as_text_for_regexes_and_evidence():
    from rules.engine.compiler import as_text, scalar_for_engine

    assert as_text(None) is None and as_text("名称") == "名称" and as_text(404) == "404"
    assert as_text({"名": [1, None]}) == '{"名": [1, null]}'
    assert scalar_for_engine(None) is None and scalar_for_engine(["x"]) == "x" and scalar_for_engine([3]) == 3
    assert scalar_for_engine(["x", "y"]) == '["x", "y"]' and scalar_for_engine([["x"]]) == '[["x"]]'
    assert scalar_for_engine({"b": "é", "a": 1}) == '{"a": 1, "b": "é"}'
    assert scalar_for_engine(False) is False and scalar_for_engine(2.5) == 2.5


@pytest.mark.parametrize("expression, steps", [
    ("a", ("a",)), ("a.b_2", ("a", "b_2")), ("errors[0].code", ("errors", 0, "code")), ("a[-1]", ("a", -1)),
    ("a[0][1]", ("a", 0, 1)), ("a[*].b", None), ("a.*", None), ("to_string(@)", None), ("a.b.", None),
    ("1a", None), ("[0]", None), ("a b", None),
])
def test_plain_paths_are_told_from_other_jmespath(expression, steps):
    from rules.engine.compiler import simple_path

    assert simple_path(expression) == steps


# ------------------------------------------- what is read: only what candidates test

def marked(name: str, when: dict, **extra) -> RuleDocument:
    """A rule that also tests a marker value of its own, so that one can tell it was read."""
    return doc(f"generic.r.{name}", {**when, "body": {f"m.{name}": {"exists": True}}}, **extra)


GATED = [
    marked("code", {"code": "E1"}),  # sorted first: `body`, then `code`, whose value gates it
    marked("code_too", {"code": "E1", "status": 400}),
    marked("codes", {"code": ["E2", "E3"]}),
    marked("path", {"path": "/v1/p"}),
    marked("host", {"host": "h.example.com"}),
    marked("error_type", {"error_type": "Bad"}),
    marked("path_regex", {"path": {"regex": "^/v1/r"}}),
    marked("message_regex", {"message": {"regex": "boom"}}),
    marked("message_regex_too", {"message": {"regex": "boom"}, "method": {"ne": "GET"}}),
    marked("header_gte", {"headers": {"x-c": {"gte": 1}}}),
    marked("header_gte_too", {"headers": {"x-c": {"gte": 2}}}),
    marked("header_exists", {"headers": {"x-e": {"exists": True}}}),
    marked("header_eq", {"headers": {"x-q": "yes"}}),
    marked("context", {"context": {"erp": {"regex": "acme"}}}),
    marked("status", {"status": 418}),
    marked("method", {"method": "PATCH"}),
    marked("header_absent", {"headers": {"x-f": {"exists": False}}, "status": 499}),
    marked("header_null", {"headers": {"x-n": None}, "status": 498}),
    marked("header_not_regex", {"headers": {"x-r": {"not_regex": "x"}}, "status": 497}),
    marked("ungated", {"message": {"not_regex": "zzz"}, "status": {"gte": 600}}),
    marked("ungated_too", {"status": {"lt": 100}}),
]
UNGATED = {"ungated", "ungated_too"}
BASE = {"status": 400, "endpoint": "https://api.example.com/v1/zzz",
        "body": {"m": {rule.body["id"].rsplit(".", 1)[1]: "read" for rule in GATED}}}


def with_body(**fields) -> dict:
    return {**BASE, "body": {**BASE["body"], **fields}}


@pytest.mark.parametrize("sent, admitted", [
    (BASE, set()),
    (with_body(code="E1"), {"code", "code_too"}),
    (with_body(code="E3"), {"codes"}),
    (with_body(code="E9"), set()),
    ({**BASE, "endpoint": "https://api.example.com/v1/p"}, {"path"}),
    ({**BASE, "endpoint": "https://h.example.com/v1/zzz"}, {"host"}),
    ({**BASE, "headers": {"x-amzn-ErrorType": "Bad"}}, {"error_type"}),
    ({**BASE, "endpoint": "https://api.example.com/v1/rr"}, {"path_regex"}),
    (with_body(message="BOOM"), {"message_regex", "message_regex_too"}),
    ({**BASE, "headers": {"x-c": "0"}}, {"header_gte", "header_gte_too"}),  # there, though too low
    ({**BASE, "headers": {"x-e": ""}}, {"header_exists"}),
    ({**BASE, "headers": {"x-q": "no"}}, {"header_eq"}),
    ({**BASE, "context": {"erp": "other"}}, {"context"}),
    ({**BASE, "status": 418}, {"status"}),
    ({**BASE, "method": "PATCH"}, {"method"}),
    ({**BASE, "status": 499}, {"header_absent"}),
    ({**BASE, "status": 498}, {"header_null"}),
    ({**BASE, "status": 497}, {"header_not_regex"}),
])
def test_only_the_values_of_rules_a_payload_can_still_match_are_read(sent, admitted):
    """Each rule is gated on one cheap test it cannot match without (an exact code, path, host
    or error type, a regex on a plain field, a header or context value that must be there,
    a status or method): a rule whose gate fails has none of its other values read. A test
    that holds on an absent value (`exists: false`, `eq: null`, `not_regex`) gates nothing."""
    engine = Engine(build_rules(GATED), "t")
    try:
        ranked, raw = engine.rank(normalize(sent))
        part = engine.layout.lookup("generic", None, "other")
        read = {name for name in BASE["body"]["m"] if part.slots[("body", f"m.{name}")].key in raw}
        assert read == admitted | UNGATED
        assert all(raw[part.slots[("body", f"m.{name}")].key] == "read" for name in read)
        assert {s.rule.id.rsplit(".", 1)[1] for s in ranked} <= admitted | UNGATED
    finally:
        engine.close()


def test_rules_that_share_a_gate_value_are_all_found():
    rules = build_rules(GATED)
    assert set(matched_ids(rules, with_body(code="E1"))) == {"generic.r.code", "generic.r.code_too"}
    assert set(matched_ids(rules, {**with_body(message="boom"), "method": "POST"})) == {"generic.r.message_regex",
                                                                  "generic.r.message_regex_too"}
    assert set(matched_ids(rules, {**BASE, "headers": {"x-c": "5"}})) == {"generic.r.header_gte",
                                                                          "generic.r.header_gte_too"}
    assert set(matched_ids(rules, {**BASE, "status": 50})) == {"generic.r.ungated_too"}
    assert set(matched_ids(rules, {**BASE, "status": 499})) == {"generic.r.header_absent"}


def test_a_generic_rule_for_some_regions_is_found_in_them_on_every_platform():
    [rule] = build_rules([doc("generic.g.us", {"status": 400}, regions=["US"])])
    assert matched_ids([rule], payload(endpoint=TT, region="US")) == [rule.id]
    assert matched_ids([rule], payload(endpoint=TT, region="GB")) == []
    assert matched_ids([rule], payload(region="US")) == [rule.id]


def test_rules_are_packed_in_full_shards_by_gate():
    """durable-rules hangs past ~500 children of one node: no shard holds more than
    SHARD_SIZE rules, every rule is in exactly one, rules of one gate share shards whatever
    their order in the knowledge base, and a shard is full before the next opens."""
    from rules.engine.compiler import SHARD_SIZE, RuleGroup

    a = [doc(f"generic.s.a{i}", {"status": 429, "message": {"not_regex": f"x{i}"}}) for i in range(25)]
    d = [doc(f"generic.s.d{i}", {"status": 430, "message": {"not_regex": f"x{i}"}}) for i in range(10)]
    b = [doc(f"generic.s.b{i}", {"message": {"regex": "quota"}, "status": {"ne": i}}) for i in range(5)]
    c = [doc(f"generic.s.c{i}", {"status": {"gte": 600 + i}}) for i in range(3)]
    mixed = [*a[:10], *c, *d[:5], *b, *a[10:], *d[5:]]  # gates interleaved
    rules = build_rules(mixed)
    group = RuleGroup("packing", rules)
    shards = [{r.id for i, r in enumerate(rules) if bits >> i & 1} for _, bits in group.shards]
    ids = [{doc.body["id"] for doc in part} for part in (a[:20], a[20:] + d + b, c)]
    assert SHARD_SIZE == 20 and shards == ids
    every = 0
    for _, bits in group.shards:
        assert every & bits == 0
        every |= bits
    assert every == (1 << len(rules)) - 1


def test_shards_grow_when_a_group_would_have_too_many(monkeypatch):
    from rules.engine import compiler

    monkeypatch.setattr(compiler, "MAX_SHARDS", 2)
    rules = build_rules([doc(f"generic.s.a{i}", {"status": 429, "message": {"not_regex": f"x{i}"}})
                         for i in range(45)])
    group = compiler.RuleGroup("packing", rules)
    assert [bin(bits).count("1") for _, bits in group.shards] == [23, 22]
    assert set(matched_ids(rules, payload(status=429, body={"message": "m"}))) == {r.id for r in rules}


def test_a_regex_gate_of_a_rule_of_another_partition_admits_nothing_here():
    """The regexes of a field are one set per platform; a pattern of a rule this partition does
    not hold (another region's) may match, and must not make any rule of it a candidate."""
    rules = build_rules([marked("zero", {"code": "Z0"}), marked("other", {"message": {"regex": "other"}}),
                         doc("tiktok_shop.r.us", {"message": {"regex": "boom"}}, platforms=("tiktok_shop",),
                             regions=["US"])])
    engine = Engine(rules, "t")
    try:
        sent = {**BASE, "endpoint": TT, "region": "GB", "body": {**BASE["body"], "message": "boom"}}
        ranked, raw = engine.rank(normalize(sent))
        assert ranked == [] and raw == {}
        us_ranked, _ = engine.rank(normalize({**sent, "region": "US"}))
        assert [s.rule.id for s in us_ranked] == ["tiktok_shop.r.us"]
    finally:
        engine.close()



def test_a_fact_opens_only_the_shards_of_the_rules_its_gates_admit():
    """durable-rules walks every shard a fact opens: a 429 opens the shard of the 429 rules,
    not the one of the 430 rules, and a 200 opens none."""
    from rules.engine.compiler import partition
    from rules.engine.match import prepare

    rules = build_rules([*(doc(f"generic.s.a{i}", {"status": 429, "message": {"not_regex": f"x{i}"}})
                           for i in range(20)),
                         *(doc(f"generic.s.d{i}", {"status": 430, "message": {"not_regex": f"x{i}"}})
                           for i in range(20))])
    part = partition(rules).lookup("generic", None, "other")
    flags = {flag: {r.id for i, r in enumerate(part.rules) if bits >> part.members[i] & 1}
             for flag, bits in part.group.shards}
    opened = [flag for flag in flags if flag in (prepare(part, normalize(payload(status=429)))[0] or {})]
    assert [flags[flag] for flag in opened] == [{f"generic.s.a{i}" for i in range(20)}]
    assert prepare(part, normalize(payload(status=200)))[0] is None
