"""The score stage: evidence ranks the matches, priority only breaks ties, `unless` counts
against a rule, and the answer says which evidence counted and why the runner-up lost."""

import copy

import pytest

from rules.engine import Engine, score
from rules.engine.normalize import normalize
from rules.kb.loader import RuleDocument, build_rules
from rules.model import Condition

BASE = {
    "regions": "*", "domains": "*", "priority": 50,
    "then": {"category": "validation.invalid_value", "doc_url": "https://example.com/doc",
             "en": {"title": "A title", "explanation": "An explanation.", "repair_steps": ["A step."]},
             "zh-CN": {"title": "测试标题", "explanation": "这是评分阶段测试用的解释说明。",
                       "repair_steps": ["一步。"]}},
    "source": "a test of the score stage",
    "examples": {"match": [{"status": 400, "endpoint": "/x"}], "no_match": [{"status": 500, "endpoint": "/x"}]},
}


def rule(rule_id, when, category="validation.invalid_value", platforms=("generic",), priority=50, **extra):
    body = copy.deepcopy(BASE)
    body.update(id=rule_id, when=when, platforms=list(platforms), priority=priority, **extra)
    body["then"]["category"] = category
    return RuleDocument("generic/http.yaml", body)


def ranked_ids(rules, payload):
    engine = Engine(build_rules(rules), "t")
    try:
        return [s.rule.id for s in engine.rank(normalize(payload))[0]], engine.diagnose(payload)
    finally:
        engine.close()


PAYLOAD = {"status": 429, "endpoint": "https://api.example.com/orders", "headers": {"X-RateLimit-Remaining": "48"},
           "body": {"code": "E1", "message": "Request denied: your IP address has been blocked"}}


def test_a_message_match_outranks_a_bare_status_of_any_priority():
    ids, answer = ranked_ids([
        rule("generic.t.quota", {"status": 429}, "rate_limit.exceeded", priority=100),
        rule("generic.t.ip", {"message": {"regex": "ip address has been blocked"}}, "rate_limit.ip_blocked",
             priority=1),
    ], PAYLOAD)
    assert ids == ["generic.t.ip", "generic.t.quota"]
    top = answer["diagnoses"][0]
    assert top["scoring"] == {"score": 6.0, "counted": {"message": 6.0}, "against": []}
    assert "rate_limit.exceeded (generic.t.quota) scored 2.0 on status" in answer["runner_up"]


def test_a_code_outranks_a_message_and_more_evidence_outranks_less():
    ids, _ = ranked_ids([
        rule("generic.t.message", {"message": {"regex": "blocked"}}),
        rule("generic.t.code", {"code": "E1"}, "auth.permission_denied"),
        rule("generic.t.code_and_status", {"code": "E1", "status": 429}, "rate_limit.ip_blocked"),
    ], PAYLOAD)
    assert ids == ["generic.t.code_and_status", "generic.t.code", "generic.t.message"]


def test_unless_counts_against_a_rule_and_is_named():
    ids, answer = ranked_ids([
        rule("generic.t.quota", {"status": 429, "code": "E1"}, "rate_limit.exceeded",
             unless={"headers": {"x-ratelimit-remaining": {"gt": 0}}}),
        rule("generic.t.ip", {"message": {"regex": "ip address"}}, "rate_limit.ip_blocked"),
    ], PAYLOAD)
    assert ids == ["generic.t.ip", "generic.t.quota"]
    quota = answer["diagnoses"][1]
    assert quota["scoring"]["against"] == ["headers.x-ratelimit-remaining"]
    assert quota["scoring"]["score"] == 2.0 + 8.0 - score.AGAINST
    assert "against the runner-up: headers.x-ratelimit-remaining" in answer["runner_up"]
    without = {**PAYLOAD, "headers": {"X-RateLimit-Remaining": "0"}}
    quota = rule("generic.t.quota", {"status": 429, "code": "E1"}, "rate_limit.exceeded",
                 unless={"headers": {"x-ratelimit-remaining": {"gt": 0}}})
    assert ranked_ids([quota], without)[1]["diagnoses"][0]["scoring"]["against"] == []


def test_ties_go_to_priority_then_to_the_platform_rule_then_to_the_id():
    same = {"status": 429}
    ids, answer = ranked_ids([
        rule("generic.t.b", same, priority=40), rule("generic.t.a", same, priority=40),
        rule("generic.t.high", same, priority=60),
        rule("tiktok_shop.t.own", same, platforms=("tiktok_shop",), priority=40),
        rule("tiktok_shop.t.more", same, platforms=("tiktok_shop",), priority=30),
        rule("tiktok_shop.t.also", same, platforms=("tiktok_shop", "generic"), priority=30),
    ], {**PAYLOAD, "endpoint": "https://open-api.tiktokglobalshop.com/order/202309/orders"})
    assert ids == ["tiktok_shop.t.own", "tiktok_shop.t.more", "generic.t.high", "generic.t.a", "generic.t.b",
                   "tiktok_shop.t.also"], "the platform's own rule counts its platform as evidence"
    assert "runner_up" not in answer, "all of one category: there is no rival to explain"


