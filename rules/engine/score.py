"""Ranks the rules that matched one fact by the evidence they matched.

A rule that matched a platform's error code or the wording of its message knows more
than one that matched a bare status, a path or a domain: the curator's `priority` only
breaks ties. Each positive test of a rule adds the weight of its kind of evidence
(WEIGHTS); a rule may also name evidence against it (`unless:` in kb_content), and each
such test that holds takes AGAINST off its score, so that e.g. a quota rule loses to an
IP-block rule when `X-RateLimit-Remaining` is above zero. Conditions that only exclude
(`ne`, `not_in`, `not_regex`, `exists: false`) are no evidence for a rule.

`confidence` is what the score means as a probability: the observed top-1 accuracy of
answers of that strength on the calibration part of the real-error corpus (eval/: cases
nobody tuned rules on), read from calibration.yaml, which `opsdiag eval --calibrate` writes.
The score stage knows nothing of how the rule is worded; explain.py renders what it decided.
"""

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from ..model import Condition, Rule
from .normalize import Fact
from .trace import holds

CALIBRATION_PATH = Path(__file__).with_name("calibration.yaml")

# The weight of one positive test, by where its value comes from.
WEIGHTS = {
    "code": 8.0,  # the platform's own error code
    "message": 6.0,  # the wording of the error
    "error_type": 6.0,
    "body": 6.0,  # a field of the body (its text, a code nested in it)
    "derived": 9.0,  # what a person works out: clock skew, environment mismatch, region, direction
    "derived.direction": 1.0,  # which way the call went scopes a rule, like its domain
    "headers": 4.0,
    "request_body": 3.0,
    "request_headers": 3.0,
    "query": 2.0,
    "context": 3.0,
    "status": 2.0,  # a status alone says little
    "path": 1.0,  # a keyword of the path says little more than the domain
    "host": 1.0,
    "method": 0.5,
    "body_format": 3.0,  # an HTML page is a front end's answer, not the API's
}
API_BODY = 0.5  # `body_format: json` (or text): only that the API answered, not why
CODE_WORDS = 5.0  # a regex on the code reads its words (`MissingParameter`): less than the code itself
OPERATION_PATH = 4.0  # a path anchored at its start names one operation
RANGE_FACTOR = 0.5  # a status class (gte 500) says less than one status
ABSENCE_FACTOR = 0.5  # `exists: false`: something the request or response lacks
ONE_HOST = 2.0  # a host named whole, not a keyword of it
REGIONS = 2.0  # a rule written for some regions only, in one of them
PLATFORM = 2.0  # a rule written for the payload's own platform knows what its words mean there
AGAINST = 12.0  # what one test of `unless` that holds takes off
EXCLUDING = frozenset({"ne", "not_in", "not_regex"})
MARGIN = 4.0  # a rival this far below the top does not lower the strength
UNMATCHED = 0.05  # before any calibration: an unknown answer is almost never the cause
BELOW_EVERY_BAND = 0.1  # a score below the lowest calibrated band (evidence against the top answer)


def condition_weight(cond: Condition) -> float:
    """What one matched condition tells: its kind of evidence, less when the test admits
    many values (a status class, a list of codes), nothing when it only excludes."""
    ops = dict(cond.ops)
    if set(ops) <= EXCLUDING:
        return 0.0
    weight = WEIGHTS.get(cond.label, WEIGHTS.get(cond.source, 1.0))
    if cond.source == "code" and "regex" in ops:
        weight = CODE_WORDS  # the words of a code no rule knows, not the code itself
    elif cond.source == "path" and (str(ops.get("regex", "")).startswith("^/") or "eq" in ops):
        weight = OPERATION_PATH
    elif cond.source == "host" and (str(ops.get("regex", "")).endswith("$") or "eq" in ops):
        weight = ONE_HOST
    elif cond.source == "body_format" and ops.get("eq") in ("json", "text"):
        weight = API_BODY
    if ops.get("exists") is False:
        weight *= ABSENCE_FACTOR
    elif cond.source == "status" and not {"eq", "in"} & set(ops):
        weight *= RANGE_FACTOR
    elif "in" in ops and len(ops["in"]) > 1 and cond.source != "code":  # a list of codes: synonyms
        weight *= max(0.6, 1.0 - 0.1 * (len(ops["in"]) - 1))
    return weight


