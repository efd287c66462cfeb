"""Evaluates payloads against a compiled knowledge base and explains the result.

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
from functools import cache
from pathlib import Path
from typing import Any

import durable_rules_engine
import yaml
from durable import engine as durable

from .compiler import Layout, as_text, extractor, partition
from .model import Rule
from .normalize import Fact, normalize
from .schema import compile_regex

MAX_DIAGNOSES = 5
FALLBACK_PATH = Path(__file__).with_name("fallback.yaml")


class EngineClosed(RuntimeError):
    """The version was replaced and its rulesets freed; ask the holder for the new one."""


class _Host(durable.Host):
    """A durable-rules host without the background dispatch threads.

    The stock Host polls every ruleset five times a second for timers and queued
    actions; diagnosis uses neither, and runs every action synchronously.
    """

    def _run(self):
        pass


def _placeholders(fact: Fact, captured: dict[str, str]) -> dict[str, Any]:
    headers = fact.headers
    values = {
        "status": fact.status, "code": fact.code, "message": fact.message,
        "platform": fact.platform, "region": fact.region, "domain": fact.domain,
        "host": fact.host, "path": fact.path, "method": fact.method,
        "request_id": fact.request_id,
        "clock_skew_seconds": fact.derived.get("clock_skew_seconds"),
        "retry_after": headers.get("retry-after"),
        "ratelimit_remaining": headers.get("x-ratelimit-remaining"),
        "ratelimit_limit": headers.get("x-ratelimit-limit") or headers.get("x-amzn-ratelimit-limit"),
    }
    values.update(captured)
    return {k: ("?" if v is None or v == "" else v) for k, v in values.items()}


def _fill(template: str, values: dict[str, Any]) -> str:
    return template.format_map(values)


@cache
def _fallbacks() -> list[dict]:
    return yaml.safe_load(FALLBACK_PATH.read_text(encoding="utf-8"))


def _fallback_for(status: int) -> dict:
    for entry in _fallbacks():
        when = entry["when"]
        if (isinstance(when, list) and status in when) or when == f"{status // 100}xx" or when == "any":
            return entry
    raise LookupError(status)  # fallback.yaml ends with `any`


class Engine:
    """A compiled knowledge-base version."""

    def __init__(self, rules: list[Rule], version: str):
        self.version = version
        self.rules = rules
        self.layout: Layout = partition(rules)
        self._host = _Host()
        self._lock = threading.Lock()
        self._closed = False
        groups = list({id(p.group): p.group for p in self.layout.partitions.values()}.values())
        self._host.register_rulesets({
            group.name: {name: {**body, "run": _never} for name, body in group.definition.items()}
            for group in groups
        })
        self._handles = {ruleset._name: ruleset._handle for ruleset in self._host._ruleset_list}
        self._explainers: dict[str, _Explainer] = {}

    @property
    def partition_count(self) -> int:
        return len({id(p) for p in self.layout.partitions.values()})

    def match(self, fact: Fact) -> list[Rule]:
        """Every rule of the fact's partition whose conditions hold, best first."""
        return [rule for rule, _ in self._match(fact)]

    def _match(self, fact: Fact) -> list[tuple[Rule, dict]]:
        """(rule, raw values of the slots that were read), best first."""
        if self._closed:
            raise EngineClosed(self.version)
        part = self.layout.lookup(fact.platform, fact.region, fact.domain)
        if not part.rules:
            return []
        engine_fact, raw = part.prepare(fact)
        if engine_fact is None:
            return []  # no rule of the partition passes its gate
        text = json.dumps(engine_fact, ensure_ascii=False)
        with self._lock:
            if self._closed:
                raise EngineClosed(self.version)
            hits = _fire(self._handles[part.ruleset], text)
        local = part.local  # the group's rules that fired and belong to this partition
        matched = [part.rules[local[g]] for g in hits if g in local]
        matched.sort(key=_rank)
        return [(rule, raw) for rule in matched]

    def diagnose(self, payload: dict, lang: str = "en") -> dict:
        fact = normalize(payload)
        matched = self._match(fact)
        if matched:
            values = _placeholders(fact, {})
            diagnoses = [self._explain(rule, fact, lang, raw, values) for rule, raw in matched[:MAX_DIAGNOSES]]
        else:
            diagnoses = [self._unknown(fact, lang)]
        return {
            "kb_version": self.version,
            "platform": fact.platform,
            "region": fact.region,
            "domain": fact.domain,
            "inferred": fact.inferred,
            "matched": bool(matched),
            "diagnoses": diagnoses,
        }

    def _explain(self, rule: Rule, fact: Fact, lang: str, raw: dict | None = None,
                 values: dict | None = None) -> dict:
        explainer = self._explainers.get(rule.id)
        if explainer is None:
            explainer = self._explainers[rule.id] = _Explainer(rule, self.layout)
        captured = explainer.captures(fact)
        if values is None:
            values = _placeholders(fact, captured)
        elif captured:
            values = {**values, **{k: ("?" if v == "" else v) for k, v in captured.items()}}
        title, explanation, steps = explainer.templates(lang)
        evidence = explainer.evidence(fact, raw or {})
        evidence.update(captured)
        if "clock_skew_seconds" in fact.derived:
            evidence["clock_skew_seconds"] = fact.derived["clock_skew_seconds"]
        return {
            "rule_id": rule.id,
            "category": rule.category,
            "owner": rule.owner,
            "title": title if title.__class__ is str else title(values),
            "explanation": explanation if explanation.__class__ is str else explanation(values),
            "repair_steps": [step if step.__class__ is str else step(values) for step in steps],
            "doc_url": rule.doc_url,
            "confidence": explainer.confidence,
            "evidence": evidence,
        }

    def _unknown(self, fact: Fact, lang: str) -> dict:
        entry = _fallback_for(fact.status)
        text = entry.get(lang) or entry["en"]
        values = _placeholders(fact, {})
        evidence = {"status": fact.status}
        if fact.code:
            evidence["code"] = fact.code
        if fact.message:
            evidence["message"] = fact.message
        return {
            "rule_id": None,
            "category": "unknown",
            "owner": entry["owner"],
            "title": _fill(text["title"], values),
            "explanation": _fill(text["explanation"], values),
            "repair_steps": [_fill(step, values) for step in text["repair_steps"]],
            "doc_url": None,
            "confidence": 0.1 if entry["owner"] == "unknown" else 0.2,
            "evidence": evidence,
        }

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


