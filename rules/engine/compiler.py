"""Compiles validated rules into durable-rules rulesets, one per platform.

A partition is the set of rules that can apply to one (platform, region, domain);
partitions with the same rules are one object. The rules of a platform (its own and
the generic ones) form a RuleGroup: one durable-rules ruleset that all the platform's
partitions share, each keeping only the fired rules that are its own. Within a group,
each distinct value a rule tests (a header, a JMESPath, the message) becomes a slot of
a flat fact. durable-rules matches the combinations of conditions; the two tests it
cannot make well are precomputed into boolean flags: regular expressions (one RE2 set
per slot, so every pattern is tried in a single linear pass) and JSON type tests.

Each rule is gated on one cheap test it cannot match without (an exact error code, path
or host, a regex on a plain field, a value that must be present, a status); this module
indexes the rules of each partition under their gates, and match.py reads, per request,
only the slots of the candidates those gates admit. Rules are packed into small shards
by gate, each rule's condition starting with its shard's flag, so that durable-rules
only walks the shards of the candidates (see SHARD_SIZE). Nothing here runs per request
except the extractors the match stage calls. JMESPath expressions that are plain paths
(`errors[0].code`) are walked directly instead of through the JMESPath interpreter.
"""

import itertools
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import jmespath
import re2

from ..model import DOMAINS, PLATFORMS, Condition, Rule
from .normalize import Fact

_ruleset_ids = itertools.count()


def compile_regex(pattern: str) -> "re2._Regexp":
    """RE2 keeps matching linear in the input, so no rule can hang a worker."""
    options = re2.Options()
    options.case_sensitive = False
    options.max_mem = 8 << 20
    return re2.compile(pattern, options)


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


TEXT_MAPS = ("headers", "request_headers", "query")  # values that arrive as text

_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
_SIMPLE_PATH = re.compile(rf"{_IDENT}(?:\.{_IDENT}|\[-?[0-9]+\])*")
_STEP = re.compile(rf"\.?({_IDENT})|\[(-?[0-9]+)\]")


def simple_path(expression: str) -> tuple[str | int, ...] | None:
    """The steps of a JMESPath that only names fields and indexes (`a.b[0].c`), else None."""
    if not _SIMPLE_PATH.fullmatch(expression):
        return None
    return tuple(name if name else int(index) for name, index in _STEP.findall(expression))


def _walker(steps: tuple[str | int, ...]) -> Callable[[Any], Any]:
    """JMESPath semantics for a plain path: a field of a non-object or an index of a
    non-array is null, as is an index out of range."""
    def walk(doc: Any) -> Any:
        for step in steps:
            if step.__class__ is str:
                if not isinstance(doc, dict):
                    return None
                doc = doc.get(step)
            else:
                if not isinstance(doc, list):
                    return None
                try:
                    doc = doc[step]
                except IndexError:
                    return None
            if doc is None:
                return None
        return doc
    return walk


def _to_string(doc: Any) -> Any:
    """JMESPath's `to_string(@)`, the whole body as text."""
    return doc if isinstance(doc, str) else json.dumps(doc, separators=(",", ":"), default=str)


@cache
def extractor(source: str, name: str) -> Callable[[Fact], Any]:
    if source in ("body", "request_body"):
        steps = simple_path(name)
        if steps is not None or name == "to_string(@)":
            walk = _walker(steps) if steps is not None else _to_string

            whole_text = steps is None  # to_string(@) reads a text body too

            def get(fact: Fact) -> Any:
                doc = getattr(fact, source)
                if isinstance(doc, dict | list):
                    return walk(doc)
                return doc if whole_text and isinstance(doc, str) else None
            return get
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
    if source in TEXT_MAPS:
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
    """The `type` test: whether any value found at the path has that JSON type: the value
    itself or, in an array, any of its items. A missing value is null, as JMESPath has it."""
    found = {json_type(value)}
    if isinstance(value, list):
        found.update(json_type(v) for v in _flatten(value))
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


# How a slot's value is compared. durable-rules compares a value with an operand of another
# type by formatting the number as text and comparing the two texts over the length of the
# longer one as it reads it; the length of a literal number is never set, so the fact's text
# is compared only over its own length: "" and "3" equal 3.5, and "abc" >= 3 holds since
# "a" sorts after "3". The engine therefore never lets it compare mixed types: the
# equality tests (eq, ne, in, not_in) read the slot's value as text and compare it with
# operands made text the same way (`equality_text`), and the ordering tests (gt, gte, lt,
# lte) read a second slot holding the value only when it is a number (`ordering_number`).
# trace.py tests a condition with the same two functions, so that the explanation of a
# match (and the `unless` tests of score.py) cannot disagree with the engine.
NUMBER_SPELLING_SOURCES = (*TEXT_MAPS, "body", "request_body", "context", "derived")
_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1


