"""Condition-by-condition explanation of why a rule did or did not match a fact.

The engine answers which rules match; curators also need to see which condition
failed and on what value. This evaluates one rule's conditions directly, for lint
messages and rule tests; on the diagnosis path only for the `unless` tests of the few
rules that matched (rules/engine/score.py).
"""

from dataclasses import dataclass
from typing import Any

from ..model import Condition, Rule
from .compiler import as_text, compile_regex, extractor, has_type, number_or_text
from .normalize import Fact


@dataclass(frozen=True)
class Step:
    condition: str
    operator: str
    expected: Any
    actual: Any
    passed: bool


def _holds(op: str, expected: Any, actual: Any) -> bool:
    if op in ("regex", "not_regex"):
        text = as_text(actual)
        found = text is not None and compile_regex(expected).search(text) is not None
        return found if op == "regex" else not found
    if op == "type":
        return has_type(actual, expected)
    if op == "exists":
        return (actual is not None) == expected
    if op == "eq":
        return actual == expected
    if op == "in":
        return actual is not None and actual in expected
    if actual is None:
        return False
    if op == "ne":
        return actual != expected
    if op == "not_in":
        return actual not in expected
    try:
        return {"gt": actual > expected, "gte": actual >= expected,
                "lt": actual < expected, "lte": actual <= expected}[op]
    except TypeError:
        return False


def _steps(cond: Condition, fact: Fact) -> list[Step]:
    actual = extractor(cond.source, cond.name)(fact)
    literal = number_or_text if cond.source in ("headers", "request_headers", "query") else None
    steps = []
    for op, expected in cond.ops:
        if literal and op in ("eq", "ne"):
            expected = literal(expected)
        elif literal and op in ("in", "not_in"):
            expected = tuple(map(literal, expected))
        steps.append(Step(cond.label, op, expected, actual, _holds(op, expected, actual)))
    return steps


def holds(cond: Condition, fact: Fact) -> bool:
    """Whether one condition holds (the score stage tests a rule's `unless` with it)."""
    return all(step.passed for step in _steps(cond, fact))


def trace(rule: Rule, fact: Fact) -> list[Step]:
    return [step for cond in rule.conditions for step in _steps(cond, fact)]
