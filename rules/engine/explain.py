"""Renders what the score stage decided as the answer a person reads.

For each ranked rule: its title, explanation and repair steps in the asked language with
the fact's values filled in, the evidence that decided (each matched condition's value,
what its regexes captured, derived facts), which evidence counted and how much, the
field a validation error names, and the calibrated confidence. For the answer as a
whole: one line on why the runner-up lost. Without a match, fallback.yaml says what the
status alone tells. Nothing here changes the ranking.
"""

from functools import cache
from pathlib import Path
from typing import Any

import yaml
from opsdiag_client.answer import Diagnosis

from ..model import Rule
from . import fields
from .compiler import Layout, as_text, compile_regex, extractor
from .normalize import Fact
from .score import Scored, unmatched_confidence
from .sentence import Sentence, template

FALLBACK_PATH = Path(__file__).with_name("fallback.yaml")
# {field} in a text when the error names no field: words that read naturally, not "?"
FIELD_UNNAMED = {"en": "the field the message names", "zh-CN": "报错信息中指出的字段"}
MAX_EVIDENCE_CHARS = 300


def placeholders(fact: Fact) -> dict[str, Any]:
    """The values a rule's texts may name, from the fact (a rule's captures are added per rule);
    None where the error has none: sentence.py leaves those out of the text."""
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
    return values


def _fill(text: str, values: dict[str, Any]) -> str:
    return Sentence(text)(values)


def _clip(value: Any) -> Any:
    if isinstance(value, str) and len(value) > MAX_EVIDENCE_CHARS:
        return value[:MAX_EVIDENCE_CHARS] + "…"
    return value


@cache
def _fallbacks() -> list[dict]:
    return yaml.safe_load(FALLBACK_PATH.read_text(encoding="utf-8"))


def _fallback_for(status: int) -> dict:
    for entry in _fallbacks():
        when = entry["when"]
        if (isinstance(when, list) and status in when) or when == f"{status // 100}xx" or when == "any":
            return entry
    raise LookupError(status)  # fallback.yaml ends with `any`


def unknown(fact: Fact, lang: str) -> Diagnosis:
    """The answer when no rule matched: what the status alone tells."""
    entry = _fallback_for(fact.status)
    text = entry.get(lang) or entry["en"]
    values = placeholders(fact)
    evidence: dict[str, Any] = {"status": fact.status}
    if fact.code:
        evidence["code"] = fact.code
    if fact.message:
        evidence["message"] = _clip(fact.message)
    return {
        "rule_id": None,
        "category": "unknown",
        "owner": entry["owner"],
        "title": _fill(text["title"], values),
        "explanation": _fill(text["explanation"], values),
        "repair_steps": [_fill(step, values) for step in text["repair_steps"]],
        "doc_url": None,
        "confidence": unmatched_confidence(),
        "evidence": evidence,
        "scoring": {"score": 0, "counted": {}, "against": []},
    }


class Explainer:
    """What explaining one rule needs, worked out once per rule: the regexes with
    named groups, the values its conditions read, its templates per language."""

    def __init__(self, rule: Rule, layout: Layout):
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
        the others as their Sentence."""
        found = self._templates.get(lang)
        if found is None:
            text = self._rule.texts.get(lang) or self._rule.texts["en"]
            found = self._templates[lang] = (
                template(text.title), template(text.explanation),
                tuple(template(step) for step in text.repair_steps))
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
            value = raw[key] if key in raw else extractor(source, name)(fact)
            if value is not None:
                evidence[label] = _clip(value)
        return evidence


def diagnosis(explainer: Explainer, scored: Scored, fact: Fact, lang: str, raw: dict,
              values: dict, confidence: float, finder: fields.FieldFinder) -> Diagnosis:
    rule = scored.rule
    captured = explainer.captures(fact)
    field = finder.named(rule.category, captured, rule.field)
    if field and "field" not in captured:
        captured["field"] = field
    values = {**values, "field": FIELD_UNNAMED.get(lang, FIELD_UNNAMED["en"]), **captured}
    title, explanation, steps = explainer.templates(lang)
    evidence = explainer.evidence(fact, raw)
    evidence.update(captured)
    if "clock_skew_seconds" in fact.derived:
        evidence["clock_skew_seconds"] = fact.derived["clock_skew_seconds"]
    answer: Diagnosis = {
        "rule_id": rule.id,
        "category": rule.category,
        "owner": rule.owner,
        "title": title if title.__class__ is str else title(values),
        "explanation": explanation if explanation.__class__ is str else explanation(values),
        "repair_steps": [step if step.__class__ is str else step(values) for step in steps],
        "doc_url": rule.doc_url,
        "confidence": confidence,
        "evidence": evidence,
        "scoring": {"score": scored.score, "counted": {label: w for label, w in scored.counted if w},
                    "against": list(scored.against)},
    }
    if field:
        answer["field"] = field
        sent = fields.as_sent(fact, field)
        if sent:
            answer["field_sent"] = sent
    return answer


RUNNER_UP = {
    "en": "{runner} ({runner_rule}) scored {runner_score} on {runner_counted}; "
          "{top} ({top_rule}) scored {top_score} on {top_counted}{against}.",
    "zh-CN": "{runner}（{runner_rule}）依据 {runner_counted} 得分 {runner_score}；"
             "{top}（{top_rule}）依据 {top_counted} 得分 {top_score}{against}。",
}
AGAINST = {"en": "; against the runner-up: {labels}", "zh-CN": "；不利于次选的证据：{labels}"}


def runner_up_line(ranked: list[Scored], lang: str) -> str | None:
    """Why the best rule of another category lost, in one line (None when none matched)."""
    top = ranked[0]
    runner = next((s for s in ranked[1:] if s.rule.category != top.rule.category), None)
    if runner is None:
        return None

    def counted(s: Scored) -> str:
        return ", ".join(label for label, w in s.counted if w) or "-"

    lang = lang if lang in RUNNER_UP else "en"
    against = AGAINST[lang].format(labels=", ".join(runner.against)) if runner.against else ""
    return RUNNER_UP[lang].format(
        runner=runner.rule.category, runner_rule=runner.rule.id, runner_score=runner.score,
        runner_counted=counted(runner), top=top.rule.category, top_rule=top.rule.id,
        top_score=top.score, top_counted=counted(top), against=against)
