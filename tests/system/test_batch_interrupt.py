"""Probe item 9: SIGTERM during `opsdiag batch` left a partial output that looked complete
(once cut mid-row), no message, exit 143, and the pool's workers running. Now: the run
stops after the chunk being written, says where, leaves OUTPUT.partial ending on a whole
row, lets its workers go, and `--resume` finishes the job as an uninterrupted run would."""

import signal
import subprocess
import sys
import time

from service.batch import generate
from tests.conftest import KB_DIR
from tests.system.test_faults import children

OPSDIAG = [sys.executable, "-c", "from service.cli import main; main()"]


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def batch(*args, **kwargs):
    return subprocess.Popen([*OPSDIAG, "batch", *map(str, args), "--dir", str(KB_DIR), "--quiet"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def test_sigterm_stops_cleanly_and_resume_finishes_the_run(tmp_path):
    source = generate.write_csv(tmp_path / "errors.csv", 60_000, seed=2)
    out = tmp_path / "out.csv"
    run = batch(source, "-o", out, "--workers", "2", "--chunk-size", "500")
    partial = tmp_path / "out.csv.partial"
    deadline = time.monotonic() + 60
    while (not partial.exists() or partial.stat().st_size < 200_000) and time.monotonic() < deadline:
        time.sleep(0.05)
    workers = children(run.pid)
    assert workers, "the pool is running"
    run.send_signal(signal.SIGTERM)
    _stdout, stderr = run.communicate(timeout=60)
    assert run.returncode == 128 + signal.SIGTERM, stderr
    assert "interrupted at record" in stderr and "--resume" in stderr and "Traceback" not in stderr
    assert not out.exists(), "nothing under the output's own name until it is complete"
    assert partial.read_bytes().endswith(b"\r\n"), "the partial output ends on a whole row"
    time.sleep(0.5)
    assert not [pid for pid in workers if alive(pid)], "no worker outlives the run"

    resumed = batch(source, "-o", out, "--workers", "2", "--chunk-size", "500", "--resume")
    _stdout, stderr = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, stderr
    assert out.exists() and not partial.exists()

    whole = tmp_path / "whole.csv"
    straight = batch(source, "-o", whole, "--workers", "1")
    straight.communicate(timeout=120)
    assert out.read_bytes() == whole.read_bytes(), "interrupted and resumed = one uninterrupted run"


def test_resume_without_an_interrupted_run_is_a_clear_error(tmp_path):
    source = generate.write_csv(tmp_path / "errors.csv", 10, seed=2)
    run = batch(source, "-o", tmp_path / "out.csv", "--resume")
    _stdout, stderr = run.communicate(timeout=60)
    assert run.returncode != 0 and "nothing to resume" in stderr and "Traceback" not in stderr
