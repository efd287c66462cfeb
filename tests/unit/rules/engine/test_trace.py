"""rules/engine/trace.py: why a rule did or did not hold, condition by condition.

Curators read these steps in lint messages and in the console's trial ("Conditions, one by
one"); the score stage tests a rule's `unless` with `holds`. Each step must name the
condition, the operator, what was expected and what the payload had, and whether it passed.
"""

import pytest

from rules.engine import Engine
from rules.engine.normalize import normalize
from rules.engine.trace import Step, holds, trace
from tests.unit.rules.ruledoc import rule

ENDPOINT = "https://open-api.tiktokglobalshop.com/order/202309/orders"


def fact(**payload):
    return normalize({"status": 400, "endpoint": ENDPOINT, **payload})


def test_each_operator_of_a_condition_is_one_step_with_expected_actual_and_outcome():
    steps = trace(rule({"status": {"gte": 500, "lt": 600}}), fact(status=404))
    assert steps == [Step("status", "gte", 500, 404, False), Step("status", "lt", 600, 404, True)]


def test_a_rule_that_did_not_hold_points_at_the_condition_that_failed_and_the_value_it_saw():
    checked = rule({"status": 400, "code": "36009004", "message": {"regex": "sign(ature)? (is )?invalid"}})
    steps = trace(checked, fact(body={"code": 36009004, "message": "access token expired"}))
    assert [(s.condition, s.passed) for s in steps] == [("status", True), ("code", True), ("message", False)]
    assert steps[2].actual == "access token expired"
    held = trace(checked, fact(body={"code": 36009004, "message": "Signature is invalid"}))
    assert all(s.passed for s in held) and len(held) == 3


def test_conditions_on_maps_are_labelled_with_their_key_and_headers_in_lower_case():
    checked = rule({"headers": {"X-Amzn-ErrorType": "QuotaExceeded"}, "body": {"errors[0].code": "E1"},
                    "context": {"shop_id": {"exists": True}}, "derived": {"host_environment": "sandbox"}})
    steps = trace(checked, fact(headers={"x-amzn-errortype": "QuotaExceeded"}, body={"errors": [{"code": "E2"}]},
                                context={"shop_id": "7495"}))
    assert [(s.condition, s.actual, s.passed) for s in steps] == [
        ("headers.x-amzn-errortype", "QuotaExceeded", True),
        ("body.errors[0].code", "E2", False),
        ("context.shop_id", "7495", True),
        ("derived.host_environment", "production", False),  # a TikTok Shop host is production
    ]


@pytest.mark.parametrize(("when", "payload"), [
    ({"headers": {"retry-after": "30"}}, {"headers": {"Retry-After": "30"}}),
    ({"headers": {"retry-after": {"in": ["30", "60"]}}}, {"headers": {"Retry-After": " 30 "}}),
    ({"query": {"page_size": {"gt": 50}}}, {"endpoint": ENDPOINT + "?page_size=100"}),
    ({"query": {"version": {"ne": "202309"}}}, {"endpoint": ENDPOINT + "?version=202212"}),
])
def test_header_and_query_text_is_compared_as_the_number_it_spells(when, payload):
    steps = trace(rule(when), fact(**payload))
    assert [s.passed for s in steps] == [True]
    assert isinstance(steps[0].actual, int)


def test_codes_are_compared_as_text_whatever_type_the_platform_sent():
    as_number, as_text = rule({"code": 21001001}), rule({"code": {"in": [21001001, "21001002"]}})
    for body_code in (21001001, "21001001"):
        assert trace(as_number, fact(body={"code": body_code}))[0].passed
        assert trace(as_text, fact(body={"code": body_code}))[0].passed
    assert not trace(as_number, fact(body={"code": 21001002}))[0].passed


def test_regex_ignores_case_and_reads_a_non_text_value_as_its_json():
    assert trace(rule({"message": {"regex": "QUOTA exceeded"}}), fact(body={"message": "quota Exceeded"}))[0].passed
    assert trace(rule({"body": {"data": {"regex": '"sku_id":\\s*"17'}}}),
                 fact(body={"data": {"sku_id": "1729"}}))[0].passed
    assert not trace(rule({"body": {"data": {"regex": "1730"}}}), fact(body={"data": {"sku_id": "1729"}}))[0].passed


@pytest.mark.parametrize(("spec", "passed"), [
    ({"regex": "quota"}, False),
    ({"not_regex": "quota"}, True),
    ({"exists": False}, True),
    ({"exists": True}, False),
    ({"eq": None}, True),
    ({"eq": "E1"}, False),
    ({"ne": "E1"}, False),  # nothing is not "different from E1": a missing value fails
    ({"in": ["E1", "E2"]}, False),
    ({"not_in": ["E1", "E2"]}, False),
    ({"gt": 0}, False),
    ({"lte": 0}, False),
    ({"type": "string"}, False),
])
def test_a_value_the_payload_does_not_have(spec, passed):
    steps = trace(rule({"body": {"data.reason": spec}}), fact(body={"data": {}}))
    assert [(s.actual, s.passed) for s in steps] == [(None, passed)]