@pytest.mark.parametrize("when, weight", [
    ({"code": "E1"}, 8.0), ({"code": ["E1", "E2", "E3"]}, 8.0), ({"code": {"regex": "(?i)missing"}}, 5.0),
    ({"message": {"regex": "x"}}, 6.0),
    ({"status": 429}, 2.0), ({"status": [429, 503]}, 1.8), ({"status": {"gte": 400}}, 1.0),
    ({"path": {"regex": "orders"}}, 1.0), ({"path": {"regex": "^/orders/v0/orders$"}}, 4.0),
    ({"host": {"regex": "api\\.example\\.com$"}}, 2.0), ({"derived": {"clock_skew_seconds": {"gte": 300}}}, 9.0),
    ({"derived": {"direction": "inbound"}}, 1.0), ({"query": {"CreatedAfter": {"exists": False}}}, 1.0),
    ({"message": {"not_regex": "x"}}, 0.0), ({"status": {"ne": 200}}, 0.0),
    ({"body_format": "html"}, 3.0), ({"body_format": "json"}, 0.5),
])
def test_the_weight_of_each_kind_of_evidence(when, weight):
    [built] = build_rules([rule("generic.t.w", {**when, "method": {"not_regex": "^$"}})])
    assert score.rule_weight(built)[0] == weight


def test_a_regional_rule_counts_its_region():
    [built] = build_rules([rule("amazon_sp.t.r", {"status": 403}, platforms=("amazon_sp",), regions=["DE"])])
    assert dict(score.rule_weight(built)[1]) == {"status": 2.0, "region": score.REGIONS, "platform": score.PLATFORM}


def test_strength_drops_when_a_rival_of_another_category_comes_close():
    [a, b] = build_rules([rule("generic.t.a", {"code": "E1"}), rule("generic.t.b", {"message": {"regex": "x"}},
                                                                     "auth.token_invalid")])
    fact = normalize(PAYLOAD)
    alone = score.strength([score.Scorer([a]).score(a, fact)])
    close = score.strength([score.Scorer([a, b]).score(a, fact), score.Scorer([a, b]).score(b, fact)])
    assert alone == 8.0 and close < alone
    assert score.confidence(8.0, ((10.0, 0.9), (5.0, 0.7), (0.0, 0.4))) == 0.7
    assert score.confidence(-3.0, ((0.0, 0.4),)) == score.BELOW_EVERY_BAND


def test_condition_of_unless_is_tested_as_when_would_be():
    cond = Condition("headers", "x-ratelimit-remaining", (("gt", 0),))
    assert score.Scorer([]).rank([], normalize(PAYLOAD)) == []
    from rules.engine.trace import holds
    assert holds(cond, normalize(PAYLOAD)) and not holds(cond, normalize({**PAYLOAD, "headers": {}}))


def test_a_status_of_200_is_no_evidence():
    """Marketplaces answer errors with 200 and a code: a rule's status test then counts nothing."""
    ids, answer = ranked_ids([
        rule("generic.t.any_200", {"status": [200, 400]}, "validation.invalid_value", priority=90),
        rule("generic.t.words", {"message": {"regex": "blocked"}}, "rate_limit.ip_blocked", priority=1),
    ], {**PAYLOAD, "status": 200})
    assert ids == ["generic.t.words", "generic.t.any_200"]
    assert answer["diagnoses"][1]["scoring"]["counted"] == {}


# Each tie-break in turn, with the keys after it pointing the other way, so that dropping,
# reversing or reordering any one of them changes the order of the rule ids.
TIES = {**PAYLOAD, "endpoint": "https://open-api.tiktokglobalshop.com/order/202309/orders"}


def test_with_equal_scores_the_higher_priority_comes_first_whatever_its_platform_and_id():
    ids, _ = ranked_ids([
        rule("tiktok_shop.t.a_low", {"status": 429}, platforms=("tiktok_shop",), priority=40),
        rule("generic.t.z_high", {"status": 429, "path": {"regex": "orders"}, "host": {"regex": "tiktok"}},
             priority=41),
    ], TIES)
    assert ids == ["generic.t.z_high", "tiktok_shop.t.a_low"]


