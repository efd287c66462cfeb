"""7. The ops errors board: report size, time to first render and filter time, 10k to 1M rows.

    python -m bench.board [--sizes 10000,100000,1000000] [--workers N] [--json FILE]

For each size, `opsdiag batch <generated.csv> --summary report.html` (the CSV of
bench/batch.py) writes the report; Debian's chromium, headless and driven by playwright
(as the browser tests do), opens it from disk. Time to first render is board.js's own
mark: `performance.now()` when the board has first been drawn (data-render-ms), that
is from the start of navigation, parsing 1 to 15 MB of HTML included. Filter time is
board.js's `data-filter-ms` (one pass over the rows, the counts, the chart and the row
list redrawn) for each of: retried 3 times or more, the top shop, the top cause, a free
text, a one-day time range, then all of them at once; the figure is the slowest. Targets
(issue 15): a 1,000,000-row report opens in under 3 s and filters in under 200 ms.
"""

import argparse
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from .batch import generated_csv
from .common import BIN, ROOT, command, emit, verdict_lines

FILTERS = (  # (label, {control: value}); None: the first real option of that select
    ("retried 3+", {"#f-retries": "3+"}),
    ("top shop", {"#f-shop": None}),
    ("top cause", {"#f-category": None}),
    ("free text", {"#f-q": "token"}),
    ("one day", {"#f-from": "2025-06-10T00:00", "#f-to": "2025-06-10T23:59"}),
)


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def measure(page, report: Path) -> dict:
    page.goto(report.as_uri())
    page.wait_for_selector("#board[data-ready=true]", timeout=120_000)
    rendered = float(page.get_attribute("#board", "data-render-ms"))
    filters = {}
    for label, controls in FILTERS:
        for control, value in controls.items():
            if control.startswith("#f-q") or control.startswith("#f-from") or control.startswith("#f-to"):
                page.fill(control, value)
            elif value is None:
                page.select_option(control, index=1)
            else:
                page.select_option(control, value)
        filters[label] = float(page.get_attribute("#board", "data-filter-ms"))
        if label != FILTERS[-1][0]:
            page.click("#f-clear")
    filters["all at once"] = float(page.get_attribute("#board", "data-filter-ms"))
    return {"render_ms": round(rendered), "filter_ms": filters, "filter_max_ms": max(filters.values()),
            "rows_shown": int(page.get_attribute("#board-count", "data-rows"))}


def run(sizes: list[int], workers: int) -> dict:
    browser_path = chromium()
    if browser_path is None:
        return {"available": False, "reason": "chromium is not installed (`make browser`)",
                "command": command("bench.board")}
    from playwright.sync_api import sync_playwright

    results = []
    with tempfile.TemporaryDirectory(prefix="opsdiag-bench-board-") as tmp, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=browser_path, args=["--disable-gpu"])
        try:
            for rows in sizes:
                source = generated_csv(rows)
                report = Path(tmp) / f"report-{rows}.html"
                started = time.perf_counter()
                done = subprocess.run([str(BIN / "opsdiag"), "batch", str(source), "-o", str(Path(tmp) / "out.csv"),
                                       "--summary", str(report), "--dir", str(ROOT / "kb_content"), "--workers",
                                       str(workers), "--no-progress", "--quiet"], cwd=ROOT, capture_output=True,
                                      text=True)
                if done.returncode not in (0, 3):
                    raise RuntimeError(f"opsdiag batch failed ({done.returncode}): {done.stderr[-2000:]}")
                batch_seconds = time.perf_counter() - started
                page = browser.new_page()
                figures = measure(page, report)
                page.close()
                results.append({"rows": rows, "report_bytes": report.stat().st_size,
                                "batch_seconds": round(batch_seconds, 1), **figures})
        finally:
            browser.close()
    return {"available": True, "workers": workers, "sizes": results,
            "command": command("bench.board", "--sizes", ",".join(map(str, sizes)), "--workers", str(workers))}


def targets(result: dict) -> list[tuple[str, str, bool | None]]:
    if not result.get("available"):
        return [("board opens < 3 s, filters < 200 ms at 1M rows", "not available", None)]
    largest = max(result["sizes"], key=lambda s: s["rows"])
    n = f"{largest['rows']:,} rows"
    return [(f"board opens < 3 s ({n})", f"{largest['render_ms']:,} ms", largest["render_ms"] < 3000),
            (f"board filters < 200 ms ({n})", f"{largest['filter_max_ms']:.0f} ms", largest["filter_max_ms"] < 200)]


def report(result: dict) -> str:
    if not result.get("available"):
        return f"not available: {result['reason']}"
    lines = ["| rows | report | batch with --summary | first render | slowest filter | filters (ms) |",
             "|---|---|---|---|---|---|"]
    for s in result["sizes"]:
        each = ", ".join(f"{k} {v:.0f}" for k, v in s["filter_ms"].items())
        lines.append(f"| {s['rows']:,} | {s['report_bytes'] / 1e6:.1f} MB | {s['batch_seconds']} s | "
                     f"{s['render_ms']:,} ms | {s['filter_max_ms']:.0f} ms | {each} |")
    lines += ["", *verdict_lines(targets(result))]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--json")
    args = parser.parse_args()
    result = run([int(n) for n in args.sizes.split(",")], args.workers)
    emit(result, report(result))


if __name__ == "__main__":
    main()
