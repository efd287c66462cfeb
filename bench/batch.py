"""5. Batch: rows/s of `opsdiag batch` on a generated 1,000,000-row CSV, per core.

    python -m bench.batch [--rows 1000000] [--workers N] [--json FILE]

The CSV comes from the batch command's own generator (service/batch/generate.py):
its first 100,000 rows, repeated with fresh error ids up to the row count (the
generator writes about 6,000 rows/s here, too slow to make a million rows on every
run). The file is kept in the temp directory between runs, keyed by the row count
and the generator's and kb_content's contents. `opsdiag batch FILE -o OUT --dir
kb_content --workers N` is then timed from start to exit; rows/s per core is rows /
seconds / N. The batch command keeps its own memo of diagnoses (service/batch/
worker.py), and repeated errors hit it: that is part of what is measured. The
baseline, in the same run, is Engine.diagnose on one core over the knowledge base's
payload mix. If `opsdiag batch` is not installed, the figure is reported as not
available.
"""

import argparse
import csv
import hashlib
import os
import subprocess
import tempfile
import time
from pathlib import Path

from .common import BIN, ROOT, command, emit, kb_payloads, kb_rules, rate, verdict_lines

SEED_ROWS = 100_000


def available() -> str | None:
    """Why `opsdiag batch` cannot be benchmarked, or None."""
    try:
        from service.batch.generate import write_csv  # noqa: F401
    except ImportError as exc:
        return f"service.batch is not importable ({exc})"
    help_text = subprocess.run([str(BIN / "opsdiag"), "batch", "--help"], cwd=ROOT,
                               capture_output=True, text=True)
    if help_text.returncode != 0:
        return "`opsdiag batch` is not a command of this install"
    return None


def _fingerprint() -> str:
    digest = hashlib.sha256()
    for path in sorted([ROOT / "service/batch/generate.py", *(ROOT / "kb_content").rglob("*.yaml")]):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def generated_csv(rows: int) -> Path:
    from service.batch.generate import write_csv

    cache = Path(tempfile.gettempdir()) / "opsdiag-bench"
    cache.mkdir(exist_ok=True)
    target = cache / f"batch-{rows}-{_fingerprint()}.csv"
    if target.exists():
        return target
    seed = cache / f"seed-{min(rows, SEED_ROWS)}-{_fingerprint()}.csv"
    if not seed.exists():
        write_csv(seed, min(rows, SEED_ROWS))
    with open(seed, encoding="utf-8", newline="") as src:
        reader = csv.reader(src)
        header = next(reader)
        body = list(reader)
    partial = target.with_suffix(".partial")
    with open(partial, "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(header)
        for n in range(rows):
            row = list(body[n % len(body)])
            row[0] = f"BENCH{n:012d}"
            writer.writerow(row)
    partial.rename(target)
    return target


def run(rows: int, workers: int) -> dict:
    why_not = available()
    if why_not:
        return {"available": False, "reason": why_not, "command": command("bench.batch")}
    started = time.perf_counter()
    source = generated_csv(rows)
    prepared = time.perf_counter() - started
    with tempfile.TemporaryDirectory(prefix="opsdiag-bench-batch-") as tmp:
        output = Path(tmp) / "out.csv"
        args = [str(BIN / "opsdiag"), "batch", str(source), "-o", str(output), "--dir",
                str(ROOT / "kb_content"), "--workers", str(workers), "--no-progress"]
        started = time.perf_counter()
        done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True)
        seconds = time.perf_counter() - started
        if done.returncode not in (0, 3):  # 3: some lines were rejected
            raise RuntimeError(f"opsdiag batch failed ({done.returncode}): {done.stderr[-2000:]}")
        with open(output, encoding="utf-8-sig", newline="") as out:
            written = sum(1 for _ in out) - 1
        summary = (done.stdout + done.stderr).strip().splitlines()[:12]
    from rules.engine import Engine

    rules = kb_rules()
    mix = [p for items in kb_payloads(rules).values() for p in items]
    engine = Engine(rules, "bench")
    engine_rate = rate(lambda: [engine.diagnose(p) for p in mix], len(mix), 2.0)
    engine.close()
    per_core = rows / seconds / workers
    return {
        "available": True, "rows": rows, "rows_written": written, "workers": workers,
        "seconds": round(seconds, 1), "csv_prepare_seconds": round(prepared, 1),
        "rows_per_second": round(rows / seconds), "rows_per_second_per_core": round(per_core),
        "engine_diagnoses_per_second_one_core": round(engine_rate),
        "vs_engine": round(per_core / engine_rate, 2), "summary_head": summary,
        "command": command("bench.batch", "--rows", str(rows), "--workers", str(workers)),
        "batch_command": " ".join(["opsdiag", "batch", "<generated.csv>", "-o", "<out.csv>", "--dir", "kb_content",
                                   "--workers", str(workers), "--no-progress"]),
    }


def targets(result: dict) -> list[tuple[str, str, bool | None]]:
    if not result.get("available"):
        return [("batch >= 20,000 rows/s per core", "not available", None)]
    return [("batch >= 20,000 rows/s per core", f"{result['rows_per_second_per_core']:,}/s",
             result["rows_per_second_per_core"] >= 20_000)]


def report(result: dict) -> str:
    if not result.get("available"):
        return f"not available: {result['reason']}"
    lines = [f"{result['batch_command']}: {result['rows']:,} rows ({result['rows_written']:,} written) "
             f"in {result['seconds']} s with {result['workers']} worker(s) = {result['rows_per_second']:,} rows/s, "
             f"{result['rows_per_second_per_core']:,} rows/s per core",
             f"baseline, same run: Engine.diagnose on one core {result['engine_diagnoses_per_second_one_core']:,}/s; "
             f"batch per core = {result['vs_engine']}x that"]
    lines += verdict_lines(targets(result))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--json")
    args = parser.parse_args()
    result = run(args.rows, args.workers)
    emit(result, report(result))


if __name__ == "__main__":
    main()


