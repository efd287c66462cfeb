"""The streaming driver of a batch run: read chunks, diagnose them somewhere, write in order.

The driver reads the input in chunks of records, hands each chunk to a worker, and
writes the workers' output text and merges their summaries in input order. At most a
few chunks per worker are in flight, so memory stays flat whatever the file size.
Workers are: the driver itself (--workers 1, or a file of a single chunk), a pool of
processes (each compiles its own Engine from the KB snapshot), or
the workers of a Dask distributed cluster (--dask), which get the snapshot once.

`diagnose_file` is the entry point for the command and for the benchmark.

A run never leaves an output that looks complete when it is not: rows go to
`OUTPUT.partial`, renamed to OUTPUT once the last row is written. When `stop` is set (the
command sets it on SIGTERM or SIGINT) the run stops after the chunk being written,
lets the workers go, and raises Interrupted; `OUTPUT.partial` then ends on a complete
row and `OUTPUT.partial.progress` says how many input records it covers, so that
`resume=True` carries on from there.
"""

import csv
import io
import json
import os
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_all_start_methods, get_context
from pathlib import Path
from typing import Any, BinaryIO

from rules.engine import Engine
from rules.kb.loader import DEFAULT_KB_DIR

from . import worker
from .board import Board, columns_of
from .kb import KbSnapshot, resolve
from .readers import InputFile
from .summary import Summary
from .worker import DIAG_FIELDS, PROJECTION, ChunkResult, Job, Reject, Worker

CHUNK_SIZE = 2000
MAX_REJECTS_KEPT = 1000
OUT_FORMATS = ("csv", "jsonl")
BOM = "\ufeff"


class Interrupted(Exception):
    """The run was stopped; its output so far is in `partial`, covering `records` input records."""

    def __init__(self, run: "RunResult", partial: str | None, records: int):
        super().__init__(f"interrupted after {records:,} records")
        self.run, self.partial, self.records = run, partial, records


class ResumeError(Exception):
    """--resume was asked but there is nothing to resume from, or not for this input."""


@dataclass
class RunResult:
    input: str
    output: str | None
    kind: str
    encoding: str
    out_format: str
    kb_version: str
    kb_source: str
    workers: int  # processes (or Dask threads) that diagnosed
    diagnosed: int = 0
    rejected: int = 0
    seconds: float = 0.0
    summary: Summary = field(default_factory=Summary)
    rejects: list[Reject] = field(default_factory=list)  # the first MAX_REJECTS_KEPT
    memo_hits: int = 0
    memo_misses: int = 0
    board: Board | None = None  # with board=True: the ops errors board's data (board.py)

    @property
    def rows(self) -> int:
        return self.diagnosed + self.rejected

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def default_workers() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def output_format(output: str | Path | None, given: str | None) -> str:
    if given:
        return given
    return "jsonl" if output and str(output).lower().endswith((".jsonl", ".ndjson")) else "csv"


def _diag_names(taken: set[str]) -> tuple[str, ...]:
    """The added columns, renamed opsdiag_<name> where the input already has that column."""
    return tuple(f"opsdiag_{n}" if n in taken else n for n in DIAG_FIELDS)


def _start_method() -> str:
    """fork when it is safe (one thread: nothing can hold a lock across the fork), as it
    starts at once and needs no `if __name__ == "__main__"` in the caller's script;
    else spawn. Either way each worker compiles its own engine."""
    if "fork" in get_all_start_methods() and threading.active_count() == 1:
        return "fork"
    return "spawn"


def _pool(snapshot: KbSnapshot, job: Job, chunks: Iterator[list], processes: int) -> Iterator[ChunkResult]:
    context = get_context(_start_method())
    with ProcessPoolExecutor(processes, mp_context=context, initializer=worker.init_process,
                             initargs=(snapshot, job)) as pool:
        pending: deque = deque()
        try:
            for chunk in chunks:
                pending.append(pool.submit(worker.process_in_pool, chunk))
                if len(pending) > 2 * processes:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()


