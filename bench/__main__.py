"""`make bench`: every benchmark, each in its own process, then bench/RESULTS.md.

    python -m bench [--quick]

--quick shortens every run (for trying the suite out; RESULTS.md says so).
"""

import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import batch, board, check, engine, hostile, http, memory, profile, scaling, wsgi
from .common import PY, ROOT, git_revision, machine, verdict

RESULTS = Path(__file__).with_name("RESULTS.md")


def steps(quick: bool) -> list[tuple[str, str, object, list[str]]]:
    """(section title, module, its python module, arguments)."""
    return [
        ("Where the time of a diagnosis goes", "bench.profile", profile, []),
        ("Where the time of a request goes", "bench.wsgi", wsgi, []),
        ("1. Engine, full knowledge base", "bench.engine", engine, ["--seconds", "1" if quick else "3"]),
        ("1. Engine, knowledge base + synthetic rules = 1,000 rules", "bench.engine", engine,
         ["--rules", "1000", "--seconds", "1" if quick else "3"]),
        ("2. Scaling", "bench.scaling", scaling,
         ["--sizes", "100,1000" if quick else "100,1000,10000", "--seconds", "1" if quick else "3"]),
        ("3. HTTP", "bench.http", http, ["--seconds", "3" if quick else "20"]),
        ("4. Memory", "bench.memory", memory, ["--diagnoses", "20000" if quick else "1000000"]),
        ("5. Batch", "bench.batch", batch, ["--rows", "20000" if quick else "1000000"]),
        ("6. Hostile input", "bench.hostile", hostile, ["--examples", "30" if quick else "150"]),
        ("7. Request check", "bench.check", check, ["--seconds", "1" if quick else "3"]),
        ("8. Errors board", "bench.board", board, ["--sizes", "10000,100000" if quick else "10000,100000,1000000"]),
    ]


def main() -> None:
    quick = "--quick" in sys.argv
    started_at = dt.datetime.now(dt.UTC)
    info = machine()
    began = time.perf_counter()
    sections = []
    with tempfile.TemporaryDirectory(prefix="opsdiag-bench-") as tmp:
        for n, (title, module, mod, args) in enumerate(steps(quick)):
            out = Path(tmp) / f"{n}.json"
            print(f"\n=== {title}: python -m {module} {' '.join(args)}", flush=True)
            t0 = time.perf_counter()
            done = subprocess.run([PY, "-m", module, *args, "--json", str(out)], cwd=ROOT,
                                  stderr=subprocess.PIPE, text=True)
            seconds = time.perf_counter() - t0
            if done.returncode == 0 and out.exists():
                result = json.loads(out.read_text())
                sections.append((title, mod, result, None, seconds))
            else:
                sys.stderr.write(done.stderr[-3000:])
                sections.append((title, mod, None, done.stderr.strip().splitlines()[-1:] or ["failed"], seconds))
    total = time.perf_counter() - began
    RESULTS.write_text(render(started_at, info, sections, total, quick), encoding="utf-8")
    print(f"\n{RESULTS.relative_to(ROOT)} written ({total / 60:.1f} min)")


def render(started_at, info, sections, total, quick) -> str:
    load_end = [round(x, 2) for x in os.getloadavg()]
    lines = [
        "# Benchmark results",
        "",
        "Written by `make bench` (`python -m bench`); do not edit by hand. How each figure is",
        "measured, and what the targets mean: docs/performance.md and the",
        "docstring of each `bench/*.py`.",
        "",
        f"- date: {started_at:%Y-%m-%d %H:%M} UTC; whole run {total / 60:.1f} min"
        + ("; **--quick run: shortened, not the real figures**" if quick else ""),
        f"- machine: {info['cpu']}, {info['cores']} cores, {info['memory_gib']} GiB, Linux {info['kernel']}, "
        f"Python {info['python']}",
        f"- interpreter: {info['interpreter']} (production's python:3.11-slim is a PGO+LTO build; see the "
        "docs/performance.md on why the interpreter matters)",
        f"- load average at start {info['load_at_start']}, at end {load_end} (other processes share this "
        "machine; every figure is a ratio against a baseline measured in the same run)",
        f"- code: {git_revision()}",
        "",
        "## Targets",
        "",
        "| target | figure | verdict |",
        "|---|---|---|",
    ]
    for _, mod, result, _error, _ in sections:
        if result is None:
            continue
        for name, figure, ok in mod.targets(result) if hasattr(mod, "targets") else []:
            lines.append(f"| {name} | {figure} | {verdict(ok)} |")
    for title, mod, result, error, seconds in sections:
        lines += ["", f"## {title}", ""]
        if result is None:
            lines += [f"failed after {seconds:.0f} s: {' '.join(error)}"]
            continue
        lines += ["```", result["command"], "```", "", mod.report(result), "", f"({seconds:.0f} s)"]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
