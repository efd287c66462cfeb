"""`opsdiag batch`: diagnose a whole exported error log."""

import csv
import signal
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import click

from rules.kb.loader import RuleSetError

from ..settings import current
from .columns import ColumnsError, parse_overrides
from .readers import FORMATS, InputError
from .report import render_text, write_html
from .run import OUT_FORMATS, Interrupted, ResumeError, diagnose_file, output_format

EXIT_REJECTED = 3  # the run finished, the output is written, but some lines were rejected
SHOWN_REJECTS = 20


def _default_output(path: Path, fmt: str) -> Path:
    return path.with_name(f"{path.stem}.diagnosed.{fmt}")


class _Progress:
    """A progress bar on a terminal (bytes read, rows, rows/s, ETA); nothing elsewhere."""

    def __init__(self, label: str, size: int):
        self.bar = click.progressbar(length=max(size, 1), label=label, file=sys.stderr, show_eta=True,
                                     show_percent=True, item_show_func=lambda item: item)
        self.bar.__enter__()
        self.started, self.done = time.monotonic(), 0

    def __call__(self, position: int, size: int, rows: int) -> None:
        rate = rows / max(time.monotonic() - self.started, 1e-6)
        label, step = f"{rows:,} rows, {rate:,.0f} rows/s", position - self.done
        if step > 0:
            self.bar.update(step, label)
            self.done = position
        else:  # the last chunks come back after the whole file was read
            self.bar.current_item = label
            self.bar.render_progress()

    def close(self) -> None:
        self.bar.__exit__(None, None, None)


@contextmanager
def _stop_on_signals():
    """SIGTERM and SIGINT set an event the run checks after each chunk; the signal's
    number is kept for the exit status (128 + signal, as a shell reports it)."""
    stop, received = threading.Event(), []

    def handler(signum, _frame):
        received.append(signum)
        stop.set()

    previous = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield stop, received
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


@click.command("batch")
@click.argument("input_path", metavar="INPUT", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--output", default=None,
              help="enriched rows (default INPUT.diagnosed.csv beside the input; - for stdout)")
@click.option("--format", "fmt", type=click.Choice(OUT_FORMATS), default=None,
              help="csv (UTF-8 with BOM, for Excel) or jsonl; default from the output's name, else csv")
@click.option("--summary", "summary_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="also write the summary as one self-contained HTML file")
@click.option("--lang", type=click.Choice(["en", "zh-CN"]), default="en", show_default=True)
@click.option("--workers", type=click.IntRange(min=1), default=None, help="worker processes (default: all cores)")
@click.option("--encoding", default=None, help="the input's encoding (default: detected)")
@click.option("--input-format", type=click.Choice(FORMATS), default=None,
              help="default: from the file name, else from its first characters")
@click.option("--dask", "dask_address", default=None, metavar="SCHEDULER_ADDRESS",
              help="diagnose on a Dask distributed cluster (its workers need opsdiag installed)")
@click.option("--dir", "kb_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="diagnose with the rules of this directory instead of the store")
@click.option("--rejects", "rejects_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="write every rejected line (line, fields, reason) to this CSV file")
@click.option("--progress/--no-progress", default=None, help="default: a progress bar when stderr is a terminal")
@click.option("--quiet", is_flag=True, help="no summary on the terminal")
@click.option("--resume", is_flag=True,
              help="carry on an interrupted run from its last complete row (OUTPUT.partial)")
@click.option("--columns", "columns_text", default=None, metavar="CANONICAL=HEADER,...",
              help="name CSV columns the header does not (e.g. shop_id=卖家账号,region=国家)")
@click.option("--chunk-size", type=click.IntRange(min=1), default=2000, hidden=True)
def batch(input_path, output, fmt, summary_path, lang, workers, encoding, input_format, dask_address, kb_dir,
          rejects_path, progress, quiet, resume, columns_text, chunk_size):
    """Diagnose every error of an exported log (CSV, JSONL or HAR).

    Writes each row with its category, owner, rule, title, first repair step and doc
    link, and prints a summary. Exit status 3 when some lines were rejected.
    """
    try:
        columns = parse_overrides(columns_text)
    except ColumnsError as exc:
        raise click.BadParameter(str(exc), param_hint="--columns") from exc
    fmt = output_format(output, fmt)
    if output is None:
        output = str(_default_output(input_path, fmt))
    to_stdout = output == "-"
    shown = 0
    rejects_file = open(rejects_path, "w", encoding="utf-8-sig", newline="") if rejects_path else None  # noqa: SIM115
    rejects_writer = csv.writer(rejects_file) if rejects_file else None
    if rejects_writer:
        rejects_writer.writerow(["line", "fields", "reason"])

    def on_reject(reject) -> None:
        nonlocal shown
        if rejects_writer:
            rejects_writer.writerow([reject.line, " ".join(reject.fields), reject.reason])
        if shown < SHOWN_REJECTS:
            click.echo(f"{input_path.name}:{reject}", err=True)
        shown += 1

    show_progress = sys.stderr.isatty() if progress is None else progress
    bar = _Progress(input_path.name, input_path.stat().st_size) if show_progress else None
    try:
        with _stop_on_signals() as (stop, received):
            run = diagnose_file(input_path, output, out_format=fmt, lang=lang, workers=workers, encoding=encoding,
                                input_format=input_format, dask=dask_address, kb_dir=kb_dir,
                                database_url=None if kb_dir else current().database_url, chunk_size=chunk_size,
                                on_reject=on_reject, progress=bar, stop=stop, resume=resume, columns=columns,
                                board=summary_path is not None)
    except Interrupted as exc:
        if bar:
            bar.close()
            bar = None
        where = (f"; {exc.partial} holds the rows before it: run the same command with --resume to go on"
                 if exc.partial else "")
        click.echo(f"opsdiag batch: interrupted at record {exc.records + 1:,} of {input_path.name}{where}", err=True)
        sys.exit(128 + (received[0] if received else signal.SIGTERM))
    except (InputError, RuleSetError, OSError, ImportError, ResumeError) as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        if bar:
            bar.close()
        if rejects_file:
            rejects_file.close()
    if shown > SHOWN_REJECTS:
        more = f"; all are in {rejects_path}" if rejects_path else "; --rejects FILE lists them all"
        click.echo(f"... and {shown - SHOWN_REJECTS:,} more rejected lines{more}", err=True)
    if summary_path:
        write_html(run, summary_path, lang)
    if not quiet:
        click.echo(render_text(run, lang), err=to_stdout, nl=False)
        where = [] if to_stdout else [f"-> {output}"]
        if summary_path:
            where.append(f"-> {summary_path}")
        if where:
            click.echo("\n" + "\n".join(where), err=to_stdout)
    if run.rejected:
        sys.exit(EXIT_REJECTED)
