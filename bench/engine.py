"""1. Engine: diagnoses per second, opsdiag's engine vs a linear scan vs ZEN Engine.

    python -m bench.engine [--rules N] [--seconds S] [--json FILE]

Without --rules the rule set is the full knowledge base; with --rules N it is the
knowledge base plus synthetic rules (bench/synth.py) up to N rules in all, and the
payload mix gains the synthetic rules' own examples. A diagnosis is the whole path:
normalize the payload, find the ranked matches, render the answer (the same
rendering code for all three; ZEN's first-hit table gives one answer, so it renders
one). The engine and the scan must give the same ranked answers on every payload, and
ZEN the same top answer, before anything is timed. ZEN compiles the regex of every
`matches` cell on every evaluation (about 1 ms each here), so it is checked and timed
on every k-th payload of the mix (about 120), a sample with the same make-up. The
figures are best-of-N rates measured in this one process, the contenders' rounds
taken in turn so that a change in the machine's load hits them alike.
"""

import argparse
import time

from rules.engine import Engine
from rules.engine.normalize import normalize

from .common import command, emit, kb_payloads, kb_rules, keep_unmatched, rates_interleaved, verdict_lines
from .linear import LinearScan
from .synth import synthetic_documents, unmatched_payloads
from .zen_table import ZenTable


def rule_set(total: int | None):
    rules = kb_rules()
    payloads = kb_payloads(rules)
    if total and total > len(rules):
        from rules.kb.loader import build_rules

        from .common import SCHEMA
        docs = synthetic_documents(total - len(rules))
        synthetic = build_rules(docs)
        rules = rules + synthetic
        for rule in synthetic[:300]:
            payloads["match"].extend(SCHEMA.load(e) for e in rule.examples_match)
            payloads["near_miss"].extend(SCHEMA.load(e) for e in rule.examples_no_match)
        payloads["unmatched"].extend(SCHEMA.load(p) for p in unmatched_payloads(100))
    return rules, payloads


def render(engine: Engine, fact, found, lang: str = "en") -> dict:
    """What Engine.diagnose returns, for matches found another way (scored and rendered
    by the same score and explain stages)."""
    return engine.answer(fact, engine.scorer.rank(found, fact), {}, lang)


def contenders(rules):
    engine = Engine(rules, "bench")
    linear = LinearScan(rules)
    started = time.perf_counter()
    table = ZenTable(rules)
    zen_build = time.perf_counter() - started
    by_id = {rule.id: rule for rule in rules}

    def opsdiag(payload):
        return engine.diagnose(payload)

    def scan(payload):
        fact = normalize(payload)
        return render(engine, fact, linear.match(fact))

    def zen(payload):
        fact = normalize(payload)
        top = table.top(fact)
        return render(engine, fact, [by_id[top]] if top else [])

    return engine, linear, table, zen_build, {"opsdiag": opsdiag, "linear scan": scan, "zen-engine": zen}


ZEN_SAMPLE = 120  # ZEN compiles every regex on every call: it gets every k-th payload


def check_same_answers(engine, linear, table, payloads, zen_step: int) -> tuple[int, int]:
    """The same ranked matches from the engine and the scan on every payload, the same top
    answer from ZEN on every zen_step-th. (payloads checked, of which by ZEN too);
    raises on a difference."""
    checked = by_zen = 0
    for kind, items in payloads.items():
        for payload in items:
            fact = normalize(payload)
            ranked, _raw = engine.rank(fact)
            ours = [s.rule.id for s in ranked]
            theirs = [r.id for r in linear.match(fact)]
            ask_zen = checked % zen_step == 0 and not any(s.against for s in ranked)
            top = table.top(fact) if ask_zen else ours[0] if ours else None
            by_zen += ask_zen
            if ours != theirs or (ours[0] if ours else None) != top:
                raise AssertionError(f"{kind} payload answered differently: opsdiag {ours[:3]}, "
                                     f"linear {theirs[:3]}, zen {top}: {payload}")
            checked += 1
    return checked, by_zen


