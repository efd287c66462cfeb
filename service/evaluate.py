"""`opsdiag eval`: how often the top answer is right on errors people really received.

The corpus (eval/corpus/*.jsonl) holds real payloads copied from public threads, each
labelled with the cause the thread or the platform's doc concluded. It is split once,
by source (every case of one thread on the same side), into a tuning part and a
held-back part; eval/split.yaml records the split, so a case never changes side by
accident. Rules and scoring are tuned on the tuning part only. A third, calibration part
(cases gathered after the rules were tuned, never tuned on) is what confidence is fitted
on when it has cases: the tuning part's accuracy is inflated by the rules written from it.
Eval reports every part, but lists individual cases only for the tuning part: the others
are read as figures, never case by case, so that nobody tunes on them without meaning to.

Each case goes through the same schema as POST /diagnose: a payload the service would
refuse counts as wrong.
"""

import dataclasses
import hashlib
import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from marshmallow import ValidationError

from rules.engine import Engine, score
from rules.engine.normalize import normalize

from .schemas import DiagnoseRequestSchema

EVAL_DIR = Path(__file__).resolve().parent.parent / "eval"
CORPUS_DIR = EVAL_DIR / "corpus"
SPLIT_PATH = EVAL_DIR / "split.yaml"
RESULTS_PATH = EVAL_DIR / "RESULTS.md"
HELD_BACK_SHARE = 36  # percent of sources, by hash, when a source is first assigned
PARTS = ("tuning", "calibration", "heldback")
BINS = 10
FIGURES_MARK = "<!-- figures: "


@dataclass(frozen=True)
class Case:
    id: str
    source: str
    platform: str
    payload: dict
    category: str
    owner: str
    field: str | None


@dataclass
class Outcome:
    case: Case
    categories: list[str]
    owner: str | None
    field: str | None
    confidence: float
    refused: str | None = None
    strength: float | None = None  # the score the confidence was read for (None: no rule matched)

    @property
    def top1(self) -> bool:
        return bool(self.categories) and self.categories[0] == self.case.category

    @property
    def top3(self) -> bool:
        return self.case.category in self.categories[:3]

    @property
    def owner_ok(self) -> bool:
        return self.owner == self.case.owner

    @property
    def field_ok(self) -> bool:
        return same_field(self.field, self.case.field)


def read_corpus(corpus_dir: Path = CORPUS_DIR) -> list[Case]:
    cases = []
    for path in sorted(corpus_dir.glob("*.jsonl")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
                expected = raw["expected"]
                cases.append(Case(raw["id"], raw["source"], raw["platform"], raw["payload"],
                                  expected["category"], expected["owner"], expected.get("field") or None))
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"{path.name}:{number}: not a corpus case ({exc})") from exc
    return cases


def _hashed_part(source: str) -> str:
    share = int(hashlib.sha256(source.encode()).hexdigest()[:8], 16) % 100
    return "heldback" if share < HELD_BACK_SHARE else "tuning"


def read_split(path: Path = SPLIT_PATH) -> dict[str, str]:
    if not path.exists():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {source: part for part in PARTS for source in data.get(part) or []}


def assign(cases: list[Case], split: dict[str, str]) -> dict[str, str]:
    """The split with every new source assigned by its hash; known sources keep their side."""
    out = dict(split)
    for case in cases:
        out.setdefault(case.source, _hashed_part(case.source))
    return out


