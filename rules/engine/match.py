"""The match stage: which rules of a compiled knowledge-base version hold for one fact.

compiler.py has indexed each partition's rules under their gates. Per fact, the gates
give a key (the bucket of each `eq` field's value, the patterns of each regex field's
RE2 set that hold, whether each presence gate's value is there); the key selects a
cached plan: the slots the admitted rules read and the flags of their shards. Only
those slots are extracted and sent; a rule whose gate fails cannot match whatever its
other slots hold.

durable-rules keeps state per session id and fact; each evaluation asserts one fact
under a fixed session and retracts it before returning, so nothing accumulates however
many payloads a long-lived worker sees. The rulesets are created through durable-rules'
Python host, but facts are asserted through its C functions directly: the fact is
serialised once, the names of the rules it fired are read off the action messages, and
each action is completed at once. The host's wrapper would instead re-encode the fact
for assert and retract, decode every action's state and message into Python objects and
re-encode the state to complete it; that was half of the time of a diagnosis.
"""

import json
import threading
from typing import Any

import durable_rules_engine
from durable import engine as durable

from ..model import Rule
from .compiler import Layout, Partition, as_text, equality_text, has_type, ordering_number
from .normalize import Fact

MAX_PLANS = 4096  # cached extraction plans per partition; past it the cache starts over
_EMPTY = {"sid": "0", "id": "f"}


class EngineClosed(RuntimeError):
    """The version was replaced and its rulesets freed; ask the holder for the new one."""


class _Host(durable.Host):
    """A durable-rules host without the background dispatch threads.

    The stock Host polls every ruleset five times a second for timers and queued
    actions; diagnosis uses neither, and runs every action synchronously.
    """

    def _run(self):
        pass