def test_with_equal_scores_and_priorities_the_platform_rule_comes_before_a_generic_one():
    """generic.t.a sorts first by id and has more conditions: only the platform key puts it second."""
    ids, answer = ranked_ids([
        rule("generic.t.a", {"status": 429, "path": {"regex": "orders"}, "host": {"regex": "tiktok"}}),
        rule("tiktok_shop.t.z", {"status": 429}, platforms=("tiktok_shop",)),
    ], TIES)
    assert ids == ["tiktok_shop.t.z", "generic.t.a"]
    assert [d["scoring"]["score"] for d in answer["diagnoses"]] == [4.0, 4.0]


def test_a_rule_for_its_platform_and_generic_counts_as_generic_in_a_tie():
    ids, _ = ranked_ids([
        rule("tiktok_shop.t.a_both", {"status": 429, "path": {"regex": "orders"}, "host": {"regex": "tiktok"}},
             platforms=("tiktok_shop", "generic")),
        rule("tiktok_shop.t.z_own", {"status": 429}, platforms=("tiktok_shop",)),
    ], TIES)
    assert ids == ["tiktok_shop.t.z_own", "tiktok_shop.t.a_both"]


def test_the_last_tie_goes_to_the_rule_id_not_to_the_number_of_conditions():
    ids, answer = ranked_ids([
        rule("generic.t.b_one", {"status": 429}),
        rule("generic.t.a_two", {"status": 429, "method": {"not_regex": "^$"}}),
        rule("generic.t.c_one", {"status": 429}),
    ], TIES)
    assert ids == ["generic.t.a_two", "generic.t.b_one", "generic.t.c_one"]
    assert {d["scoring"]["score"] for d in answer["diagnoses"]} == {2.0}


@pytest.mark.parametrize("when, weight", [
    ({"path": "/orders/v0/orders"}, score.OPERATION_PATH), ({"host": "api.example.com"}, score.ONE_HOST),
    ({"message": {"ne": "a", "not_in": ["b", "c"], "not_regex": "d"}}, 0.0),  # every excluding test at once
    ({"status": [429, 500, 503]}, 1.6), ({"body": {"error.code": ["A", "B", "C", "D"]}}, 4.2),
])
def test_the_weight_of_a_whole_path_or_host_and_of_longer_lists(when, weight):
    [built] = build_rules([rule("generic.t.w", when)])
    assert score.rule_weight(built)[0] == weight


def test_a_2xx_answer_zeroes_only_the_status_test():
    ids, answer = ranked_ids([rule("generic.t.words", {"status": [200, 400], "message": {"regex": "blocked"},
                                                      "method": "POST"})], {**PAYLOAD, "status": 200, "method": "POST"})
    assert answer["diagnoses"][0]["scoring"]["score"] == 6.5
    _, at_300 = ranked_ids([rule("generic.t.redirect", {"status": [300, 400]})], {**PAYLOAD, "status": 300})
    assert at_300["diagnoses"][0]["scoring"]["score"] == 1.8, "a 3xx is not a 2xx: its status counts"


def test_a_rule_the_scorer_was_not_built_with_is_weighed_on_the_spot():
    [built] = build_rules([rule("generic.t.new", {"code": "E1"})])
    assert score.Scorer([]).score(built, normalize(PAYLOAD)).score == 8.0


@pytest.mark.parametrize("top, rival, expected", [
    (8.0, 2.0, 8.0),  # far below: no effect
    (8.0, 6.0, 6.0),  # within MARGIN: the top loses what the rival comes closer than that
    (2.0, 0.0, 2.0),  # a rival with no evidence lowers nothing
    (2.0, 0.5, -0.5),
])
def test_strength_is_lowered_by_as_much_as_a_rival_comes_within_the_margin(top, rival, expected):
    [a, b] = build_rules([rule("generic.t.a", {"code": "E1"}),
                          rule("generic.t.b", {"code": "E2"}, "auth.token_invalid")])
    ranked = [score.Scored(a, top, (), ()), score.Scored(b, rival, (), ())]
    assert score.strength(ranked) == expected


def test_a_score_on_a_band_boundary_gets_that_band_and_unmatched_its_own_figure():
    assert score.confidence(5.0, ((10.0, 0.9), (5.0, 0.7))) == 0.7
    import yaml
    calibrated = yaml.safe_load(score.CALIBRATION_PATH.read_text(encoding="utf-8"))
    assert score.unmatched_confidence() == float(calibrated["unmatched"])


def test_every_field_a_rule_may_test_has_a_weight_of_its_own():
    from rules.kb.schema import MAP_FIELDS, SCALAR_FIELDS

    assert set(SCALAR_FIELDS + MAP_FIELDS) <= set(score.WEIGHTS)
