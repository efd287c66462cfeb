"""Compiles validated rules into durable-rules rulesets, one per partition.

A partition is the set of rules that can apply to one (platform, region, domain);
partitions with the same rules share one ruleset. Within a partition, each distinct
value a rule tests (a header, a JMESPath, the message) becomes a slot of a flat fact.
durable-rules matches the combinations of conditions; the two tests it cannot make
well are precomputed into boolean flags: regular expressions (one RE2 set per slot,
so every pattern is tried in a single linear pass) and JSON type tests.
"""

import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import jmespath
import re2

from .model import DOMAINS, PLATFORMS, Condition, Rule
from .normalize import Fact
from .schema import compile_regex

_ruleset_ids = itertools.count()


def number_or_text(value: Any) -> Any:
    """Header and query values arrive as text; '0' must compare as the number 0."""
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            try:
                number = float(text)
            except ValueError:
                return value
            return number if number == number and abs(number) != float("inf") else value
    return value


@cache
def extractor(source: str, name: str) -> Callable[[Fact], Any]:
    if source in ("body", "request_body"):
        expr = jmespath.compile(name)

        def search(fact: Fact) -> Any:
            doc = getattr(fact, source)
            if not isinstance(doc, dict | list):
                return None
            try:
                return expr.search(doc)
            except (jmespath.exceptions.JMESPathError, TypeError, ValueError):
                return None
        return search
    if source in ("headers", "request_headers", "query"):
        return lambda fact: number_or_text(getattr(fact, source).get(name))
    if source in ("context", "derived"):
        return lambda fact: getattr(fact, source).get(name)
    return lambda fact: getattr(fact, source)


def _flatten(value: Any):
    if isinstance(value, list):
        for item in value:
            yield from _flatten(item)
    else:
        yield value


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def has_type(value: Any, wanted: str) -> bool:
    found = {json_type(v) for v in _flatten(value)} if value is not None else set()
    if wanted == "number":
        return bool(found & {"number", "integer"})
    return wanted in found


