"""The baseline an ERP team would write itself: a loop over the rules.

For every rule in file order: skip it unless it applies to the payload's platform,
region and domain; then test its conditions one after the other, stopping at the
first that fails. Values are read the obvious way (dict lookups, JMESPath compiled
once per path with the `jmespath` package) and regexes are the same RE2 patterns,
compiled once, case-insensitive, that the engine uses. Matches are ranked by the
engine's own score stage (rules/engine/score.py): only finding them is compared.

The comparison semantics are the engine's documented ones, so both give the same
answers (checked before any timing): equality through compiler.equality_text (text
that spells a number is that number in map values, a one-element list is that element,
other structures their JSON text), order through compiler.ordering_number (numbers
only); a regex searches the value's text; any test on a missing value fails except
`exists: false`, `eq: null`, `type: null` and `not_regex`.
"""

import jmespath

from rules.engine.compiler import (
    NUMBER_SPELLING_SOURCES,
    as_text,
    compare,
    compile_regex,
    equality_text,
    has_type,
    number_or_text,
    ordering_number,
)
from rules.engine.score import Scorer, rule_weight

_TEXT_MAPS = ("headers", "request_headers", "query")


def _reader(source: str, name: str):
    if source in ("body", "request_body"):
        expr = jmespath.compile(name)

        def body_value(fact):
            doc = getattr(fact, source)
            if not isinstance(doc, dict | list):
                return doc if name == "to_string(@)" and isinstance(doc, str) else None
            try:
                return expr.search(doc)
            except (jmespath.exceptions.JMESPathError, TypeError, ValueError):
                return None
        return body_value
    if source in _TEXT_MAPS:
        return lambda fact: number_or_text(getattr(fact, source).get(name))
    if source in ("context", "derived"):
        return lambda fact: getattr(fact, source).get(name)
    return lambda fact: getattr(fact, source)


def _test(op: str, operand, source: str):
    """A function (raw value) -> bool for one operator."""
    if op == "regex":
        regex = compile_regex(operand)
        return lambda v: v is not None and regex.search(as_text(v)) is not None
    if op == "not_regex":
        regex = compile_regex(operand)
        return lambda v: v is None or regex.search(as_text(v)) is None
    if op == "type":
        return lambda v: has_type(v, operand)
    if op == "exists":
        return lambda v: (v is not None) == operand
    if op == "eq" and operand is None:
        return lambda v: v is None
    spelled = source in NUMBER_SPELLING_SOURCES
    if op in ("eq", "ne", "in", "not_in"):
        options = {equality_text(x, spelled) for x in (operand if op in ("in", "not_in") else (operand,))
                   if x is not None}
        wanted = op in ("eq", "in")
        return lambda v: v is not None and (equality_text(v, spelled) in options) is wanted

    def ordered(v):
        number = ordering_number(v) if v is not None else None
        return number is not None and compare(op, number, operand)
    return ordered


def rank(rule) -> tuple:
    """The order of rules by their evidence alone (without `unless`, which depends on the fact)."""
    return -rule_weight(rule)[0], -rule.priority, "generic" in rule.platforms, rule.id


class LinearScan:
    def __init__(self, rules):
        self.scorer = Scorer(rules)
        self.rules = [
            (rule, [(_reader(c.source, c.name), [_test(op, x, c.source) for op, x in c.ops])
                    for c in rule.conditions])
            for rule in rules
        ]

    def match(self, fact) -> list:
        hits = []
        for rule, conditions in self.rules:
            if not rule.applies_to(fact.platform, fact.region, fact.domain):
                continue
            for read, tests in conditions:
                value = read(fact)
                if not all(test(value) for test in tests):
                    break
            else:
                hits.append(rule)
        return [scored.rule for scored in self.scorer.rank(hits, fact)]
