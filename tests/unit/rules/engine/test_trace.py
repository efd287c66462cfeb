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
    ({"type": "null"}, True),  # JMESPath reads a missing value as null
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
    ([1, 2], "string", False), ([1, 2], "array", True), ([], "array", True), ("x", "array", False),
    (None, "null", True), ([1, None], "null", True), ([1], "null", False), ({"a": None}, "null", False),
    ([[1]], "array", True), ([{"a": 1}], "object", True),
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


# Values of other types than the operand: the engine never lets durable-rules compare them
# itself (it compares a number's text with the fact's text over the fact's length only: ""
# would equal 3, "abc" >= 3 would hold); both read them as compiler.equality_text and
# compiler.ordering_number say.
@pytest.mark.parametrize(("when", "payload", "matched"), [
    ({"body": {"x": 3}}, {"body": {"x": "3"}}, True),  # text spelling a number equals it
    ({"body": {"x": 5}}, {"body": {"x": [5]}}, True),  # a one-item array is its item
    ({"body": {"x": {"gte": 3}}}, {"body": {"x": "abc"}}, False),  # text is not a number
    ({"body": {"x": 3}}, {"body": {"x": ""}}, False),
    ({"body": {"x": 3.5}}, {"body": {"x": "3"}}, False),
    ({"body": {"x": {"gte": 30}}}, {"body": {"x": "4"}}, False),  # 4 < 30, although "4" > "30"
    ({"body": {"x": {"gt": 3}}}, {"body": {"x": "30"}}, True),
    ({"body": {"x": {"gt": 0}}}, {"body": {"x": True}}, False),  # a boolean is not a number
    ({"body": {"x": {"gt": 0}}}, {"body": {"x": {"a": 1}}}, False),
    ({"body": {"x": {"gt": 10}}}, {"body": {"x": 1e20}}, True),  # durable-rules cannot read 1e+20
    ({"body": {"x": {"lt": 1}}}, {"body": {"x": 1e-05}}, True),
    ({"body": {"x": True}}, {"body": {"x": "true"}}, True),
    ({"body": {"x": 1}}, {"body": {"x": True}}, False),
    ({"body": {"x": {"ne": 3}}}, {"body": {"x": "abc"}}, True),
    ({"body": {"x": {"not_in": [3, "abc"]}}}, {"body": {"x": " 3 "}}, False),
])
def test_values_of_another_type_than_the_operand(engine_of, when, payload, matched):
    checked = rule(when)
    seen = fact(**payload)
    assert (engine_of(checked).match(seen) == [checked]) is matched
    assert all(s.passed for s in trace(checked, seen)) is matched


@pytest.mark.parametrize(("wanted", "value", "matched"), [
    ("array", [1, 2], True), ("array", [], True), ("array", "[1, 2]", False),
    ("null", None, True), ("null", [1, None], True), ("null", 0, False), ("string", None, False),
])
def test_the_engine_tests_type_as_the_rule_language_says(engine_of, wanted, value, matched):
    """kb_content/README.md: true if any value found there has that type (an array is one)."""
    checked = rule({"body": {"data.value": {"type": wanted}}})
    seen = fact(body={"data": {"value": value}})
    assert (engine_of(checked).match(seen) == [checked]) is matched
    assert all(s.passed for s in trace(checked, seen)) is matched


# Every operator against values of every JSON type, in a body path (where text spelling a
# number is that number), a context value and the code (compared as text as it is): the
# engine and the trace must give the same answer on each.
VALUES = ["3", 3, 3.0, 3.5, "3.5", "", "-", "abc", True, False, "true", "false", 1, 0, "1", [5], ["3"],
          [1, 2], {"a": 1}, None, "é", "a", 'a"', 'a"}', "a\\b", 1e20, 1e-05, -1e300, 2**70, -2**70, "1e20",
          " 3 ", "inf", "nan", [True], [None], "[1, 2]"]
OPERATIONS = [
    3, "3", 3.5, "abc", True, "true", 1, "é", 'a"}', "a\\b", "[1, 2]", 2**70, None,
    {"ne": 3}, {"ne": "abc"}, {"ne": None}, {"ne": True}, {"in": ["3", "abc", None]}, {"in": [1, 2]},
    {"not_in": [3, "a"]}, {"not_in": [None]}, {"gt": 0}, {"gte": 3}, {"lt": 3.5}, {"lte": -1},
    {"gt": 9.3e18}, {"exists": True}, {"type": "number"}, {"type": "array"}, {"type": "null"},
    {"type": "string"}, {"type": "object"}, {"type": "boolean"}, {"type": "integer"},
]


def _applies(source: str, spec) -> bool:
    """`type` reads body paths only; a code is text, never ordered."""
    return not (isinstance(spec, dict) and ("type" in spec and source != "body" or source == "code" and spec.keys() & {
        "gt", "gte", "lt", "lte"}))


@pytest.mark.parametrize(("source", "spec"), [(source, spec) for source in ("body", "context", "code")
                                              for spec in OPERATIONS if _applies(source, spec)],
                         ids=lambda value: value if isinstance(value, str) and value in ("body", "context", "code")
                         else repr(value))
def test_the_engine_and_the_trace_agree_on_every_type(engine_of, source, spec):
    when = {"code": spec} if source == "code" else {source: {"x": spec}}
    checked = rule(when)
    engine = engine_of(checked)
    for value in VALUES:
        if source == "code":
            payload = {"body": {"code": value}}
        else:
            payload = {"body": {"x": value}} if source == "body" else {"context": {"x": value}}
        seen = fact(**payload)
        matched = engine.match(seen) == [checked]
        assert all(s.passed for s in trace(checked, seen)) is matched, (value, matched)
