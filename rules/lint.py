"""Checks a curator runs before publishing: examples, shadowing, doc links, sourced claims.

Every rule carries payloads it must be the answer for and near misses it must not
match; lint runs them all through the compiled engine, so what it accepts is what
production will answer.
"""

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from .claims import unsourced_terms
from .docpages import is_known
from .engine import Engine
from .model import Rule
from .normalize import normalize
from .trace import trace

# The platforms' own documentation hosts; generic rules cite standards and client docs.
DOC_HOSTS = {
    "tiktok_shop": ("partner.tiktokshop.com", "partner.us.tiktokshop.com"),
    "amazon_sp": ("developer-docs.amazon.com", "github.com"),
    "shopee": ("open.shopee.com", "open.shopee.cn"),
    "lazada": ("open.lazada.com",),
    "generic": (
        "www.rfc-editor.org", "datatracker.ietf.org", "developer.mozilla.org", "nodejs.org",
        "docs.python.org", "requests.readthedocs.io", "urllib3.readthedocs.io", "curl.se",
        "docs.oracle.com", "www.iana.org",
    ),
}


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
                                       f"(rules/doc_pages.yaml): {rule.doc_url}")]
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
    problems = check_doc_url(rule) + check_claims(rule)
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