def _dask(address: Any, snapshot: KbSnapshot, job: Job, chunks: Iterator[list]) -> Iterator[ChunkResult]:
    try:
        from distributed import Client
    except ImportError as exc:  # pragma: no cover - the dask extra is not installed
        raise ImportError("--dask needs the dask extra: pip install 'opsdiag[dask]'") from exc
    own = not isinstance(address, Client)
    client = Client(address) if own else address
    try:
        kb = client.scatter(snapshot, broadcast=True, hash=False)
        window = 2 * max(1, sum(client.nthreads().values()))
        pending: deque = deque()
        for index, chunk in enumerate(chunks):
            pending.append(client.submit(worker.process_anywhere, kb, job, chunk, pure=False,
                                         key=f"opsdiag-batch-{job.run_id}-{index}"))
            if len(pending) > window:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        if own:
            client.close()


def _in_process(engine: Engine, job: Job, chunks: Iterator[list]) -> Iterator[ChunkResult]:
    local = Worker(engine, job)
    for chunk in chunks:
        yield local.process(chunk)


PARTIAL, PROGRESS = ".partial", ".partial.progress"


def _input_identity(path: Path) -> dict:
    stat = path.stat()
    return {"input": str(path.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _resume_point(output: str, path: Path) -> tuple[int, int]:
    """(input records already written, bytes of OUTPUT.partial that hold them)."""
    try:
        progress = json.loads(Path(output + PROGRESS).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ResumeError(f"nothing to resume: {output + PROGRESS} is missing or unreadable") from exc
    if {k: progress.get(k) for k in ("input", "size", "mtime_ns")} != _input_identity(path):
        raise ResumeError(f"{output + PROGRESS} was written for another input, or the input changed")
    return int(progress["records"]), int(progress["bytes"])


def _open_output(output: str | Path | None, resume_at: int | None) -> tuple[BinaryIO | None, bool]:
    if output is None:
        return None, False
    if str(output) == "-":
        sys.stdout.flush()
        return sys.stdout.buffer, False
    if resume_at is None:
        return open(str(output) + PARTIAL, "wb"), True  # noqa: SIM115
    stream = open(str(output) + PARTIAL, "r+b")  # noqa: SIM115
    stream.truncate(resume_at)  # a row cut by a hard kill after the last progress mark goes
    stream.seek(resume_at)
    return stream, True


def _skip(records: Iterator[list], count: int) -> Iterator[list]:
    """The chunks of records after the first `count` records."""
    for chunk in records:
        if count >= len(chunk):
            count -= len(chunk)
            continue
        yield chunk[count:]
        count = 0


def diagnose_file(path: str | Path, output: str | Path | None = None, *, out_format: str | None = None,
                  lang: str = "en", workers: int | None = None, encoding: str | None = None,
                  input_format: str | None = None, dask: Any = None, kb: KbSnapshot | None = None,
                  kb_dir: str | Path | None = None, database_url: str | None = None,
                  chunk_size: int = CHUNK_SIZE, on_reject: Callable[[Reject], None] | None = None,
                  progress: Callable[[int, int, int], None] | None = None,
                  stop: threading.Event | None = None, resume: bool = False,
                  columns: dict[str, str] | None = None, board: bool = False,
                  engine: Engine | None = None) -> RunResult:
    """Diagnose every record of `path`, write the enriched rows to `output` (None: nowhere,
    "-": stdout) and return the counts and the summary.

    The knowledge base is `kb`, else the store at `database_url` if it answers and holds a
    version, else kb_content (`kb_dir`). InputError when the file cannot be read at all;
    Interrupted when `stop` was set; ResumeError when `resume` finds nothing to resume.
    With `resume` the summary counts the rows of this run only. `columns` names CSV
    columns the header does not (columns.py). `board` also collects the ops errors board
    (run.board), for the HTML summary and the console. `engine` diagnoses in this process
    with an engine already compiled (the service's own, for /console/board).
    """
    path = Path(path)
    to_file = output is not None and str(output) != "-"
    done, resume_at = _resume_point(str(output), path) if resume and to_file else (0, None)
    if resume and not to_file:
        raise ResumeError("--resume needs an output file")
    started = time.perf_counter()
    out_format = output_format(output, out_format)
    if out_format not in OUT_FORMATS:
        raise ValueError(f"output format must be one of {', '.join(OUT_FORMATS)}")
    snapshot = None if engine is not None else kb or resolve(database_url, kb_dir or DEFAULT_KB_DIR)
    workers = max(1, workers or default_workers())
    with InputFile(path, encoding, input_format, columns) as source:
        layout = source.layout
        taken = {n.strip().lower() for n in layout.header} if layout else set(PROJECTION)
        job = Job(source.kind, out_format, lang, source.encoding, layout, _diag_names(taken), uuid.uuid4().hex,
                  board)
        sizes: deque = deque()
        chunks = _measured(_skip(source.chunks(chunk_size), done) if done else source.chunks(chunk_size), sizes)
        first = next(chunks, None)
        second = next(chunks, None) if first is not None else None
        head = [c for c in (first, second) if c is not None]
        all_chunks = _chain(head, chunks)
        if engine is None and dask is not None:
            results, used = _dask(dask, snapshot, job, all_chunks), 0
        elif engine is not None or workers == 1 or second is None:
            results, used = _in_process(engine or worker.engine_for(snapshot), job, all_chunks), 1
        else:
            results, used = _pool(snapshot, job, all_chunks, workers), workers
        run = RunResult(str(path), None if output is None else str(output), source.kind, source.encoding,
                        out_format, snapshot.version if snapshot else engine.version,
                        snapshot.source if snapshot else "service", used)
        if board:
            run.board = Board()
            run.board.columns, run.board.roles, run.board.plain = columns_of(layout, PROJECTION)
        stream, close = _open_output(output, resume_at)
        records = done
        try:
            if stream is not None and resume_at is None:
                _write_header(stream, job)
                stream.flush()  # before any worker is forked
            for result in results:
                if stream is not None:
                    stream.write(result.data)
                records += sizes.popleft()
                if close:
                    _mark_progress(stream, str(output), path, records)
                run.summary.merge(result.summary)
                if run.board is not None:
                    run.board.merge(result.board)
                run.diagnosed += result.diagnosed
                run.rejected += len(result.rejects)
                run.memo_hits += result.hits
                run.memo_misses += result.misses
                for reject in result.rejects:
                    if len(run.rejects) < MAX_REJECTS_KEPT:
                        run.rejects.append(reject)
                    if on_reject is not None:
                        on_reject(reject)
                if progress is not None:
                    progress(source.position, source.size, run.rows)
                if stop is not None and stop.is_set():
                    results.close()  # cancels what is queued, lets the workers go
                    raise Interrupted(run, str(output) + PARTIAL if close else None, records)
        finally:
            if close:
                stream.close()
            elif stream is not None:
                stream.flush()
        if close:
            os.replace(str(output) + PARTIAL, output)  # complete: only now under its own name
            Path(str(output) + PROGRESS).unlink(missing_ok=True)
        if dask is not None:
            run.workers = 0  # a cluster: see its dashboard
    run.seconds = time.perf_counter() - started
    return run


def _measured(chunks: Iterator[list], sizes: deque) -> Iterator[list]:
    """The chunks, each one's record count noted as it goes out (results come back in order)."""
    for chunk in chunks:
        sizes.append(len(chunk))
        yield chunk


def _mark_progress(stream: BinaryIO, output: str, path: Path, records: int) -> None:
    """After each chunk: the partial output is flushed, then the mark says what it covers."""
    stream.flush()
    mark = {**_input_identity(path), "records": records, "bytes": stream.tell()}
    temporary = output + PROGRESS + ".tmp"
    Path(temporary).write_text(json.dumps(mark), encoding="utf-8")
    os.replace(temporary, output + PROGRESS)


def _chain(head: list, rest: Iterator) -> Iterator:
    yield from head
    yield from rest


def _write_header(stream: BinaryIO, job: Job) -> None:
    if job.out_format != "csv":
        return
    text = io.StringIO()
    columns = list(job.layout.header) if job.layout else list(PROJECTION)
    csv.writer(text, lineterminator="\r\n").writerow([*columns, *job.diag_names])
    stream.write((BOM + text.getvalue()).encode("utf-8", "replace"))  # Excel reads UTF-8 only with the BOM
