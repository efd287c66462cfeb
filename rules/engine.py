"""Evaluates payloads against a compiled knowledge base and explains the result.

One Engine is one knowledge-base version, compiled once and then shared by every
request of a worker. durable-rules keeps state per session id and fact; each
evaluation asserts one fact under a fixed session and retracts it before returning,
so nothing accumulates however many payloads a long-lived worker sees.
"""

import threading
from functools import cache
from pathlib import Path
from typing import Any

import durable_rules_engine
import yaml
from durable import engine as durable

from .compiler import Layout, captures, extractor, partition
from .model import Rule
from .normalize import Fact, normalize

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
        self._hits: list[int] = []
        self._closed = False
        definitions = {}
        for part in {id(p): p for p in self.layout.partitions.values()}.values():
            definitions[part.name] = {
                name: {**body, "run": self._recorder(index)}
                for index, (name, body) in enumerate(part.definition.items())
            }
        self._host.register_rulesets(definitions)

    def _recorder(self, index: int):
        def record(_closure):
            self._hits.append(index)
        return record

    @property
    def partition_count(self) -> int:
        return len({id(p) for p in self.layout.partitions.values()})

    def match(self, fact: Fact) -> list[Rule]:
        """Every rule of the fact's partition whose conditions hold, best first."""
        part = self.layout.lookup(fact.platform, fact.region, fact.domain)
        if not part.rules:
            return []
        engine_fact = part.engine_fact(fact)
        with self._lock:
            if self._closed:
                raise EngineClosed(self.version)
            self._hits = []
            try:
                self._host.assert_fact(part.name, engine_fact)
            except durable.MessageNotHandledException:
                return []
            try:
                hits = self._hits
            finally:
                self._host.retract_fact(part.name, engine_fact)
        matched = [part.rules[i] for i in hits]
        matched.sort(key=lambda r: (-r.priority, "generic" in r.platforms, -len(r.conditions), r.id))
        return matched

    def diagnose(self, payload: dict, lang: str = "en") -> dict:
        fact = normalize(payload)
        matched = self.match(fact)
        if matched:
            diagnoses = [self._explain(rule, fact, lang) for rule in matched[:MAX_DIAGNOSES]]
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

    def _explain(self, rule: Rule, fact: Fact, lang: str) -> dict:
        captured = captures(rule, fact)
        values = _placeholders(fact, captured)
        text = rule.texts.get(lang) or rule.texts["en"]
        evidence: dict[str, Any] = {}
        for cond in rule.conditions:
            value = _evidence_value(fact, cond.source, cond.name)
            if value is not None:
                evidence[cond.label] = value
        evidence.update(captured)
        if "clock_skew_seconds" in fact.derived:
            evidence["clock_skew_seconds"] = fact.derived["clock_skew_seconds"]
        return {
            "rule_id": rule.id,
            "category": rule.category,
            "owner": rule.owner,
            "title": _fill(text.title, values),
            "explanation": _fill(text.explanation, values),
            "repair_steps": [_fill(step, values) for step in text.repair_steps],
            "doc_url": rule.doc_url,
            "confidence": round(0.3 + 0.65 * rule.priority / 100, 2),
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


def _evidence_value(fact: Fact, source: str, name: str) -> Any:
    value = extractor(source, name)(fact)
    if isinstance(value, str) and len(value) > 300:
        return value[:300] + "…"
    return value
