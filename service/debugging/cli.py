"""`opsdiag report`, `opsdiag compare` and `opsdiag signcheck`: joint debugging from a capture.

The app secret of `signcheck` is read from an environment variable (`--secret-env NAME`)
or from standard input (`--secret-stdin`), never from an argument (it would stay in the
shell's history and in `ps`); it is not printed, logged or written anywhere.
"""

import json
import os
import sys
from pathlib import Path

import click

from rules.kb.loader import RuleSetError

from ..batch.kb import resolve
from ..batch.readers import InputError
from ..settings import current
from . import capture, compare, report, signing

KB_DIR = click.option("--dir", "kb_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
                      help="diagnose with the rules of this directory instead of the store")
LANG = click.option("--lang", type=click.Choice(["en", "zh-CN"]), default="en", show_default=True)


def _engine(kb_dir: Path | None):
    try:
        return resolve(None if kb_dir else current().database_url, kb_dir or current().kb_dir).engine()
    except RuleSetError as exc:
        raise SystemExit(str(exc)) from exc


def _read(path: Path) -> list[capture.Exchange]:
    try:
        exchanges = capture.read(path)
    except InputError as exc:
        raise SystemExit(f"{path}: {exc}") from exc
    if not exchanges:
        raise SystemExit(f"{path}: no calls in the capture")
    return exchanges


@click.command("report")
@click.argument("capture_file", metavar="CAPTURE", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(report.FORMATS), default="md", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="write the report here (default: standard output)")
@LANG
@KB_DIR
def report_command(capture_file, fmt, output, lang, kb_dir):
    """The report of a capture (HAR or JSONL): verdict, timeline, failures, diagnoses."""
    built = report.build(_read(capture_file), _engine(kb_dir), lang, title=capture_file.name)
    text = report.render(built, fmt)
    if output:
        output.write_text(text, encoding="utf-8")
        click.echo(f"{output}: {built['verdict']['summary']}")
    else:
        click.echo(text)


@click.command("compare")
@click.argument("good_file", metavar="GOOD", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("bad_file", metavar="BAD", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--good-call", type=int, default=None, help="call number in GOOD (default: the same operation)")
@click.option("--bad-call", type=int, default=None, help="call number in BAD (default: the first failed)")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@LANG
@KB_DIR
def compare_command(good_file, bad_file, good_call, bad_call, fmt, lang, kb_dir):
    """The differences between a call that works (GOOD) and one that fails (BAD), ranked."""
    try:
        bad = compare.pick(_read(bad_file), bad_call, failed=None if bad_call else True)
        good = compare.pick(_read(good_file), good_call, operation=bad.operation, failed=False)
    except ValueError as exc:
        raise SystemExit(str(exc)) from exc
    result = compare.compare(good, bad, _engine(kb_dir), lang)
    if fmt == "json":
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
        return
    click.echo(f"good: call {good.number} {good.operation} -> {good.status}")
    click.echo(f"bad:  call {bad.number} {bad.operation} -> {bad.status}")
    click.echo(f"verdict: {result['verdict']}")
    for rank, d in enumerate(result["differences"], start=1):
        mark = f"  <- explains it ({d['rule_id']})" if d["explains"] else ""
        click.echo(f"{rank:2}. [{d['kind']}] {d['what']}: {d['good']!s} -> {d['bad']!s}{mark}")


def _secret(secret_env: str | None, secret_stdin: bool) -> str:
    if bool(secret_env) == secret_stdin:
        raise SystemExit("give the app secret with exactly one of --secret-env NAME or --secret-stdin")
    if secret_env:
        value = os.environ.get(secret_env)
        if not value:
            raise SystemExit(f"the environment variable {secret_env} is not set or empty")
        return value
    value = sys.stdin.readline().rstrip("\r\n")
    if not value:
        raise SystemExit("standard input held no secret")
    return value


@click.command("signcheck")
@click.argument("capture_file", metavar="CAPTURE", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--call", "number", type=int, default=None, help="call number (default: the first signed one)")
@click.option("--scheme", type=click.Choice([*signing.SCHEMES, "hmac"]), default=None,
              help="default: from the host (TikTok Shop /api/ paths: legacy)")
@click.option("--form", "form_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="JSON description of the HMAC scheme (with --scheme hmac)")
@click.option("--secret-env", default=None, help="name of the environment variable holding the app secret")
@click.option("--secret-stdin", is_flag=True, help="read the app secret from the first line of standard input")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def signcheck_command(capture_file, number, scheme, form_file, secret_env, secret_stdin, fmt):
    """Recompute a captured call's signature and say which input differs."""
    secret = _secret(secret_env, secret_stdin)
    exchanges = _read(capture_file)
    try:
        form = json.loads(form_file.read_text(encoding="utf-8")) if form_file else None
        chosen = compare.pick(exchanges, number) if number else next(
            (e for e in exchanges if any(k in ("sign", "signature") for k, _ in e.query)), exchanges[0])
        call = signing.Call.from_url(chosen.method, chosen.url, chosen.request_headers, chosen.request_body)
        name = scheme or signing.guess_scheme(call, chosen.host)
        if name is None:
            raise ValueError(f"cannot tell the scheme of {chosen.host}; give --scheme")
        found = signing.check(signing.scheme_for(name, form), call, secret)
    except ValueError as exc:
        raise SystemExit(str(exc)) from exc
    if fmt == "json":
        click.echo(json.dumps({"call": chosen.number, **found.as_dict()}, ensure_ascii=False, indent=2))
    else:
        state = "valid" if found.valid else f"INVALID: the {found.differs} differs" if found.differs else "INVALID"
        click.echo(f"call {chosen.number} {chosen.operation}, scheme {found.scheme} ({found.source})")
        click.echo(f"signature {state}: {found.detail}")
        click.echo(f"string to sign: {found.string_to_sign}")
    sys.exit(0 if found.valid else 1)


COMMANDS = (report_command, compare_command, signcheck_command)
