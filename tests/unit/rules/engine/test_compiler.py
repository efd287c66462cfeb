"""The compiler's shortcuts give what the slow path gives, and large rule sets compile."""

import jmespath
import pytest

from rules.engine import Engine
from rules.engine.compiler import extractor, simple_path
from rules.engine.normalize import normalize
from rules.kb.loader import RuleDocument, build_rules

DOCS = [
    {"a": {"b": [{"c": 1}, {"c": None}], "d": "x"}, "errors": [{"code": "E1", "details": [1, 2]}]},
    {"a": [1, 2, 3], "errors": []},
    {"a": {"b": "not a list"}, "errors": {"0": "object, not array"}},
    [{"a": 1}, {"a": 2}],
    {"a": {"b": [[1, 2], [3]]}, "ünï": "ç", "data": None},
]
PATHS = ["a", "a.b", "a.b[0]", "a.b[0].c", "a.b[1].c", "a.b[-1]", "a.b[5]", "a.d", "a.d.e", "errors[0].code",
         "errors[0].details", "errors[1].code", "data", "data.x", "missing.path", "a[0]", "a[-1]"]


@pytest.mark.parametrize("path", PATHS)
def test_plain_paths_are_walked_like_jmespath(path):
    assert simple_path(path) is not None
    walk = extractor("body", path)
    for doc in DOCS:
        fact = normalize({"status": 400, "endpoint": "/x", "body": doc})
        assert walk(fact) == jmespath.search(path, fact.body), (path, doc)


@pytest.mark.parametrize("path", ["a[].b", "to_string(@)", "a[?b=='c'] | [0]", "[a, b]", "a.*", "`1`"])
def test_other_expressions_keep_jmespath_semantics(path):
    read = extractor("body", path)
    for doc in DOCS:
        fact = normalize({"status": 400, "endpoint": "/x", "body": doc})
        assert read(fact) == jmespath.search(path, fact.body), (path, doc)


def _rule(n: int) -> RuleDocument:
    return RuleDocument("big/orders.yaml", {
        "id": f"tiktok_shop.orders.big_{n}", "platforms": ["tiktok_shop"], "regions": "*", "domains": "*",
        "priority": 50, "when": {"code": f"C{n}", "message": {"regex": f"case {n}\\b"}},
        "then": {"category": "validation.invalid_value", "doc_url": "https://partner.tiktokshop.com/x",
                 "en": {"title": "Big rule", "explanation": "A rule among many.", "repair_steps": ["Nothing."]},
                 "zh-CN": {"title": "大规则", "explanation": "众多规则之中的一条规则而已。",
                           "repair_steps": ["无需处理。"]}},
        "source": "tests/unit/rules/engine/test_compiler.py", "examples": {"match": [{}], "no_match": [{}]},
    })


def test_more_rules_on_one_field_than_durable_rules_has_slots():
    """durable-rules hangs when one node has more than ~512 children; shards avoid it."""
    rules = build_rules([_rule(n) for n in range(1200)])
    engine = Engine(rules, "big")
    try:
        for n in (0, 599, 1199):
            payload = {"status": 400, "platform": "tiktok_shop", "endpoint": "/order/202309/orders",
                       "body": {"code": f"C{n}", "message": f"case {n} failed"}}
            assert [r.id for r in engine.match(normalize(payload))] == [f"tiktok_shop.orders.big_{n}"]
            payload["body"]["message"] = f"case {n}0 failed"
            assert engine.match(normalize(payload)) == []
    finally:
        engine.close()
