"""The match stage: which rules of a compiled knowledge base hold for one fact.

The stages of a diagnosis are normalize.py (the fact) -> this module (durable-rules
finds the matching rules) -> score.py (ranks them by evidence, calibrates confidence) ->
explain.py (renders the answer); `Engine.diagnose` runs them in that order.

One Engine is one knowledge-base version, compiled once and then shared by every
request of a worker. durable-rules keeps state per session id and fact; each
evaluation asserts one fact under a fixed session and retracts it before returning,
so nothing accumulates however many payloads a long-lived worker sees.

The rulesets are created through durable-rules' Python host, but facts are asserted
through its C functions directly: the fact is serialised once, the names of the rules
it fired are read off the action messages, and each action is completed at once. The
host's wrapper would instead re-encode the fact for assert and retract, decode every
action's state and message into Python objects and re-encode the state to complete it;
that was half of the time of a diagnosis.
"""

import json
import threading

import durable_rules_engine
from durable import engine as durable

from ..model import Rule
from ..reqcheck.finding import add_request_check
from . import explain, fields, score
from .compiler import Layout, partition
from .normalize import Fact, normalize
from .score import Scored

MAX_DIAGNOSES = 5


class EngineClosed(RuntimeError):
    """The version was replaced and its rulesets freed; ask the holder for the new one."""


class _Host(durable.Host):
    """A durable-rules host without the background dispatch threads.

    The stock Host polls every ruleset five times a second for timers and queued
    actions; diagnosis uses neither, and runs every action synchronously.
    """

    def _run(self):
        pass


class Engine:
    """A compiled knowledge-base version."""

    def __init__(self, rules: list[Rule], version: str):
        self.version = version
        self.rules = rules
        self.layout: Layout = partition(rules)
        self.scorer = score.Scorer(rules)
        self._host = _Host()
        self._lock = threading.Lock()
        self._closed = False
        groups = list({id(p.group): p.group for p in self.layout.partitions.values()}.values())
        self._host.register_rulesets({
            group.name: {name: {**body, "run": _never} for name, body in group.definition.items()}
            for group in groups
        })
        self._handles = {ruleset._name: ruleset._handle for ruleset in self._host._ruleset_list}
        self._explainers: dict[str, explain.Explainer] = {}

    @property
    def partition_count(self) -> int:
        return len({id(p) for p in self.layout.partitions.values()})

    def match(self, fact: Fact) -> list[Rule]:
        """Every rule of the fact's partition whose conditions hold, best evidence first."""
        return [scored.rule for scored in self.rank(fact)[0]]

    def rank(self, fact: Fact) -> tuple[list[Scored], dict]:
        """(the matched rules scored and ranked, raw values of the slots that were read)."""
        if self._closed:
            raise EngineClosed(self.version)
        part = self.layout.lookup(fact.platform, fact.region, fact.domain)
        if not part.rules:
            return [], {}
        engine_fact, raw = part.prepare(fact)
        if engine_fact is None:
            return [], {}  # no rule of the partition passes its gate
        text = json.dumps(engine_fact, ensure_ascii=False)
        with self._lock:
            if self._closed:
                raise EngineClosed(self.version)
            hits = _fire(self._handles[part.ruleset], text)
        local = part.local  # the group's rules that fired and belong to this partition
        return self.scorer.rank([part.rules[local[g]] for g in hits if g in local], fact), raw

    def diagnose(self, payload: dict, lang: str = "en") -> dict:
        fact = normalize(payload)
        ranked, raw = self.rank(fact)
        return self.answer(fact, ranked, raw, lang)

    def answer(self, fact: Fact, ranked: list[Scored], raw: dict, lang: str = "en") -> dict:
        """The answer for rules found and ranked (by rank(), or another matcher in bench/)."""
        result = {
            "kb_version": self.version,
            "platform": fact.platform,
            "region": fact.region,
            "domain": fact.domain,
            "inferred": fact.inferred,
            "matched": bool(ranked),
        }
        if not ranked:
            result["diagnoses"] = [explain.unknown(fact, lang)]
            return add_request_check(result, fact, lang)
        values = explain.placeholders(fact)
        top = score.confidence(score.strength(ranked))
        finder = fields.FieldFinder(fact)
        result["diagnoses"] = [
            explain.diagnosis(self._explainer(s.rule), s, fact, lang, raw, values,
                              top if i == 0 else round(min(top, 1 - top, score.confidence(s.score)), 2), finder)
            for i, s in enumerate(ranked[:MAX_DIAGNOSES])]
        line = explain.runner_up_line(ranked, lang)
        if line:
            result["runner_up"] = line
        return add_request_check(result, fact, lang)  # the sent request checked against its schema

    def _explainer(self, rule: Rule) -> "explain.Explainer":
        found = self._explainers.get(rule.id)
        if found is None:
            found = self._explainers[rule.id] = explain.Explainer(rule, self.layout)
        return found

    def close(self) -> None:
        """Free the durable-rules rulesets of a version nobody will use again."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            for ruleset in self._host._ruleset_list:
                durable_rules_engine.delete_ruleset(ruleset._handle)


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