def test_comparing_a_number_with_text_fails_the_step_instead_of_raising():
    steps = trace(rule({"body": {"data.quantity": {"gt": 3}}}), fact(body={"data": {"quantity": "many"}}))
    assert [(s.actual, s.passed) for s in steps] == [("many", False)]


@pytest.mark.parametrize(("value", "wanted", "passed"), [
    ("12", "string", True), ("12", "number", False), (12, "number", True), (1.5, "integer", False),
    (True, "boolean", True), (True, "number", False), ({"a": 1}, "object", True), ([1, "x"], "string", True),
    ([1, 2], "string", False),
])
def test_type_checks_the_json_type_of_a_body_value_or_of_the_items_of_an_array(value, wanted, passed):
    steps = trace(rule({"body": {"data.value": {"type": wanted}}}), fact(body={"data": {"value": value}}))
    assert steps[0].passed is passed


def test_holds_is_true_only_when_every_operator_of_that_one_condition_passes():
    checked = rule({"status": {"gte": 500, "lt": 600}, "message": {"regex": "timeout"}})
    status_cond, message_cond = checked.conditions
    assert holds(status_cond, fact(status=503, body={"message": "ok"}))
    assert not holds(status_cond, fact(status=600))
    assert not holds(status_cond, fact(status=499))
    assert not holds(message_cond, fact(status=503, body={"message": "ok"}))


def test_unless_conditions_are_not_part_of_the_trace_of_when():
    checked = rule({"status": 429}, unless={"headers": {"retry-after": {"exists": True}}})
    steps = trace(checked, fact(status=429, headers={"Retry-After": "5"}))
    assert [(s.condition, s.passed) for s in steps] == [("status", True)]
    assert holds(checked.against[0], fact(status=429, headers={"Retry-After": "5"}))


# The engine (durable-rules) decides whether a rule matched; the trace explains it. Where both
# see values of the same type they must agree, or a curator is told the opposite of what happened.
AGREED = [
    ({"status": {"gte": 500, "lt": 600}}, {"status": 503}),
    ({"status": {"gte": 500, "lt": 600}}, {"status": 429}),
    ({"message": {"not_regex": "quota"}}, {}),
    ({"message": {"not_regex": "quota"}}, {"body": {"message": "Quota exceeded"}}),
    ({"code": {"ne": "E1"}}, {}),
    ({"code": {"ne": "E1"}}, {"body": {"code": "E2"}}),
    ({"code": {"not_in": ["E1", "E3"]}}, {"body": {"code": "E3"}}),
    ({"headers": {"retry-after": {"gt": 10}}}, {"headers": {"Retry-After": "30"}}),
    ({"headers": {"retry-after": {"gt": 10}}}, {"headers": {"Retry-After": "3"}}),
    ({"query": {"page": 0}}, {"endpoint": ENDPOINT + "?page=0"}),
    ({"body": {"data.x": {"exists": False}}}, {"body": {"data": {"x": 1}}}),
    ({"body": {"data.x": {"type": "number"}}}, {"body": {"data": {"x": "5"}}}),
    ({"body": {"data.x": {"lt": 3}}}, {"body": {"data": {"x": 2.5}}}),
    ({"derived": {"host_environment": "sandbox"}},
     {"endpoint": "https://sandbox.sellingpartnerapi-na.amazon.com/orders/v0/orders"}),
]


@pytest.fixture(scope="module")
def engine_of():
    engines = []

    def build(checked):
        engine = Engine([checked], f"trace-{len(engines)}")
        engines.append(engine)
        return engine

    yield build
    for engine in engines:
        engine.close()


@pytest.mark.parametrize(("when", "payload"), AGREED)
def test_the_trace_passes_exactly_when_the_engine_matches(engine_of, when, payload):
    checked = rule(when)
    seen = fact(**payload)
    matched = engine_of(checked).match(seen) == [checked]
    assert all(s.passed for s in trace(checked, seen)) is matched


@pytest.mark.xfail(strict=True, reason="trace compares strictly, the engine loosely: see the report of issue #17")
@pytest.mark.parametrize(("when", "payload"), [
    ({"body": {"x": 3}}, {"body": {"x": "3"}}),  # engine: match; trace: eq failed
    ({"body": {"x": 5}}, {"body": {"x": [5]}}),  # engine unwraps one-item arrays
    ({"body": {"x": {"gte": 3}}}, {"body": {"x": "abc"}}),  # engine: "abc" >= 3 holds
])
def test_the_trace_and_the_engine_disagree_on_mixed_types(engine_of, when, payload):
    checked = rule(when)
    seen = fact(**payload)
    matched = engine_of(checked).match(seen) == [checked]
    assert all(s.passed for s in trace(checked, seen)) is matched