def scalar_for_engine(value: Any) -> Any:
    """durable-rules compares scalars; structures are exposed as their JSON text."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, list) and len(value) == 1 and isinstance(value[0], str | int | float | bool):
        return value[0]
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def as_text(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


@dataclass
class Slot:
    key: str
    label: str
    extract: Callable[[Fact], Any]
    patterns: list[tuple[str, str]] = field(default_factory=list)  # (pattern, flag key)
    types: list[tuple[str, str]] = field(default_factory=list)  # (json type, flag key)
    regex_set: Any = None
    regex_flags: list[str] = field(default_factory=list)


class Partition:
    """The rules of one partition, the slots they read and their durable-rules definition."""

    def __init__(self, name: str, rules: list[Rule]):
        self.name = name
        self.rules = rules
        self.slots: dict[tuple[str, str], Slot] = {}
        self._flags: dict[tuple, str] = {}
        self.definition = {
            f"r{i}": {"all": [{"m": self._rule_condition(rule)}]} for i, rule in enumerate(rules)
        }
        for slot in self.slots.values():
            if slot.patterns:
                slot.regex_set = re2.Set.SearchSet(_set_options())
                for pattern, flag in slot.patterns:
                    slot.regex_set.Add(pattern)
                    slot.regex_flags.append(flag)
                slot.regex_set.Compile()

    def _slot(self, cond: Condition) -> Slot:
        key = (cond.source, cond.name)
        if key not in self.slots:
            self.slots[key] = Slot(f"v{len(self.slots)}", cond.label, extractor(*key))
        return self.slots[key]

    def _flag(self, slot: Slot, kind: str, operand: str) -> str:
        ident = (slot.key, kind, operand)
        if ident not in self._flags:
            flag = f"f{len(self._flags)}"
            self._flags[ident] = flag
            (slot.patterns if kind == "regex" else slot.types).append((operand, flag))
        return self._flags[ident]

    def _rule_condition(self, rule: Rule) -> dict:
        tests = [test for cond in rule.conditions for test in self._condition(cond)]
        return tests[0] if len(tests) == 1 else {"$and": tests}

    def _condition(self, cond: Condition) -> list[dict]:
        slot = self._slot(cond)
        coerce = number_or_text if cond.source in ("headers", "request_headers", "query") else _same
        key, tests = slot.key, []
        for op, operand in cond.ops:
            if op in ("regex", "not_regex"):
                flag = self._flag(slot, "regex", operand)
                tests.append({flag: 1} if op == "regex" else {"$nex": {flag: 1}})
            elif op == "type":
                tests.append({self._flag(slot, "type", operand): 1})
            elif op == "exists":
                tests.append({"$ex" if operand else "$nex": {key: 1}})
            elif op == "eq":
                tests.append({"$nex": {key: 1}} if operand is None else {key: coerce(operand)})
            elif op == "ne":
                tests.append({"$neq": {key: coerce(operand)}})
            elif op == "in":
                options = [{key: coerce(v)} for v in operand]
                tests.append(options[0] if len(options) == 1 else {"$or": options})
            elif op == "not_in":
                tests.extend({"$neq": {key: coerce(v)}} for v in operand)
            else:  # gt gte lt lte
                tests.append({f"${op}": {key: operand}})
        return tests

    def engine_fact(self, fact: Fact) -> dict:
        """The flat fact durable-rules sees: slot values plus precomputed flags."""
        out: dict[str, Any] = {"sid": "0", "id": "f"}
        for slot in self.slots.values():
            value = slot.extract(fact)
            if value is None:
                continue
            out[slot.key] = scalar_for_engine(value)
            if slot.regex_set is not None:
                text = as_text(value)
                for index in slot.regex_set.Match(text) or ():
                    out[slot.regex_flags[index]] = 1
            for wanted, flag in slot.types:
                if has_type(value, wanted):
                    out[flag] = 1
        return out


def _same(value: Any) -> Any:
    return value


def _set_options():
    options = re2.Options()
    options.case_sensitive = False
    options.max_mem = 64 << 20
    return options


@dataclass(frozen=True)
class Layout:
    """How (platform, region, domain) keys map onto compiled partitions."""

    regions: dict[str, frozenset[str]]  # platform -> regions some rule names
    partitions: dict[tuple[str, str | None, str], Partition]

    def lookup(self, platform: str, region: str | None, domain: str) -> Partition:
        if region not in self.regions.get(platform, ()):
            region = None
        return self.partitions[(platform, region, domain)]


def partition(rules: list[Rule]) -> Layout:
    """Group rules by every (platform, region, domain) they can apply to."""
    regions = {
        p: frozenset(r for rule in rules if p in rule.platforms or "generic" in rule.platforms
                     for r in (rule.regions or ()))
        for p in PLATFORMS
    }
    shared: dict[tuple[str, ...], Partition] = {}
    partitions = {}
    for platform in PLATFORMS:
        for region in (None, *sorted(regions[platform])):
            for domain in DOMAINS:
                members = [r for r in rules if r.applies_to(platform, region, domain)]
                ids = tuple(r.id for r in members)
                if ids not in shared:
                    shared[ids] = Partition(f"opsdiag{next(_ruleset_ids)}", members)
                partitions[(platform, region, domain)] = shared[ids]
    return Layout(regions, partitions)


def captures(rule: Rule, fact: Fact) -> dict[str, str]:
    """Named groups of a matched rule's regexes, searched in the values they tested."""
    found: dict[str, str] = {}
    for cond in rule.conditions:
        for op, operand in cond.ops:
            if op != "regex" or "(?P<" not in operand:
                continue
            text = as_text(extractor(cond.source, cond.name)(fact))
            match = compile_regex(operand).search(text) if text is not None else None
            if match:
                found.update({k: v for k, v in match.groupdict().items() if v is not None})
    return found