def _number_text(number: int | float) -> str:
    if number.__class__ is float and number.is_integer():
        return str(int(number))  # 3.0 equals 3, as in JSON
    return str(number) if number.__class__ is int else repr(number)


def equality_text(value: Any, spelled_numbers: bool = True) -> str | None:
    """What eq/ne/in/not_in compare, for a slot value and for an operand alike (None: no value).

    Structures are their JSON text and a one-item array its item (`scalar_for_engine`);
    a boolean is `true`/`false`; a number is its shortest text, so that 3, 3.0 and, where
    `spelled_numbers` (the values of maps: headers, query, body paths, context, derived),
    the text "3" or " 3 " are all equal. Codes, paths, hosts and the other scalar fields
    compare as they are (their eq gates look values up exactly).
    """
    value = scalar_for_engine(value)
    if value is None:
        return None
    if spelled_numbers and value.__class__ is str:
        value = number_or_text(value)
    cls = value.__class__
    if cls is str:
        return value
    if cls is bool:
        return "true" if value else "false"
    return _number_text(value)


def ordering_number(value: Any) -> int | float | None:
    """The number gt/gte/lt/lte compare (text spelling a number counts), as durable-rules
    reads it, or None when the value is not a number (booleans are not) and the test fails.

    durable-rules reads integers as 64-bit (saturating) and an exponent only after a
    fraction (`1e+20` stops the whole fact): such values are sent as the integer they are
    or as the float just below them in magnitude, which compares the same with every
    operand durable-rules can read.
    """
    value = number_or_text(scalar_for_engine(value))
    if value.__class__ is int:
        return min(max(value, _INT64_MIN), _INT64_MAX)
    if value.__class__ is not float or value != value or value in (float("inf"), float("-inf")):
        return None
    text = repr(value)
    if "e" in text and "." not in text:
        if value.is_integer():
            return min(max(int(value), _INT64_MIN), _INT64_MAX)
        return math.nextafter(value, 0.0)
    return value


def compare(op: str, number: int | float, operand: int | float) -> bool:
    """gt/gte/lt/lte as durable-rules computes them: in doubles when either side is one."""
    if number.__class__ is float or operand.__class__ is float:
        number, operand = float(number), float(operand)
    if op == "gt":
        return number > operand
    if op == "gte":
        return number >= operand
    if op == "lt":
        return number < operand
    return number <= operand


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
    readers: int = 0  # bit i set: rule i of the group tests this slot
    spelled_numbers: bool = False  # equality_text reads "3" as 3 (the values of maps)
    number_key: str | None = None  # the key of the value as a number, when a rule orders it
    flag_index: dict[str, int] = field(default_factory=dict)  # regex flag -> its pattern's index in the set


# A rule's gate is one test that must hold for it to match and that is cheap to check
# for every payload (see Partition._compile_gates), tried from the most selective:
# 1. exact `eq` / `in` on a field with many values, with the one type normalize gives
#    it (other operand types leave the field out: durable-rules finds "400" equal to
#    400, a dict does not);
# 2. a regex on a plain field: that field's RE2 set runs first and says which hold;
# 3. a header, query parameter, context or derived value that must be present (any
#    test but `exists: false`, `eq: null` and `not_regex` fails on a missing value);
# 4. exact `eq` / `in` on a field with few values (status, method, body format).
SELECTIVE_EQ = (("code", str), ("path", str), ("host", str), ("error_type", str))
REGEX_GATES = ("path", "host", "code", "message", "error_type", "method", "body_format")
PRESENCE_SOURCES = ("headers", "request_headers", "query", "context", "derived")
COARSE_EQ = (("status", int), ("method", str), ("body_format", str))
# durable-rules keeps the children of an alpha node in a 512-slot open-addressing table
# whose lookups never stop once it is full (findAlpha loops): a ruleset in which more
# than ~500 rules start with a test on the same field hangs at creation. Each rule
# therefore starts with its shard's flag, a shard holding at most SHARD_SIZE rules
# that share gates, and a fact carries the flags of the shards its gates admit.
# Shards are small because durable-rules probes the children of a node one after the
# other: a fact pays for every rule of the shards it opens. The root holds one child per
# shard, so shards grow past SHARD_SIZE when a group would have more than MAX_SHARDS.
SHARD_SIZE = 20
MAX_SHARDS = 400


