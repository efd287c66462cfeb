"""What every benchmark shares: the payload mix, timing, the machine, the results file."""

import json
import os
import platform
import random
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from rules.engine.normalize import normalize
from rules.kb.loader import load_directory
from service.schemas import DiagnoseRequestSchema

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
BIN = Path(sys.executable).parent  # the virtualenv's scripts: opsdiag, gunicorn
SCHEMA = DiagnoseRequestSchema()


def command(module: str, *args: str) -> str:
    """How to rerun one figure by hand, as RESULTS.md prints it."""
    return " ".join([os.path.relpath(PY, ROOT), "-m", module, *args])


def kb_rules():
    return load_directory()[1]


def kb_payloads(rules, unmatched: int = 100, seed: int = 11) -> dict[str, list[dict]]:
    """The mix: every example a rule must answer, every near miss, and payloads nothing
    answers (examples with an unusual status and their code and message replaced by
    unknown ones; keep_unmatched drops those some rule still answers),
    each validated as POST /diagnose would."""
    match = [SCHEMA.load(e) for r in rules for e in r.examples_match]
    near = [SCHEMA.load(e) for r in rules for e in r.examples_no_match]
    rng = random.Random(seed)
    none = []
    for i in range(unmatched * 3):
        base = dict(rng.choice(match + near))
        base["status"] = rng.choice([200, 202, 207, 302, 418, 425, 451])
        base["body"] = {"code": f"ZZ{i:04d}", "message": f"opaque upstream condition {i}"}
        base.pop("headers", None)
        base.pop("context", None)
        none.append(SCHEMA.load(base))
    return {"match": match, "near_miss": near, "unmatched": none}


def keep_unmatched(payloads: dict[str, list[dict]], engine, count: int) -> None:
    """Keep only the candidate unmatched payloads that really match nothing."""
    payloads["unmatched"] = [p for p in payloads["unmatched"]
                             if not engine.match(normalize(p))][:count]


def rate(fn: Callable[[], object], items: int, seconds: float = 2.0, repeats: int = 5) -> float:
    """Calls per second of fn() (which handles `items` items), best of `repeats` rounds of
    about `seconds` / repeats each: the least disturbed round on a shared machine."""
    return rates_interleaved({"": (fn, items)}, seconds, repeats)[""]


def rates_interleaved(contenders: dict[str, tuple[Callable[[], object], int]], seconds: float = 2.0,
                      repeats: int = 5) -> dict[str, float]:
    """rate() for several contenders, their rounds taken in turn (A B C A B C ...) so that
    a change in the machine's load hits all of them alike. contenders: name -> (fn, items)."""
    best = dict.fromkeys(contenders, 0.0)
    for fn, _ in contenders.values():
        fn()  # warm caches
    for _ in range(repeats):
        for name, (fn, items) in contenders.items():
            best[name] = max(best[name], _one_round(fn, items, seconds / repeats))
    return best


def _one_round(fn: Callable[[], object], items: int, budget: float) -> float:
    """Items per second over as many calls of `fn` as fit in `budget` seconds (at least one)."""
    rounds, start = 0, time.perf_counter()
    while True:
        fn()
        rounds += 1
        elapsed = time.perf_counter() - start
        if elapsed >= budget:
            return rounds * items / elapsed


def rss_kib(pid: int | str = "self") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise LookupError("VmRSS")


def machine() -> dict:
    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = Path("/proc/meminfo").read_text().splitlines()[0].split()[1]
    load = os.getloadavg()
    return {
        "cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(int(mem) / 2**20, 1),
        "kernel": platform.release(), "python": platform.python_version(),
        "interpreter": f"{os.path.realpath(sys._base_executable)}, built {' '.join(platform.python_build()[1:])} "
                       f"with {platform.python_compiler()}",
        "load_at_start": [round(x, 2) for x in load],
    }


def git_revision() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "rules"], cwd=ROOT, capture_output=True,
                               text=True, check=True).stdout.strip()
        return out + (" + uncommitted changes in rules/" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "?"


def emit(result: dict, text: str) -> None:
    """Each bench module prints how to rerun it and its figures as text and, with --json
    FILE, writes them."""
    print(result["command"])
    print(text)
    if "--json" in sys.argv:
        path = sys.argv[sys.argv.index("--json") + 1]
        Path(path).write_text(json.dumps(result, indent=2, default=str))


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else "PASS" if ok else "MISS"


def verdict_lines(targets: list[tuple[str, str, bool | None]], indent: str = "") -> list[str]:
    """`PASS  name: figure`, one line per target, as every report ends."""
    return [f"{indent}{verdict(ok)}  {name}: {figure}" for name, figure, ok in targets]
