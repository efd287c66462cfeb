"""Checks a curator runs before publishing: examples, shadowing, doc links, sourced claims, templates.

Every rule carries payloads it must be the answer for and near misses it must not
match; lint runs them all through the compiled engine, so what it accepts is what
production will answer. A text naming a value that an error may not carry is shown
as it then reads (sentence.py leaves the value out), for the curator to judge.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from re import _parser as sre_parse
from urllib.parse import urlsplit

from .. import platforms
from ..engine import Engine
from ..engine.normalize import normalize
from ..engine.sentence import GAP_MARKS, names, without
from ..engine.trace import trace
from ..model import Rule
from .claims import unsourced_terms
from .docpages import is_known

# The platforms' own documentation hosts (the registry's); generic rules cite standards and client docs.
DOC_HOSTS = {
    **{p.name: p.doc_hosts for p in platforms.MARKETPLACES.values()},
    platforms.GENERIC: (
        "www.rfc-editor.org", "datatracker.ietf.org", "developer.mozilla.org", "nodejs.org",
        "docs.python.org", "requests.readthedocs.io", "urllib3.readthedocs.io", "curl.se",
        "docs.oracle.com", "www.iana.org",
    ),
}


# Values every error has (status and endpoint are required; platform and domain are
# inferred when not sent; {field} is worded naturally when the error names none).
ALWAYS_THERE = frozenset({"status", "host", "path", "platform", "domain", "field"})
# The placeholder and the conditions that, when a rule has one, make sure it has a value.
GUARANTEED_BY = {
    "code": ("code",), "message": ("message",), "method": ("method",),
    "request_id": ("body.request_id", "body.RequestId", "headers.x-amzn-requestid"),
    "retry_after": ("headers.retry-after",), "ratelimit_remaining": ("headers.x-ratelimit-remaining",),
    "ratelimit_limit": ("headers.x-ratelimit-limit", "headers.x-amzn-ratelimit-limit"),
    "clock_skew_seconds": ("derived.clock_skew_seconds",),
}
NOT_PRESENCE = {"ne", "not_in", "not_regex"}  # operators that pass on a missing value too


@dataclass(frozen=True)
class Problem:
    level: str  # "error" or "warning"
    rule: Rule
    reason: str

    def __str__(self) -> str:
        return f"{self.rule.file}: {self.rule.id}: {self.reason}"


def _failed_conditions(rule: Rule, payload: dict) -> str:
    failed = [s for s in trace(rule, normalize(payload)) if not s.passed]
    return "; ".join(f"{s.condition} {s.operator} {s.expected!r} (got {s.actual!r})"
                     for s in failed) or "its partition (platform/region/domain) differs"


def check_doc_url(rule: Rule) -> list[Problem]:
    parts = urlsplit(rule.doc_url)
    if parts.scheme != "https":
        return [Problem("error", rule, f"doc_url must be https: {rule.doc_url}")]
    hosts = {h for p in rule.platforms for h in DOC_HOSTS.get(p, ())}
    if parts.hostname not in hosts:
        return [Problem("warning", rule, f"doc_url host {parts.hostname} is not a documentation "
                                         f"host of {', '.join(sorted(rule.platforms))}")]
    if not is_known(rule.doc_url, rule.platforms):
        return [Problem("error", rule, f"doc_url is not a page the sources link or name "
                                       f"(rules/kb/doc_pages.yaml): {rule.doc_url}")]
    return []


def check_claims(rule: Rule) -> list[Problem]:
    return [Problem("error", rule, f"claim not in source: {term!r} is in the explanation, "
                                   "not in source:") for term in unsourced_terms(rule)]


def lint(rules: list[Rule], load_payload: Callable[[dict], dict]) -> list[Problem]:
    """`load_payload` validates an example as /diagnose would (raises on bad input)."""
    engine = Engine(rules, "lint")
    try:
        return [p for rule in rules for p in lint_rule(rule, engine, load_payload)]
    finally:
        engine.close()


def lint_rule(rule: Rule, engine: Engine, load_payload: Callable[[dict], dict]) -> list[Problem]:
    """One rule's checks against `engine`, a compiled rule set that contains it."""
    problems = check_doc_url(rule) + check_claims(rule) + check_templates(rule)
    top_ids = set()
    for n, example in enumerate(rule.examples_match):
        try:
            payload = load_payload(example)
        except Exception as exc:  # noqa: BLE001 - report any invalid example
            problems.append(Problem("error", rule, f"examples.match.{n} invalid: {exc}"))
            continue
        matched = engine.match(normalize(payload))
        if rule not in matched:
            problems.append(Problem("error", rule, f"examples.match.{n} does not match: "
                                                   f"{_failed_conditions(rule, payload)}"))
        elif matched[0].category != rule.category:
            problems.append(Problem(
                "error", rule, f"examples.match.{n}: top answer is {matched[0].id} "
                               f"({matched[0].category}), not {rule.category}"))
        else:
            top_ids.add(matched[0].id)
    if rule.examples_match and top_ids and rule.id not in top_ids:
        problems.append(Problem("warning", rule, "shadowed: never the top answer of its "
                                                 f"own examples ({', '.join(sorted(top_ids))} wins)"))
    for n, example in enumerate(rule.examples_no_match):
        try:
            payload = load_payload(example)
        except Exception as exc:  # noqa: BLE001
            problems.append(Problem("error", rule, f"examples.no_match.{n} invalid: {exc}"))
            continue
        if rule in engine.match(normalize(payload)):
            problems.append(Problem("error", rule, f"examples.no_match.{n} matches"))
    return problems


