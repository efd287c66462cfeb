"""What the knowledge base covers: rules per category and platform, and what each rule catches."""

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from ..engine import Engine
from ..engine.normalize import normalize
from ..model import PLATFORMS, Rule
from ..taxonomy import categories


@dataclass(frozen=True)
class Coverage:
    matrix: dict[str, Counter]  # category -> platform -> rule count
    caught: dict[str, int]  # rule id -> examples (of the whole KB) it is the top answer for
    own: dict[str, tuple[int, int]]  # rule id -> (own match examples it tops, own match examples)
    examples: int

    def gaps(self) -> list[str]:
        """Categories (but `unknown`) without rules on two platforms and no generic rule."""
        return [c for c, row in self.matrix.items()
                if c != "unknown" and not row["generic"]
                and sum(1 for p in PLATFORMS if p != "generic" and row[p]) < 2]


def coverage(rules: list[Rule], load_payload: Callable[[dict], dict]) -> Coverage:
    matrix = {c: Counter() for c in categories()}
    for rule in rules:
        for platform in rule.platforms:
            matrix[rule.category][platform] += 1
    caught: Counter = Counter()
    own = {}
    engine = Engine(rules, "coverage")
    try:
        total = 0
        for rule in rules:
            tops = 0
            for example in rule.examples_match:
                matched = engine.match(normalize(load_payload(example)))
                total += 1
                if matched:
                    caught[matched[0].id] += 1
                    tops += matched[0].id == rule.id
            own[rule.id] = (tops, len(rule.examples_match))
    finally:
        engine.close()
    return Coverage(matrix, {r.id: caught[r.id] for r in rules}, own, total)


def render(cov: Coverage, fmt: str = "text") -> str:
    cols = list(PLATFORMS)
    head = ["category", *cols, "total"]
    rows = [[c, *(str(row[p] or "") for p in cols), str(sum(row.values()))]
            for c, row in cov.matrix.items() if c != "unknown"]
    totals = ["total", *(str(sum(r[p] for r in cov.matrix.values())) for p in cols),
              str(sum(sum(r.values()) for r in cov.matrix.values()))]
    rule_head = ["rule", "own examples answered", "share of all examples"]
    rule_rows = [[rid, f"{cov.own[rid][0]}/{cov.own[rid][1]}",
                  f"{100 * n / cov.examples:.1f}%" if cov.examples else "-"]
                 for rid, n in sorted(cov.caught.items(), key=lambda kv: (-kv[1], kv[0]))]
    gaps = cov.gaps()
    footer = f"gaps (fewer than two platforms, no generic rule): {', '.join(gaps) or 'none'}"
    return "\n\n".join([_table(head, [*rows, totals], fmt), _table(rule_head, rule_rows, fmt), footer])


def _table(head: list[str], rows: list[list[str]], fmt: str) -> str:
    if fmt == "markdown":
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(lines)
    widths = [max(len(x) for x in col) for col in zip(head, *rows, strict=True)]
    return "\n".join("  ".join(x.ljust(w) for x, w in zip(r, widths, strict=True)).rstrip()
                     for r in [head, *rows])
