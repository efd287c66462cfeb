"""Batch runs scale out without changing a byte of the answer, and stream in flat memory."""

import csv
import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from service.batch import generate
from service.batch.kb import resolve
from service.batch.report import render_text
from service.batch.run import diagnose_file
from service.cli import main
from tests.conftest import KB_DIR, ROOT


@pytest.fixture(scope="module")
def kb():
    return resolve(None, KB_DIR)


@pytest.fixture(scope="module")
def log(tmp_path_factory):
    return generate.write_csv(tmp_path_factory.mktemp("batch") / "errors.csv", 6000, seed=9)


def summary_text(run) -> str:
    """The terminal summary without the line that holds timings and the worker count."""
    return "\n".join(line for i, line in enumerate(render_text(run).splitlines()) if i != 1)


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_two_workers_give_the_same_output_as_one(tmp_path, kb, log, fmt):
    one = diagnose_file(log, tmp_path / f"one.{fmt}", kb=kb, workers=1, chunk_size=500)
    two = diagnose_file(log, tmp_path / f"two.{fmt}", kb=kb, workers=2, chunk_size=500)
    assert (one.workers, two.workers) == (1, 2)
    assert (tmp_path / f"one.{fmt}").read_bytes() == (tmp_path / f"two.{fmt}").read_bytes()
    assert two.diagnosed == 6000
    assert summary_text(one) == summary_text(two)


def test_a_dask_cluster_gives_the_same_output_as_the_local_run(tmp_path, kb, log):
    distributed = pytest.importorskip("distributed")
    local = diagnose_file(log, tmp_path / "local.csv", kb=kb, workers=1, chunk_size=1000)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster:
        remote = diagnose_file(log, tmp_path / "dask.csv", kb=kb, dask=cluster.scheduler_address, chunk_size=1000)
        command = CliRunner().invoke(main, ["batch", str(log), "-o", str(tmp_path / "cli.csv"), "--dir", str(KB_DIR),
                                            "--dask", cluster.scheduler_address, "--quiet"])
    assert (tmp_path / "local.csv").read_bytes() == (tmp_path / "dask.csv").read_bytes()
    assert summary_text(local) == summary_text(remote)
    assert remote.diagnosed == 6000
    assert command.exit_code == 0, command.output
    assert (tmp_path / "cli.csv").read_bytes() == (tmp_path / "local.csv").read_bytes()


# Peak RSS of the child itself: VmHWM starts afresh at exec, while ru_maxrss would also
# count the pages of the (large) pytest process the child was forked from.
PEAK = """
import json, re, resource, sys
from pathlib import Path
from service.batch.run import diagnose_file
run = diagnose_file(sys.argv[1], sys.argv[2], workers=1, kb_dir=sys.argv[3])
status = Path("/proc/self/status")
found = re.search(r"VmHWM:\\s+(\\d+) kB", status.read_text()) if status.exists() else None
peak = int(found.group(1)) if found else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"rows": run.diagnosed, "maxrss_kib": peak}))
"""


def peak(path, out):
    done = subprocess.run([sys.executable, "-c", PEAK, str(path), str(out), str(KB_DIR)], cwd=ROOT,
                          capture_output=True, text=True, check=True, timeout=300)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_memory_stays_flat_as_the_file_grows(tmp_path):
    """Peak RSS of a 200,000-row run is that of a 20,000-row run, give or take the
    bounded caches (memo, summary keys); a run that kept rows would need hundreds of MB."""
    big = generate.write_csv(tmp_path / "big.csv", 200_000, seed=2)
    small = tmp_path / "small.csv"
    with open(big, encoding="utf-8", newline="") as f, open(small, "w", encoding="utf-8", newline="") as g:
        writer = csv.writer(g, lineterminator="\r\n")  # rows, not lines: a cell may hold a newline
        for number, row in enumerate(csv.reader(f)):
            if number > 20_000:
                break
            writer.writerow(row)
    assert big.stat().st_size > 60_000_000
    small_run, big_run = peak(small, tmp_path / "small.out.csv"), peak(big, tmp_path / "big.out.csv")
    assert (small_run["rows"], big_run["rows"]) == (20_000, 200_000)
    growth_mib = (big_run["maxrss_kib"] - small_run["maxrss_kib"]) / 1024
    assert growth_mib < 40, f"peak RSS grew by {growth_mib:.0f} MiB for 10x the rows"
    assert big_run["maxrss_kib"] / 1024 < 500