def _eq_gate(rule: Rule, fields) -> tuple[str, Any, Any] | None:
    for source, kind in fields:
        for cond in rule.conditions:
            if cond.source != source:
                continue
            for op, operand in cond.ops:
                values = operand if op == "in" else (operand,) if op == "eq" else None
                if values and all(type(v) is kind for v in values):
                    return "eq", source, tuple(values)
    return None


def _gate(rule: Rule) -> tuple[str, Any, Any] | None:
    """("eq", field, values) | ("regex", field, pattern) | ("present", source, name) | None."""
    gate = _eq_gate(rule, SELECTIVE_EQ)
    if gate:
        return gate
    for source in REGEX_GATES:
        for cond in rule.conditions:
            if cond.source == source:
                for op, operand in cond.ops:
                    if op == "regex":
                        return "regex", source, operand
    for cond in rule.conditions:
        if cond.source in PRESENCE_SOURCES and any(
                not (op == "not_regex" or (op == "exists" and not operand) or (op == "eq" and operand is None))
                for op, operand in cond.ops):
            return "present", cond.source, cond.name
    return _eq_gate(rule, COARSE_EQ)


class RuleGroup:
    """The rules of one platform (its own and the generic ones): the slots they read,
    their shards and the one durable-rules ruleset they make. Partitions select from it.

    One ruleset per platform rather than per partition: a rule lives in one or a few
    rulesets instead of one per (region, domain) it applies to, which keeps memory and
    compile time in line with the number of rules and the rulesets warm in the caches.
    """

    def __init__(self, name: str, rules: list[Rule]):
        self.name = name
        self.rules = rules
        self.index = {rule.id: i for i, rule in enumerate(rules)}
        self.slots: dict[tuple[str, str], Slot] = {}
        self._flags: dict[tuple, str] = {}
        tests = []
        for i, rule in enumerate(rules):
            tests.append([test for cond in rule.conditions for test in self._condition(cond)])
            for cond in rule.conditions:
                self.slots[(cond.source, cond.name)].readers |= 1 << i
        for slot in self.slots.values():
            if slot.patterns:
                slot.regex_set = re2.Set.SearchSet(_set_options())
                for pattern, flag in slot.patterns:
                    slot.flag_index[flag] = slot.regex_set.Add(pattern)
                    slot.regex_flags.append(flag)
                slot.regex_set.Compile()
        self.gates = [_gate(rule) for rule in rules]
        shard_of = self._shard()
        self.definition = {
            f"r{i}": {"all": [{"m": {"$and": [{shard_of[i]: 1}, *tests[i]]}}]} for i in range(len(rules))
        }

    def regex_number(self, field_name: str, pattern: str) -> int:
        """The index of a regex gate's pattern in its field's RE2 set."""
        slot = self.slots[(field_name, "")]
        return slot.flag_index[self._flags[(slot.key, "regex", pattern)]]

    def _shard(self) -> list[str]:
        """Pack rules sharing a gate into shards of at most SHARD_SIZE rules (more when there
        would be over MAX_SHARDS shards); each rule's shard flag."""
        groups: dict[tuple, list[int]] = {}
        for i, gate in enumerate(self.gates):
            groups.setdefault(("~",) if gate is None else (gate[0], gate[1], repr(gate[2])), []).append(i)
        shard_of = [""] * len(self.rules)
        self.shards: list[tuple[str, int]] = []  # (flag, rules in the shard)
        size = max(SHARD_SIZE, -(-len(self.rules) // MAX_SHARDS))
        members: list[int] = []
        for _, group in sorted(groups.items()):
            for start in range(0, len(group), size):
                chunk = group[start:start + size]
                if len(members) + len(chunk) > size:
                    self._add_shard(members, shard_of)
                    members = []
                members.extend(chunk)
        if members:
            self._add_shard(members, shard_of)
        return shard_of

    def _add_shard(self, members: list[int], shard_of: list[str]) -> None:
        flag = f"g{len(self.shards)}"
        bits = 0
        for i in members:
            shard_of[i] = flag
            bits |= 1 << i
        self.shards.append((flag, bits))

    def _slot(self, cond: Condition) -> Slot:
        key = (cond.source, cond.name)
        if key not in self.slots:
            self.slots[key] = Slot(f"v{len(self.slots)}", cond.label, extractor(*key),
                                   spelled_numbers=cond.source in NUMBER_SPELLING_SOURCES)
        return self.slots[key]

    def _flag(self, slot: Slot, kind: str, operand: str) -> str:
        ident = (slot.key, kind, operand)
        if ident not in self._flags:
            flag = f"f{len(self._flags)}"
            self._flags[ident] = flag
            (slot.patterns if kind == "regex" else slot.types).append((operand, flag))
        return self._flags[ident]

    def _condition(self, cond: Condition) -> list[dict]:
        slot = self._slot(cond)
        spelled = slot.spelled_numbers

        def text(operand: Any) -> Any:
            return None if operand is None else equality_text(operand, spelled)
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
                tests.append({"$nex": {key: 1}} if operand is None else {key: text(operand)})
            elif op == "ne":
                tests.append({"$neq": {key: text(operand)}})
            elif op == "in":
                options = [{key: text(v)} for v in operand]
                tests.append(options[0] if len(options) == 1 else {"$or": options})
            elif op == "not_in":
                tests.extend({"$neq": {key: text(v)}} for v in operand)
            else:  # gt gte lt lte
                slot.number_key = slot.number_key or f"{key}n"
                tests.append({f"${op}": {slot.number_key: operand}})
        return tests


class Partition:
    """The rules of one (platform, region, domain): which of its group's rules they are,
    and the gates that pick, per payload, the candidates among them.

    `ruleset` names the group's durable-rules ruleset; the engine keeps only the fired
    rules that are `members` of the partition.
    """

    def __init__(self, name: str, rules: list[Rule], group: RuleGroup | None = None):
        self.name = name
        self.rules = rules
        self.group = group = group or RuleGroup(name, rules)
        self.ruleset = group.name
        self.slots = group.slots
        self.members = [group.index[rule.id] for rule in rules]  # local index -> group index
        self.local = {g: i for i, g in enumerate(self.members)}
        self._compile_gates()

    @property
    def definition(self) -> dict:
        return self.group.definition

    def _compile_gates(self) -> None:
        """Index every rule under its gate; rules without one are always candidates.

        Per payload, the gates give a key: for each `eq` field the bucket its value
        falls in (a hash lookup), for each regex field the patterns of its RE2 set that
        hold, for each presence gate whether the value is there. The key selects a
        cached plan: the slots the admitted rules read and the flags of their shards.
        Rule bits are the rules' indexes in the group.
        """
        group = self.group
        self.ungated = 0
        eq: dict[str, dict[Any, int]] = {}
        regex: dict[str, dict[int, int]] = {}  # field -> pattern index in its set -> rules
        present: dict[tuple[str, str], int] = {}
        for g in self.members:
            gate = group.gates[g]
            bit = 1 << g
            if gate is None:
                self.ungated |= bit
            elif gate[0] == "eq":
                index = eq.setdefault(gate[1], {})
                for value in gate[2]:
                    index[value] = index.get(value, 0) | bit
            elif gate[0] == "regex":
                number = group.regex_number(gate[1], gate[2])
                index = regex.setdefault(gate[1], {})
                index[number] = index.get(number, 0) | bit
            else:
                present[gate[1:]] = present.get(gate[1:], 0) | bit
        # eq: field -> (value -> bucket number), and the rules of each bucket (0: none)
        self.eq_gates = [(name, {v: n + 1 for n, v in enumerate(index)}, [0, *index.values()])
                          for name, index in eq.items()]
        self.regex_gates = []
        for name, index in regex.items():
            slot = self.slots[(name, "")]
            self.regex_gates.append((slot.key, slot.extract, slot.regex_set._set.Match, index))
        self.present_gates = [(self.slots[key].extract, rules) for key, rules in present.items()]

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
    """Group rules by every (platform, region, domain) they can apply to, over one
    rule group (one durable-rules ruleset) per platform."""
    regions = {
        p: frozenset(r for rule in rules if p in rule.platforms or "generic" in rule.platforms
                     for r in (rule.regions or ()))
        for p in PLATFORMS
    }
    groups: dict[tuple[str, ...], RuleGroup] = {}
    shared: dict[tuple[str, ...], Partition] = {}
    partitions = {}
    for platform in PLATFORMS:
        own = [r for r in rules if platform in r.platforms or "generic" in r.platforms]
        ids = tuple(r.id for r in own)
        if ids not in groups:
            groups[ids] = RuleGroup(f"opsdiag{next(_ruleset_ids)}", own)
        group = groups[ids]
        for region in (None, *sorted(regions[platform])):
            here = [r for r in own if r.regions is None or region in r.regions]
            for domain in DOMAINS:
                members = [r for r in here if r.domains is None or domain in r.domains]
                key = (group.name, *(r.id for r in members))
                if key not in shared:
                    shared[key] = Partition(f"{group.name}.{len(shared)}", members, group)
                partitions[(platform, region, domain)] = shared[key]
    return Layout(regions, partitions)