class Matcher:
    """The durable-rules rulesets of one layout, and the plans of its partitions."""

    def __init__(self, layout: Layout, version: str):
        self.layout, self.version = layout, version
        self._host = _Host()
        self._lock = threading.Lock()
        self._closed = False
        self._plans: dict[int, dict[tuple, tuple]] = {}  # id(partition) -> gate key -> plan
        groups = list({id(p.group): p.group for p in layout.partitions.values()}.values())
        self._host.register_rulesets({
            group.name: {name: {**body, "run": _never} for name, body in group.definition.items()}
            for group in groups
        })
        self._handles = {ruleset._name: ruleset._handle for ruleset in self._host._ruleset_list}

    def match(self, fact: Fact) -> tuple[list[Rule], dict[str, Any]]:
        """(the rules of the fact's partition whose conditions hold, raw values of the slots read)."""
        if self._closed:
            raise EngineClosed(self.version)
        part = self.layout.lookup(fact.platform, fact.region, fact.domain)
        if not part.rules:
            return [], {}
        engine_fact, raw = prepare(part, fact, self._plans.setdefault(id(part), {}))
        if engine_fact is None:
            return [], {}  # no rule of the partition passes its gate
        text = json.dumps(engine_fact, ensure_ascii=False)
        with self._lock:
            if self._closed:
                raise EngineClosed(self.version)
            hits = _fire(self._handles[part.ruleset], text)
        local = part.local  # the group's rules that fired and belong to this partition
        return [part.rules[local[g]] for g in hits if g in local], raw

    def close(self) -> None:
        """Free the durable-rules rulesets of a version nobody will use again."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            for ruleset in self._host._ruleset_list:
                durable_rules_engine.delete_ruleset(ruleset._handle)


def prepare(part: Partition, fact: Fact, plans: dict | None = None) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """(the flat fact durable-rules sees, raw values by slot key), or (None, {}) when no
    rule of the partition passes its gate. The fact holds the values of the slots the
    candidate rules read, plus their precomputed regex and type flags."""
    plan, early = _plan(part, fact, {} if plans is None else plans)
    if not plan:
        return None, {}
    shards, reads = plan
    out: dict[str, Any] = dict(_EMPTY)
    out.update(dict.fromkeys(shards, 1))
    raw: dict[str, Any] = {}
    for key, extract, match, flags, types, spelled, number_key in reads:
        if key in early:
            value, found = early[key]
        else:
            value = extract(fact)
            found = match(_utf8(value)) if match is not None and value is not None else ()
        raw[key] = value
        if value is None:
            for wanted, flag in types:
                if wanted == "null":  # the one type test a missing or null value passes
                    out[flag] = 1
            continue
        out[key] = value if value.__class__ is str and not spelled else equality_text(value, spelled)
        if number_key is not None:
            number = ordering_number(value)
            if number is not None:
                out[number_key] = number
        for index in found:
            out[flags[index]] = 1
        for wanted, flag in types:
            if has_type(value, wanted):
                out[flag] = 1
    return out, raw


def _plan(part: Partition, fact: Fact, plans: dict) -> tuple[tuple, dict[str, tuple]]:
    """(the slots to read for this fact, the gate fields already read: key -> (value, matches))."""
    key: list = [numbers.get(getattr(fact, field), 0) for field, numbers, _ in part.eq_gates]
    early: dict[str, tuple] = {}
    for slot_key, extract, match, _ in part.regex_gates:
        value = extract(fact)
        found = match(_utf8(value)) if value is not None else ()
        early[slot_key] = (value, found)
        key.append(tuple(found))
    key.extend(extract(fact) is not None for extract, _ in part.present_gates)
    key = tuple(key)
    plan = plans.get(key)
    if plan is None:
        plan = _compile_plan(part, key)
        if len(plans) >= MAX_PLANS:
            plans.clear()
        plans[key] = plan
    return plan, early


def _compile_plan(part: Partition, key: tuple) -> tuple:
    candidates = part.ungated
    parts = iter(key)
    for (_, _, buckets), number in zip(part.eq_gates, parts, strict=False):
        candidates |= buckets[number]
    for (_, _, _, index), found in zip(part.regex_gates, parts, strict=False):
        for number in found:
            candidates |= index.get(number, 0)
    for (_, rules), there in zip(part.present_gates, parts, strict=False):
        if there:
            candidates |= rules
    if not candidates:
        return ()
    shards = tuple(flag for flag, bits in part.group.shards if bits & candidates)
    return shards, tuple(
        (slot.key, slot.extract, slot.regex_set._set.Match if slot.regex_set else None,
         slot.regex_flags, slot.types, slot.spelled_numbers, slot.number_key)
        for slot in part.slots.values() if slot.readers & candidates
    )


def _utf8(value: Any) -> bytes:
    """The text a regex searches: strings as they are, anything else as its JSON."""
    text = value if value.__class__ is str else as_text(value)
    return text.encode("utf-8", "surrogatepass")


def _never(_closure):
    """Rule actions are never run through the host: _fire completes them itself."""


def _fire(handle: int, fact_json: str) -> list[int]:
    """Indexes of the rules one fact fires, leaving nothing behind in the ruleset.

    assert_fact answers (0, state) when the fact was stored and (1, _) when no rule
    can use it (then nothing is stored). Each fired rule queues one action whose
    message starts with the rule's name, `{"r12":{"m":...`; completing an action
    hands back the next one. The fact is retracted before returning.
    """
    status, state = durable_rules_engine.assert_fact(handle, fact_json)
    if status == 1:
        return []
    if status != 0:
        raise RuntimeError(f"durable-rules refused the fact ({status})")
    hits = []
    try:
        action = durable_rules_engine.start_action_for_state(handle, state)
        message = action[1] if action else None
        while message:
            if message.startswith('{"r'):
                hits.append(int(message[3:message.index('"', 3)]))
            else:  # not the layout seen so far: read it properly
                hits.extend(int(name[1:]) for name in json.loads(message))
            message = durable_rules_engine.complete_and_start_action(handle, state)
    finally:
        durable_rules_engine.retract_fact(handle, fact_json)
    return hits
