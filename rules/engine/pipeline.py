"""The stages of one diagnosis, run in order for one compiled knowledge-base version.

normalize.py (the payload becomes a Fact) -> match.py (durable-rules finds the rules that
hold) -> score.py (ranks them by evidence, calibrates confidence) -> explain.py (renders
the answer), and reqcheck/ (the sent request against its published schema) adds its
finding. compiler.py builds what match.py runs, once per version.
"""

from opsdiag_client.answer import Result

from ..model import Rule
from ..reqcheck.finding import add_request_check
from . import explain, fields, score
from .compiler import Layout, partition
from .match import Matcher
from .normalize import Fact, normalize
from .score import Scored

MAX_DIAGNOSES = 5


class Engine:
    """A compiled knowledge-base version: compiled once, then shared by every request of a worker."""

    def __init__(self, rules: list[Rule], version: str):
        self.version = version
        self.rules = rules
        self.layout: Layout = partition(rules)
        self.matcher = Matcher(self.layout, version)
        self.scorer = score.Scorer(rules)
        self._explainers: dict[str, explain.Explainer] = {}

    @property
    def partition_count(self) -> int:
        return len({id(p) for p in self.layout.partitions.values()})

    def match(self, fact: Fact) -> list[Rule]:
        """Every rule of the fact's partition whose conditions hold, best evidence first."""
        return [scored.rule for scored in self.rank(fact)[0]]

    def rank(self, fact: Fact) -> tuple[list[Scored], dict]:
        """(the matched rules scored and ranked, raw values of the slots that were read)."""
        hits, raw = self.matcher.match(fact)
        return self.scorer.rank(hits, fact), raw

    def diagnose(self, payload: dict, lang: str = "en") -> Result:
        fact = normalize(payload)
        ranked, raw = self.rank(fact)
        return self.answer(fact, ranked, raw, lang)

    def answer(self, fact: Fact, ranked: list[Scored], raw: dict, lang: str = "en") -> Result:
        """The answer for rules found and ranked (by rank(), or another matcher in bench/)."""
        result: Result = {
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
        self.matcher.close()