def _rank(rule: Rule) -> tuple:
    return -rule.priority, "generic" in rule.platforms, -len(rule.conditions), rule.id


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


class _Explainer:
    """What explaining one rule needs, worked out once per rule: the regexes with
    named groups and the values its conditions read."""

    def __init__(self, rule: Rule, layout: Layout):
        self.confidence = round(0.3 + 0.65 * rule.priority / 100, 2)
        self.groups = [
            (extractor(cond.source, cond.name), compile_regex(operand))
            for cond in rule.conditions for op, operand in cond.ops
            if op == "regex" and "(?P<" in operand
        ]
        self.reads = [(cond.label, cond.source, cond.name) for cond in rule.conditions]
        self._rule = rule
        self._templates: dict[str, tuple] = {}
        # slot keys differ between partitions: remember them per partition
        self.slot_keys: dict[int, list[str | None]] = {}
        self.layout = layout

    def templates(self, lang: str) -> tuple:
        """(title, explanation, steps) of a language: text without placeholders as it is,
        the others as their bound `format_map`."""
        found = self._templates.get(lang)
        if found is None:
            text = self._rule.texts.get(lang) or self._rule.texts["en"]
            found = self._templates[lang] = (
                _template(text.title), _template(text.explanation),
                tuple(_template(step) for step in text.repair_steps))
        return found

    def captures(self, fact: Fact) -> dict[str, str]:
        """Named groups of the rule's regexes, searched in the values they tested."""
        found: dict[str, str] = {}
        for extract, regex in self.groups:
            text = as_text(extract(fact))
            match = regex.search(text) if text is not None else None
            if match:
                found.update({k: v for k, v in match.groupdict().items() if v is not None})
        return found

    def evidence(self, fact: Fact, raw: dict) -> dict[str, Any]:
        part = self.layout.lookup(fact.platform, fact.region, fact.domain)
        keys = self.slot_keys.get(id(part))
        if keys is None:
            keys = self.slot_keys[id(part)] = [
                part.slots[(source, name)].key if (source, name) in part.slots else None
                for _, source, name in self.reads
            ]
        evidence: dict[str, Any] = {}
        for (label, source, name), key in zip(self.reads, keys, strict=True):
            value = raw[key] if key in raw else _evidence_value(fact, source, name)
            if value is not None:
                if isinstance(value, str) and len(value) > 300:
                    value = value[:300] + "…"
                evidence[label] = value
        return evidence


def _template(text: str):
    return text.format_map if "{" in text or "}" in text else text


def _evidence_value(fact: Fact, source: str, name: str) -> Any:
    value = extractor(source, name)(fact)
    if isinstance(value, str) and len(value) > 300:
        return value[:300] + "…"
    return value