def _requires(cond) -> bool:
    """Whether a condition passes only when its value is there."""
    return any(op not in NOT_PRESENCE and not (op in ("exists", "eq") and not value) and value != "null"
               for op, value in cond.ops)


def _sure_groups(pattern: str) -> set[str]:
    """Named groups that take part in every match of `pattern` (not optional, not one branch)."""
    try:
        parsed = sre_parse.parse(pattern)
    except (re.error, RecursionError, OverflowError):
        return set()
    optional: set[int] = set()

    def walk(items, maybe: bool):
        for op, arg in items:
            name = str(op)
            if name == "SUBPATTERN":
                if maybe:
                    optional.add(arg[0])
                walk(arg[-1], maybe)
            elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
                walk(arg[2], maybe or arg[0] == 0)
            elif name == "BRANCH":
                for branch in arg[1]:
                    walk(branch, True)
            elif name in ("ASSERT", "ASSERT_NOT", "ATOMIC_GROUP"):
                walk(arg[-1] if name != "ATOMIC_GROUP" else arg, maybe or name == "ASSERT_NOT")

    walk(parsed, False)
    return {name for name, index in parsed.state.groupdict.items() if index not in optional}


def valued(rule: Rule) -> set[str]:
    """The placeholders that have a value whenever `rule` matches."""
    sure = set(ALWAYS_THERE)
    required = {cond.label for cond in rule.conditions if _requires(cond)}
    sure.update(name for name, labels in GUARANTEED_BY.items() if required.intersection(labels))
    if rule.regions is not None:
        sure.add("region")
    for cond in rule.conditions:
        sure.update(g for op, value in cond.ops if op == "regex" for g in _sure_groups(value))
    return sure


def check_templates(rule: Rule) -> list[Problem]:
    """Texts that name a value the error may not have and read broken without it."""
    sure, problems = valued(rule), []
    for lang, text in rule.texts.items():
        parts = [("title", text.title), ("explanation", text.explanation),
                 *((f"repair_steps.{n}", step) for n, step in enumerate(text.repair_steps))]
        for part, template in parts:
            absent = {name for name in names(template) if name not in sure}
            shown = without(template, absent) if absent else ""
            if GAP_MARKS.search(shown):
                problems.append(Problem("warning", rule, (
                    f"then.{lang}.{part}: {', '.join('{' + n + '}' for n in sorted(absent))} may have no value "
                    f"(no condition requires it); left out, the text reads {shown[:200]!r}: word it so it "
                    "reads without the value too")))
    return problems
