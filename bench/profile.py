"""Where the time of one diagnosis goes, stage by stage, and a pyinstrument profile.

    python -m bench.profile [--json FILE]

Stages, timed separately over the knowledge base's payload mix (best of 5 rounds):
normalize (rules/engine/normalize.py), gates and extraction (match.prepare: the gate
lookups, the RE2 sets, the slots the candidate rules read), the fact's JSON, durable-
rules (assert, the fired rules' actions, retract), and rendering (the ranked
explanations). The pyinstrument call tree of Engine.diagnose goes to
bench/profile.txt.
"""

import json
from pathlib import Path

from rules.engine import Engine, match
from rules.engine.match import _fire
from rules.engine.normalize import normalize

from .common import command, emit, kb_payloads, kb_rules, rate


def run() -> dict:
    rules = kb_rules()
    mix = [p for items in kb_payloads(rules).values() for p in items]
    engine = Engine(rules, "profile")
    facts = [normalize(p) for p in mix]
    parts = [engine.layout.lookup(f.platform, f.region, f.domain) for f in facts]
    prepared = [match.prepare(p, f)[0] for p, f in zip(parts, facts, strict=True)]
    jobs = [(engine.matcher._handles[p.ruleset], json.dumps(ef, ensure_ascii=False))
            for p, ef in zip(parts, prepared, strict=True) if ef]
    matched = [engine.rank(f) for f in facts]

    def render():
        for fact, (ranked, raw) in zip(facts, matched, strict=True):
            engine.answer(fact, ranked, raw, "en")

    n = len(mix)
    whole = rate(lambda: [engine.diagnose(p) for p in mix], n)
    stages = {
        "normalize": rate(lambda: [normalize(p) for p in mix], n),
        "gates and extraction": rate(lambda: [match.prepare(p, f) for p, f in zip(parts, facts, strict=True)], n),
        "fact as JSON": rate(lambda: [json.dumps(x, ensure_ascii=False) for x in prepared if x], n),
        "durable-rules": rate(lambda: [_fire(h, t) for h, t in jobs], n),
        "match (all of the above but normalize)": rate(lambda: [engine.match(f) for f in facts], n),
        "rendering the ranked explanations": rate(render, n),
    }
    us = {name: round(1e6 / value, 1) for name, value in stages.items()}
    us["whole diagnosis"] = round(1e6 / whole, 1)
    us["of which not in a stage timed alone"] = round(
        us["whole diagnosis"] - us["normalize"] - us["match (all of the above but normalize)"]
        - us["rendering the ranked explanations"], 1)
    tree = ""
    try:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0002)
        profiler.start()
        for _ in range(10):
            for p in mix:
                engine.diagnose(p)
        profiler.stop()
        tree = profiler.output_text(unicode=False, color=False)
        Path(__file__).with_name("profile.txt").write_text(tree)
    except ImportError:
        tree = "(pyinstrument is not installed: make bench installs it)"
    engine.close()
    return {"payloads": n, "reached_durable": len(jobs), "us_per_payload": us,
            "command": command("bench.profile")}


def report(result: dict) -> str:
    whole = result["us_per_payload"]["whole diagnosis"]
    lines = ["| stage | µs per payload | share |", "|---|---:|---:|"]
    for name, value in result["us_per_payload"].items():
        lines.append(f"| {name} | {value} | {value / whole:.0%} |")
    lines.append(f"\n{result['payloads']} payloads, {result['reached_durable']} of them reach durable-rules "
                 "(the others have no candidate rule). Each stage is timed alone, over the whole mix, with its "
                 "data warm in the CPU caches; the last row is what the stages cost more when they run one after "
                 "the other for each payload (presumably cache misses: not measured) - match itself also costs "
                 "more than its stages timed alone. Call tree: bench/profile.txt.")
    return "\n".join(lines)


def main() -> None:
    result = run()
    emit(result, report(result))


if __name__ == "__main__":
    main()