def run(total: int | None, seconds: float) -> dict:
    rules, payloads = rule_set(total)
    started = time.perf_counter()
    engine, linear, table, zen_build, fns = contenders(rules)
    compile_s = time.perf_counter() - started - zen_build
    keep_unmatched(payloads, engine, 100 if not total else 200)
    mix = [p for items in payloads.values() for p in items]
    step = max(1, len(mix) // ZEN_SAMPLE)
    checked, by_zen = check_same_answers(engine, linear, table, payloads, step)
    facts = [normalize(p) for p in mix]
    sample, sample_facts = mix[::step], facts[::step]

    rates = rates_interleaved({
        name: ((lambda fn=fn, items=items: [fn(p) for p in items]), len(items))
        for name, fn in fns.items() for items in [sample if name == "zen-engine" else mix]
    }, seconds * 3, repeats=3)
    inputs = [table.input_of(f) for f in sample_facts]
    match_rates = rates_interleaved({
        "opsdiag": (lambda: [engine.match(f) for f in facts], len(facts)),
        "linear scan": (lambda: [linear.match(f) for f in facts], len(facts)),
        "zen-engine": (lambda: [table.top(f) for f in sample_facts], len(sample_facts)),
        "zen-engine, evaluate call only": (lambda: [table.evaluate(d) for d in inputs], len(inputs)),
    }, seconds * 2, repeats=2)
    engine.close()
    vs_linear = rates["opsdiag"] / rates["linear scan"]
    vs_zen = rates["opsdiag"] / rates["zen-engine"]
    return {
        "rules": len(rules), "partitions": engine.partition_count, "zen_rows": table.row_count,
        "payloads": {k: len(v) for k, v in payloads.items()}, "checked_same_answers": checked,
        "checked_by_zen_too": by_zen, "zen_sample": len(sample),
        "compile_seconds": round(compile_s, 2), "zen_build_seconds": round(zen_build, 2),
        "diagnoses_per_second": {k: round(v) for k, v in rates.items()},
        "matches_per_second": {k: round(v) for k, v in match_rates.items()},
        "opsdiag_vs_linear": round(vs_linear, 2), "opsdiag_vs_zen": round(vs_zen, 2),
        "command": command("bench.engine", *(["--rules", str(total)] if total else [])),
    }


def targets(result: dict) -> list[tuple[str, str, bool | None]]:
    """Engine at 1,000 rules: >= 5x the linear scan, and faster than zen-engine."""
    if result["rules"] < 1000:
        return []
    return [
        ("engine at 1,000 rules >= 5x the linear scan", f"{result['opsdiag_vs_linear']}x",
         result["opsdiag_vs_linear"] >= 5),
        ("engine at 1,000 rules faster than zen-engine", f"{result['opsdiag_vs_zen']}x",
         result["opsdiag_vs_zen"] > 1),
    ]


def report(result: dict) -> str:
    lines = [f"{result['rules']} rules ({result['partitions']} partitions), payloads "
             + ", ".join(f"{k} {v}" for k, v in result["payloads"].items())
             + f"; same answers checked on {result['checked_same_answers']} payloads "
             f"(ZEN: every {result['checked_same_answers'] // max(1, result['checked_by_zen_too'])}th, "
             f"{result['checked_by_zen_too']} payloads; timed on {result['zen_sample']})"]
    base = result["diagnoses_per_second"]["opsdiag"]
    for name, value in result["diagnoses_per_second"].items():
        lines.append(f"  {name:32s} {value:>9,} diagnoses/s  {value / base:6.3f}x opsdiag")
    lines.append("  match only (normalized fact -> ranked answer):")
    for name, value in result["matches_per_second"].items():
        lines.append(f"  {name:32s} {value:>9,} /s")
    lines += verdict_lines(targets(result), "  ")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rules", type=int, default=None)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--json")
    args = parser.parse_args()
    result = run(args.rules, args.seconds)
    emit(result, report(result))


if __name__ == "__main__":
    main()
