"""2. Scaling: cost per diagnosis with 100, 1,000 and 10,000 rules.

    python -m bench.scaling [--sizes 100,1000,10000] [--json FILE]

The rule sets are the first N synthetic rules of bench/synth.py (kb_content's own
format, spread over platforms, regions and domains). The payloads are the same for
every size: the examples (match and near miss) of the first 100 rules and 100
payloads no rule answers; a larger rule set only adds rules that could apply to them.
At each size the engine's answers are checked against the linear scan. All sizes are
built first, then timed in rounds taken in turn (100, 1,000, 10,000, 100, ...), best
round of each kept, so that a change in the machine's load hits every size alike; the
linear scan is timed the same way, for contrast. Costs are compared with the cost at
the smallest size.
"""

import argparse
import gc
import time

from rules.engine import Engine
from rules.engine.normalize import normalize

from .common import SCHEMA, command, emit, rates_interleaved, rss_kib, verdict_lines
from .linear import LinearScan
from .synth import synthetic_rules, unmatched_payloads


def payloads() -> list[dict]:
    out = []
    for rule in synthetic_rules(100):
        out.extend(SCHEMA.load(e) for e in rule.examples_match)
        out.extend(SCHEMA.load(e) for e in rule.examples_no_match)
    out.extend(SCHEMA.load(p) for p in unmatched_payloads(100))
    return out


def build(size: int, mix: list[dict]) -> dict:
    """Load and compile one size, and check its answers against the linear scan."""
    started = time.perf_counter()
    rules = synthetic_rules(size)
    loaded = time.perf_counter()
    before = rss_kib()
    engine = Engine(rules, f"synthetic-{size}")
    compiled = time.perf_counter()
    linear = LinearScan(rules)
    facts = [normalize(p) for p in mix]
    matched = 0
    for payload, fact in zip(mix, facts, strict=True):
        ours, theirs = engine.match(fact), linear.match(fact)
        if [r.id for r in ours] != [r.id for r in theirs]:
            raise AssertionError(f"{size} rules: opsdiag {[r.id for r in ours]} != linear "
                                 f"{[r.id for r in theirs]} for {payload}")
        matched += bool(ours)
    return {
        "engine": engine, "linear": linear, "facts": facts,
        "row": {"rules": size, "partitions": engine.partition_count, "rulesets": len(engine.matcher._handles),
                "load_seconds": round(loaded - started, 1), "compile_seconds": round(compiled - loaded, 1),
                "engine_rss_mib": round((rss_kib() - before) / 1024), "payloads": len(mix), "matched": matched},
    }


def run(sizes: list[int], seconds: float) -> dict:
    """Every size is built first; then their timing rounds are taken in turn."""
    mix = payloads()
    built = [build(size, mix) for size in sizes]
    diag = rates_interleaved({
        str(b["row"]["rules"]): ((lambda e=b["engine"]: [e.diagnose(p) for p in mix]), len(mix)) for b in built
    }, seconds * len(built), repeats=15)
    scan = rates_interleaved({
        str(b["row"]["rules"]): ((lambda lin=b["linear"], fs=b["facts"]: [lin.match(f) for f in fs]), len(mix))
        for b in built
    }, seconds, repeats=2)
    rows = []
    for b in built:
        row = b["row"]
        row["us_per_diagnosis"] = round(1e6 / diag[str(row["rules"])], 1)
        row["linear_us_per_match"] = round(1e6 / scan[str(row["rules"])], 1)
        rows.append(row)
        b["engine"].close()
    gc.collect()
    base = rows[0]["us_per_diagnosis"]
    for row in rows:
        row["vs_smallest"] = round(row["us_per_diagnosis"] / base, 2)
    return {"rows": rows, "command": command("bench.scaling", "--sizes", ",".join(map(str, sizes)))}


def targets(result: dict) -> list[tuple[str, str, bool | None]]:
    rows = {row["rules"]: row for row in result["rows"]}
    if 100 not in rows or 10000 not in rows:
        return []
    ratio = round(rows[10000]["us_per_diagnosis"] / rows[100]["us_per_diagnosis"], 2)
    return [("cost per diagnosis at 10,000 rules <= 1.5x the cost at 100", f"{ratio}x", ratio <= 1.5)]


def report(result: dict) -> str:
    lines = ["| rules | partitions | durable rulesets | load s | compile s | engine RSS MiB | µs / diagnosis "
             "| vs smallest | linear scan µs / match |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in result["rows"]:
        lines.append(f"| {r['rules']:,} | {r['partitions']} | {r['rulesets']} | {r['load_seconds']} "
                     f"| {r['compile_seconds']} | {r['engine_rss_mib']:,} | {r['us_per_diagnosis']} "
                     f"| {r['vs_smallest']}x | {r['linear_us_per_match']:,} |")
    r0 = result["rows"][0]
    lines.append(f"\n{r0['payloads']} payloads at every size, {r0['matched']} of them answered by a rule.")
    lines += verdict_lines(targets(result))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--json")
    args = parser.parse_args()
    result = run([int(s) for s in args.sizes.split(",")], args.seconds)
    emit(result, report(result))


if __name__ == "__main__":
    main()