def rule_weight(rule: Rule) -> tuple[float, tuple[tuple[str, float], ...]]:
    """(sum of the weights of a rule's conditions, the weight of each condition's label)."""
    counted = tuple((cond.label, round(condition_weight(cond), 2)) for cond in rule.conditions)
    if rule.regions is not None:
        counted += (("region", REGIONS),)
    if "generic" not in rule.platforms:
        counted += (("platform", PLATFORM),)
    return round(sum(w for _, w in counted), 2), counted


@dataclass(frozen=True)
class Scored:
    rule: Rule
    score: float
    counted: tuple[tuple[str, float], ...]  # (evidence, weight) for the rule
    against: tuple[str, ...]  # evidence against it that held


def _order(scored: Scored) -> tuple:
    rule = scored.rule
    return -scored.score, -rule.priority, "generic" in rule.platforms, rule.id


class Scorer:
    """The weights of one knowledge-base version's rules, worked out once."""

    def __init__(self, rules: list[Rule]):
        self._weights = {rule.id: rule_weight(rule) for rule in rules}

    def score(self, rule: Rule, fact: Fact) -> Scored:
        total, counted = self._weights.get(rule.id) or rule_weight(rule)
        if 200 <= fact.status < 300 and any(label == "status" for label, _ in counted):
            # marketplaces answer errors with 200 and a code: a 200 tells nothing of the cause
            counted = tuple((label, 0.0 if label == "status" else w) for label, w in counted)
            total = round(sum(w for _, w in counted), 2)
        against = tuple(cond.label for cond in rule.against if holds(cond, fact)) if rule.against else ()
        return Scored(rule, round(total - AGAINST * len(against), 2), counted, against)

    def rank(self, rules: list[Rule], fact: Fact) -> list[Scored]:
        """The matched rules, best evidence first; priority, then platform before generic break ties."""
        return sorted((self.score(rule, fact) for rule in rules), key=_order)


@cache
def _calibration() -> tuple[tuple[tuple[float, float], ...], float]:
    """((lowest score of a band, confidence) pairs, highest band first; confidence unmatched)."""
    if not CALIBRATION_PATH.exists():
        return (), UNMATCHED
    data = yaml.safe_load(CALIBRATION_PATH.read_text(encoding="utf-8")) or {}
    bands = [(float(b["from_score"]), float(b["confidence"])) for b in data.get("bands") or []]
    return tuple(sorted(bands, reverse=True)), float(data.get("unmatched", UNMATCHED))


def reload_calibration() -> None:
    """Read calibration.yaml again (after `opsdiag eval --calibrate` wrote it)."""
    _calibration.cache_clear()


def unmatched_confidence() -> float:
    """How often an answer without a matching rule names the cause (never, by definition)."""
    return _calibration()[1]


def strength(ranked: list[Scored]) -> float:
    """The score the answer's confidence is read for: the top score, less when a rule of
    another category comes close (the evidence then does not tell the two apart)."""
    top = ranked[0]
    rival = next((s for s in ranked[1:] if s.rule.category != top.rule.category), None)
    if rival is None or rival.score <= 0:
        return top.score
    return top.score - max(0.0, rival.score - (top.score - MARGIN))


def confidence(value: float, bands: tuple[tuple[float, float], ...] | None = None) -> float:
    """The calibrated probability that an answer of this strength is right."""
    for lowest, probability in bands if bands is not None else _calibration()[0]:
        if value >= lowest:
            return probability
    return BELOW_EVERY_BAND