def write_split(split: dict[str, str], path: Path = SPLIT_PATH) -> None:
    lines = ["# Which side of the evaluation each corpus source is on (service/evaluate.py).",
             "# Assigned once by hash when a source first appears; never moved, except a held-back",
             "# source someone tuned on, which goes to tuning (say so in eval/README.md).", ""]
    for part in PARTS:
        lines.append(f"{part}:")
        lines += [f"  - {json.dumps(s)}" for s in sorted(src for src, p in split.items() if p == part)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def same_field(found: str | None, expected: str | None) -> bool:
    """Field names compare without case, list indexes and a leading body./request. prefix;
    one may be the tail of the other (`postal_code` for `shipping_address.postal_code`)."""
    if not expected:
        return True
    if not found:
        return False

    def plain(name: str) -> list[str]:
        parts = [p.replace("_", "").replace("-", "") for p in name.lower().replace("[", ".").replace("]", "").split(".")
                 if p and not p.isdigit()]
        while parts and parts[0] in ("body", "request", "$", "payload", "params", "param"):
            parts = parts[1:]
        return parts

    a, b = plain(found), plain(expected)
    if not a or not b:
        return False
    shorter, longer = (a, b) if len(a) <= len(b) else (b, a)
    return longer[-len(shorter):] == shorter


def run_case(engine: Engine, case: Case) -> Outcome:
    schema = DiagnoseRequestSchema()
    try:
        loaded = schema.load(json.loads(json.dumps(case.payload)))
    except ValidationError as exc:
        return Outcome(case, [], None, None, 0.0, refused=json.dumps(exc.messages)[:200])
    fact = normalize(loaded)
    ranked, raw = engine.rank(fact)  # once: the answer and the strength its confidence was read for
    diagnoses = engine.answer(fact, ranked, raw)["diagnoses"]
    top = diagnoses[0]
    return Outcome(case, [d["category"] for d in diagnoses], top["owner"], top.get("field"), top["confidence"],
                   strength=score.strength(ranked) if ranked else None)


@dataclass
class Figures:
    cases: int = 0
    top1: float = 0.0
    top3: float = 0.0
    owner: float = 0.0
    field: float | None = None
    field_cases: int = 0
    ece: float = 0.0
    refused: int = 0
    calibration: list[dict] = dataclasses.field(default_factory=list)


def _share(hits: int, total: int) -> float:
    return round(100.0 * hits / total, 1) if total else 0.0


def calibration_table(outcomes: list[Outcome]) -> tuple[list[dict], float]:
    """Confidence bins against observed top-1 accuracy, and the expected calibration error."""
    bins: dict[int, list[Outcome]] = defaultdict(list)
    for o in outcomes:
        bins[min(int(o.confidence * BINS), BINS - 1)].append(o)
    table, ece = [], 0.0
    for index in sorted(bins):
        members = bins[index]
        confidence = sum(o.confidence for o in members) / len(members)
        accuracy = sum(o.top1 for o in members) / len(members)
        ece += len(members) / len(outcomes) * abs(accuracy - confidence)
        table.append({"bin": f"{index / BINS:.1f}-{(index + 1) / BINS:.1f}", "cases": len(members),
                      "confidence": round(confidence, 3), "accuracy": round(accuracy, 3)})
    return table, round(ece, 3)


def figures(outcomes: list[Outcome]) -> Figures:
    n = len(outcomes)
    if not n:
        return Figures()
    with_field = [o for o in outcomes if o.case.field]
    table, ece = calibration_table(outcomes)
    return Figures(
        cases=n, top1=_share(sum(o.top1 for o in outcomes), n), top3=_share(sum(o.top3 for o in outcomes), n),
        owner=_share(sum(o.owner_ok for o in outcomes), n),
        field=_share(sum(o.field_ok for o in with_field), len(with_field)) if with_field else None,
        field_cases=len(with_field), ece=ece, refused=sum(o.refused is not None for o in outcomes),
        calibration=table)


@dataclass
class Report:
    parts: dict[str, list[Outcome]]

    def figures(self) -> dict[str, Figures]:
        return {part: figures(outcomes) for part, outcomes in self.parts.items()}

    def by(self, part: str, key) -> dict[str, Figures]:
        groups: dict[str, list[Outcome]] = defaultdict(list)
        for o in self.parts[part]:
            groups[key(o)].append(o)
        return {name: figures(group) for name, group in sorted(groups.items())}


def evaluate(engine: Engine, cases: list[Case], split: dict[str, str]) -> Report:
    parts: dict[str, list[Outcome]] = {part: [] for part in PARTS}
    for case in cases:
        parts[split[case.source]].append(run_case(engine, case))
    return Report(parts)


# ------------------------------------------------------------------ calibration

MIN_BAND = 20  # cases a confidence band is fitted on, at least


def _pooled(points: list[tuple[float, bool]]) -> list[list]:
    """Pool-adjacent-violators: [lowest strength, hits, cases] blocks in order of strength whose
    accuracy never falls as strength rises, each block at least MIN_BAND cases."""
    by_strength: dict[float, list[int]] = defaultdict(lambda: [0, 0])
    for strength, hit in points:  # one strength is one step: its hits and misses stay together
        by_strength[strength][0] += int(hit)
        by_strength[strength][1] += 1
    blocks: list[list] = []
    for strength, (hits, n) in sorted(by_strength.items()):
        blocks.append([strength, hits, n])
        while len(blocks) > 1 and (blocks[-2][2] < MIN_BAND
                                   or blocks[-2][1] / blocks[-2][2] >= blocks[-1][1] / blocks[-1][2]):
            last = blocks.pop()
            blocks[-1][1] += last[1]
            blocks[-1][2] += last[2]
    if len(blocks) > 1 and blocks[-1][2] < MIN_BAND:
        last = blocks.pop()
        blocks[-1][1] += last[1]
        blocks[-1][2] += last[2]
    return blocks


def _smoothed(hits: int, cases: int) -> float:
    return (hits + 0.5) / (cases + 1)


def fit_calibration(outcomes: list[Outcome], part: str = "tuning", others: list[Outcome] = ()) -> dict:
    """Confidence bands: the observed top-1 accuracy of the answers at each strength
    (isotonic, smoothed by half a hit and half a miss: Jeffreys' prior, which unlike one of
    each keeps a rate near 0 near 0 when a band has few cases). An unmatched answer names no
    cause whatever the rules, so its rate is read from `others` (the tuning part) too:
    rule tuning cannot inflate it, and a few cases would not measure it."""
    matched = [(o.strength, o.top1) for o in outcomes if o.strength is not None]
    unmatched = [o for o in (*outcomes, *others) if o.strength is None and o.refused is None]
    bands = [{"from_score": round(lo, 2), "confidence": round(_smoothed(hits, n), 3), "cases": n}
             for lo, hits, n in _pooled(matched)]
    if bands:
        bands[0]["from_score"] = -1000.0  # the lowest band takes every weaker answer
    return {"fitted_on": f"{part} part of eval/corpus, {len(outcomes)} cases",
            "unmatched": round(_smoothed(sum(o.top1 for o in unmatched), len(unmatched)), 3),
            "bands": list(reversed(bands))}


def write_calibration(fitted: dict, path: Path = score.CALIBRATION_PATH) -> None:
    header = ("# Confidence per evidence strength (rules/engine/score.py), written by `opsdiag eval --calibrate`\n"
              "# from the calibration part of the real-error corpus (else the tuning part). Do not edit by hand.\n")
    path.write_text(header + yaml.safe_dump(fitted, sort_keys=False), encoding="utf-8")


# ------------------------------------------------------------------ the report


def _row(name: str, f: Figures) -> str:
    field_ = "-" if f.field is None else f"{f.field:.1f} ({f.field_cases})"
    return (f"| {name} | {f.cases} | {f.top1:.1f} | {f.top3:.1f} | {f.owner:.1f} | {field_} | "
            f"{f.ece:.3f} | {f.refused} |")


HEADER = ("| | cases | top-1 category % | top-3 category % | owner % | field % (cases) | ECE | refused |\n"
          "|---|---:|---:|---:|---:|---:|---:|---:|")


def render(report: Report, cases: list[Case], split: dict[str, str]) -> str:
    totals = report.figures()
    sources = {part: len({c.source for c in cases if split[c.source] == part}) for part in PARTS}
    lines = [
        "# Evaluation on the real-error corpus",
        "",
        "Written by `make eval` (`opsdiag eval`). Corpus: eval/corpus/ (see eval/README.md); split by",
        "source in eval/split.yaml. Rules are tuned on the tuning part only (`--misses` lists its wrong",
        "answers); confidence is fitted on the calibration part; the calibration and held-back parts are",
        "reported as figures, never case by case.",
        "",
        HEADER,
        *(_row(f"{part} ({sources[part]} sources)", totals[part]) for part in PARTS),
        "",
    ]
    for part in (p for p in PARTS if report.parts[p]):
        lines += [f"## {part}: per platform", "", HEADER,
                  *(_row(k, f) for k, f in report.by(part, lambda o: o.case.platform).items()), ""]
        lines += [f"## {part}: per expected category", "", HEADER,
                  *(_row(k, f) for k, f in report.by(part, lambda o: o.case.category).items()), ""]
        confusions = Counter((o.case.category, o.categories[0] if o.categories else "(refused)")
                             for o in report.parts[part] if not o.top1)
        lines += [f"## {part}: most frequent confusions", "", "| expected | answered | cases |", "|---|---|---:|",
                  *(f"| {e} | {a} | {n} |" for (e, a), n in confusions.most_common(12)), ""]
        lines += [f"## {part}: calibration", "", "| confidence | cases | mean confidence | accuracy |",
                  "|---|---:|---:|---:|",
                  *(f"| {b['bin']} | {b['cases']} | {b['confidence']:.3f} | {b['accuracy']:.3f} |"
                    for b in totals[part].calibration),
                  "", f"Expected calibration error: {totals[part].ece:.3f}", ""]
    machine = {part: {k: getattr(totals[part], k) for k in ("cases", "top1", "top3", "owner", "field", "ece")}
               for part in PARTS}
    lines.append(FIGURES_MARK + json.dumps(machine, sort_keys=True) + " -->")
    return "\n".join(lines) + "\n"


def committed_figures(path: Path = RESULTS_PATH) -> dict[str, dict[str, Any]] | None:
    """The figures of the committed RESULTS.md (its machine-readable last line)."""
    if not path.exists():
        return None
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith(FIGURES_MARK):
            return json.loads(line[len(FIGURES_MARK):-len(" -->")])
    return None


def misses(report: Report, part: str = "tuning") -> list[str]:
    """One line per wrong tuning case (never for the held-back part)."""
    if part != "tuning":
        raise ValueError("held-back cases are not listed one by one")
    out = []
    for o in report.parts[part]:
        if not (o.top1 and o.owner_ok and o.field_ok):
            got = o.refused and f"refused {o.refused}" or f"{o.categories[:3]} owner={o.owner} field={o.field}"
            out.append(f"{o.case.id}: want {o.case.category}/{o.case.owner}"
                       f"{'/' + o.case.field if o.case.field else ''}; got {got}")
    return out
