"""Condition-by-condition explanation of why a rule did or did not match a fact.

The engine answers which rules match; curators also need to see which condition
failed and on what value. This evaluates one rule's conditions directly, for lint
messages and rule tests; on the diagnosis path only for the `unless` tests of the few
rules that matched (rules/engine/score.py).
"""

from dataclasses import dataclass
from typing import Any

from ..model import Condition, Rule
from .compiler import (
    NUMBER_SPELLING_SOURCES,
    TEXT_MAPS,
    as_text,
    compare,
    compile_regex,
    equality_text,
    extractor,
    has_type,
    number_or_text,
    ordering_number,
)
from .normalize import Fact


@dataclass(frozen=True)
class Step:
    condition: str
    operator: str
    expected: Any
    actual: Any
    passed: bool


def _holds(op: str, expected: Any, actual: Any, spelled_numbers: bool) -> bool:
    """One test, as the engine makes it (see compiler.py: equality_text, ordering_number)."""
    if op in ("regex", "not_regex"):
        text = as_text(actual)
        found = text is not None and compile_regex(expected).search(text) is not None
        return found if op == "regex" else not found
    if op == "type":
        return has_type(actual, expected)
    if op == "exists":
        return (actual is not None) == expected
    if op == "eq" and expected is None:
        return actual is None
    if actual is None:
        return False
    if op in ("gt", "gte", "lt", "lte"):
        number = ordering_number(actual)
        return number is not None and compare(op, number, expected)
    text = equality_text(actual, spelled_numbers)
    options = expected if op in ("in", "not_in") else (expected,)
    # a null operand is never equal to a value (ne / not_in null hold for any value)
    found = any(option is not None and equality_text(option, spelled_numbers) == text for option in options)
    return found if op in ("eq", "in") else not found


def _steps(cond: Condition, fact: Fact) -> list[Step]:
    actual = extractor(cond.source, cond.name)(fact)
    literal = number_or_text if cond.source in TEXT_MAPS else None
    spelled = cond.source in NUMBER_SPELLING_SOURCES
    steps = []
    for op, expected in cond.ops:
        if literal and op in ("eq", "ne"):
            expected = literal(expected)
        elif literal and op in ("in", "not_in"):
            expected = tuple(map(literal, expected))
        steps.append(Step(cond.label, op, expected, actual, _holds(op, expected, actual, spelled)))
    return steps


def holds(cond: Condition, fact: Fact) -> bool:
    """Whether one condition holds (the score stage tests a rule's `unless` with it)."""
    return all(step.passed for step in _steps(cond, fact))


def trace(rule: Rule, fact: Fact) -> list[Step]:
    return [step for cond in rule.conditions for step in _steps(cond, fact)]
