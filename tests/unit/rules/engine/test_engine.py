"""The engine ranks what matches, explains it, and keeps no state between payloads."""

import durable_rules_engine
import pytest

from rules.engine import Engine, EngineClosed
from rules.engine.normalize import normalize

TT = "https://open-api.tiktokglobalshop.com/order/202309/orders"


@pytest.fixture(scope="module")
def engine(kb_rules):
    engine = Engine(kb_rules, "test")
    yield engine
    engine.close()


def payloads(kb_rules):
    for rule in kb_rules:
        yield from rule.examples_match
        yield from rule.examples_no_match


def test_no_state_is_left_behind(engine, kb_rules):
    """durable-rules keeps facts per session; after any number of payloads none remain."""
    every = list(payloads(kb_rules))
    for _ in range(20):
        for payload in every:
            engine.diagnose(payload)
    used = 0
    for ruleset in engine.matcher._host._ruleset_list:
        try:
            facts = ruleset.get_facts("0")
        except durable_rules_engine.error:  # the session was never opened
            continue
        used += 1
        assert facts == []
    assert used > 0


def test_partitions_only_hold_rules_that_can_apply(engine):
    for (platform, region, domain), part in engine.layout.partitions.items():
        for rule in part.rules:
            assert rule.applies_to(platform, region, domain)


def test_each_ranked_list_is_ordered_by_score_then_priority(engine, kb_rules):
    for rule in kb_rules:
        for example in rule.examples_match:
            ranked, _raw = engine.rank(normalize(example))
            keys = [(-s.score, -s.rule.priority) for s in ranked]
            assert keys == sorted(keys)


@pytest.mark.parametrize("status, owner", [(0, "network"), (503, "platform"), (418, "integrator"),
                                           (200, "integrator"), (302, "unknown")])
def test_no_match_still_says_what_the_status_tells(status, owner):
    result = Engine([], "empty").diagnose({"status": status, "endpoint": "https://example.invalid/zz",
                              "body": {"message": "qwertyuiop"}})
    assert result["matched"] is False
    [diagnosis] = result["diagnoses"]
    assert diagnosis["category"] == "unknown"
    assert diagnosis["owner"] == owner
    assert diagnosis["evidence"]["status"] == status


def test_chinese_texts(engine):
    payload = {"status": 503, "endpoint": "/zz"}
    en = engine.diagnose(payload, "en")["diagnoses"][0]
    zh = engine.diagnose(payload, "zh-CN")["diagnoses"][0]
    assert en["title"] != zh["title"]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in zh["title"] + zh["explanation"])


def test_a_closed_engine_refuses_work(kb_rules):
    engine = Engine(kb_rules, "short-lived")
    engine.close()
    with pytest.raises(EngineClosed):
        engine.diagnose({"status": 400, "endpoint": TT})
