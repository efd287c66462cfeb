"""The `opsdiag` command: serve, load and lint the knowledge base, diagnose a file."""

import json
import sys
from pathlib import Path

import click
from marshmallow import ValidationError

from rules import platforms
from rules.kb.loader import RuleSetError, load_directory
from rules.kb.store import Store

from .batch.cli import batch
from .debugging.cli import COMMANDS as DEBUGGING_COMMANDS
from .importers import IMPORTERS
from .schemas import DiagnoseRequestSchema
from .settings import current


def _shown(store: Store) -> str:
    """The store's URL without its password (output ends up in container logs)."""
    from sqlalchemy.engine import make_url

    return make_url(store.url).render_as_string(hide_password=True)


# The rules read: --dir, else the settings' (OPSDIAG_KB_DIR, else the checkout's kb_content).
KB_DIR_OPTION = click.option(
    "--dir", "kb_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
    callback=lambda _ctx, _param, value: value or current().kb_dir,
    help="the kb_content directory (default: OPSDIAG_KB_DIR, else the checkout's)")


@click.group()
def main():
    """opsdiag: root causes of marketplace and ERP API errors."""
    from . import logs

    current()  # the settings, read once for the whole run (limits applied)
    logs.configure_cli()  # JSON, masked log lines, as the server writes them (`serve` sets its own)


@main.command()
@click.option("--bind", default=None, help="host:port (default 127.0.0.1:8080, or OPSDIAG_BIND)")
@click.option("--workers", type=int, default=None, help="worker processes (default: all cores)")
def serve(bind, workers):
    """Serve the API with gunicorn."""
    from gunicorn.app.base import BaseApplication

    from .web import gunicorn_conf

    class Application(BaseApplication):
        def load_config(self):
            for key in dir(gunicorn_conf):
                if key in self.cfg.settings and not key.startswith("_"):
                    self.cfg.set(key, getattr(gunicorn_conf, key))
            if bind:
                self.cfg.set("bind", bind)
            if workers:
                self.cfg.set("workers", workers)

        def load(self):
            from .web.wsgi import app
            return app

    Application().run()


@main.group()
def kb():
    """Knowledge-base maintenance."""


def _read(kb_dir: Path):
    try:
        return load_directory(kb_dir)
    except RuleSetError as exc:
        for error in exc.errors:
            click.echo(f"error: {error}", err=True)
        raise SystemExit(f"{len(exc.errors)} problem(s); nothing loaded") from exc


@kb.command("load")
@KB_DIR_OPTION
@click.option("--database-url", "db_url", default=None,
              help="default: DATABASE_URL or sqlite:///opsdiag.db")
@click.option("--author", default="kb-load", show_default=True)
@click.option("--if-empty", is_flag=True,
              help="only when the store has no version yet (container start: keeps curated versions)")
def kb_load(kb_dir, db_url, author, if_empty) -> None:
    """Validate kb_content and publish it as the current version (no-op if unchanged)."""
    docs, rules = _read(kb_dir)
    store = Store(db_url or current().database_url)
    store.create_schema()
    if if_empty and store.current_version() is not None:
        click.echo(f"store already serves version {store.current_version()}; nothing loaded")
        return
    version, created = store.publish(docs, author=author, note=f"loaded from {kb_dir}")
    state = "new version" if created else "unchanged, still"
    click.echo(f"{len(rules)} rules from {kb_dir}: {state} {version} in {_shown(store)}")


@kb.command("lint")
@KB_DIR_OPTION
def kb_lint(kb_dir):
    """Check every rule: schema, taxonomy, examples, shadowing."""
    from rules.kb.lint import lint

    _docs, rules = _read(kb_dir)
    problems = lint(rules, DiagnoseRequestSchema().load)
    for problem in problems:
        click.echo(f"{problem.level}: {problem}", err=problem.level == "error")
    errors = sum(p.level == "error" for p in problems)
    click.echo(f"{len(rules)} rules, {errors} error(s), {len(problems) - errors} warning(s)")
    sys.exit(1 if errors else 0)


@kb.command("coverage")
@KB_DIR_OPTION
@click.option("--format", "fmt", type=click.Choice(["text", "markdown"]), default="text", show_default=True)
def kb_coverage(kb_dir, fmt):
    """Rules per category and platform, and the share of examples each rule answers."""
    from rules.kb.coverage import coverage, render

    _docs, rules = _read(kb_dir)
    click.echo(render(coverage(rules, DiagnoseRequestSchema().load), fmt))


@main.command("diagnose")
@click.argument("file", type=click.File("r", encoding="utf-8"))
@click.option("--lang", type=click.Choice(["en", "zh-CN"]), default="en", show_default=True)
@click.option("--dir", "kb_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="diagnose with the rules of this directory instead of the store")
def diagnose_file(file, lang, kb_dir):
    """Print the diagnosis of one JSON payload (FILE, or - for stdin)."""
    from rules.runtime import KnowledgeBase

    try:
        payload = DiagnoseRequestSchema().load(json.load(file))
    except (ValueError, ValidationError) as exc:
        messages = exc.messages if isinstance(exc, ValidationError) else str(exc)
        raise SystemExit(f"invalid payload: {messages}") from exc
    try:
        kb = KnowledgeBase(None if kb_dir else Store(current().database_url), kb_dir or current().kb_dir)
    except RuleSetError as exc:
        raise SystemExit(str(exc)) from exc
    result = kb.diagnose(payload, lang)
    click.echo(json.dumps(result, ensure_ascii=False, indent=2, default=str))


@kb.command("export")
@click.argument("target", type=click.Path(file_okay=False, path_type=Path))
@click.option("--version", "version_id", type=int, default=None, help="default: the current version")
@click.option("--database-url", "db_url", default=None)
def kb_export(target, version_id, db_url):
    """Write a stored version as a kb_content tree (to keep rules in git too)."""
    import io
    import zipfile

    from rules.kb.curation import export_zip

    store = Store(db_url or current().database_url)
    version_id = version_id or store.current_version()
    if version_id is None or store.version(version_id) is None:
        raise SystemExit(f"no version {version_id} in {_shown(store)}")
    archive = zipfile.ZipFile(io.BytesIO(export_zip(store.documents(version_id))))
    archive.extractall(target)
    click.echo(f"version {version_id}: {len(archive.namelist())} files written to {target}")


@kb.command("gaps")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--all", "show_all", is_flag=True,
              help="also shapes the current version now explains (skips compiling the knowledge base)")
@click.option("--database-url", "db_url", default=None)
def kb_gaps(limit, fmt, show_all, db_url):
    """The most frequent unmatched error shapes (masked), each with a draft rule to start from."""
    from sqlalchemy.exc import SQLAlchemyError

    from rules.kb.gaps import top_gaps

    from .web.admin.gaps import explained_by

    store = Store(db_url or current().database_url)
    try:
        store.create_schema()
        still_unmatched = None
        if not show_all:
            from rules.runtime import KnowledgeBase

            still_unmatched = explained_by(KnowledgeBase(store, current().kb_dir))
        found = top_gaps(store, limit, still_unmatched=still_unmatched)
    except SQLAlchemyError as exc:
        raise SystemExit(f"the store at {_shown(store)} does not answer: {exc.__class__.__name__}") from exc
    if fmt == "json":
        click.echo(json.dumps({"gaps": [g.as_json() for g in found]}, ensure_ascii=False, indent=2))
        return
    if not found:
        click.echo("no unmatched errors recorded" + ("" if show_all else " that the current rules leave unexplained"))
        return
    click.echo(f"{len(found)} most frequent unmatched error shape(s), masked; each draft needs a curator:")
    for n, gap in enumerate(found, 1):
        click.echo(f"\n#{n}  {gap.count} x  {gap.platform}  status {gap.status}  code {gap.code or '-'}  "
                   f"last seen {gap.as_json()['last_seen']}")
        click.echo(f"    template: {gap.template or '(no message)'}")
        example = json.dumps(gap.example, ensure_ascii=False)
        click.echo(f"    example:  {example if len(example) <= 400 else example[:397] + '...'}")
        click.echo("    draft rule:")
        for line in gap.draft_rule.splitlines():
            click.echo(f"      {line}")


@main.group()
def keys():
    """API keys of the admin API (and of /diagnose with OPSDIAG_DIAGNOSE_AUTH=on)."""


@keys.command("create")
@click.option("--role", required=True, type=click.Choice(["client", "viewer", "editor", "publisher", "admin"]))
@click.option("--label", default="")
@click.option("--database-url", "db_url", default=None)
def keys_create(role, label, db_url):
    """Create a key and print it: it is stored only as a hash and cannot be shown again."""
    from .web.keys import create_key

    store = Store(db_url or current().database_url)
    store.create_schema()
    row, clear = create_key(store, role, label)
    click.echo(f"key id {row.id}, role {row.role}; keep this key, it is not stored:", err=True)
    click.echo(clear)


main.add_command(batch)  # opsdiag batch: service/batch/
for _command in DEBUGGING_COMMANDS:  # opsdiag report, compare, signcheck: service/debugging/
    main.add_command(_command)


@main.group()
def schemas():
    """The platforms' published request schemas (kb_content/schemas)."""


@schemas.command("import")
@click.argument("platform", type=click.Choice(sorted(IMPORTERS)))
@click.argument("source", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--commit", default=None, help="the commit of SOURCE to read (default: the importer's own choice)")
def schemas_import(platform, source, commit):
    """Import PLATFORM's schemas from SOURCE, a clone or mirror of the repository the importer
    names; prints the changelog (operations and required fields added or removed)."""
    from rules.reqcheck.schemas import SCHEMA_DIR

    from .importers import write

    load, repository = IMPORTERS[platform]
    documents = load(source, commit) if commit else load(source)
    lines = write(documents)
    operations = sum(len(d["operations"]) for d in documents)
    click.echo(f"{platform}: {len(documents)} documents, {operations} operations from {repository} "
               f"into {SCHEMA_DIR / platform}")
    click.echo("\n".join(lines) if lines else "no change")


@schemas.command("examples")
@click.argument("sp_api_source", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("docs_source", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("tests/fixtures/request_examples.jsonl"), show_default=True)
def schemas_examples(sp_api_source, docs_source, out):
    """Write the platforms' own request examples (with their sources) for the tests."""
    from .importers.examples import collect

    cases = collect(sp_api_source, docs_source)
    out.write_text("".join(json.dumps(c, ensure_ascii=False, sort_keys=True) + "\n" for c in cases), encoding="utf-8")
    click.echo(f"{len(cases)} request examples written to {out}")


@schemas.command("coverage")
def schemas_coverage():
    """Operations per platform, API and domain, and what each source leaves out."""
    from rules.reqcheck.schemas import catalog, coverage

    found = coverage(catalog())
    for platform in platforms.MARKETPLACES:
        entry = found.get(platform)
        if entry is None:
            click.echo(f"{platform}: no operations imported (`opsdiag schemas import {platform} SOURCE`)")
            continue
        click.echo(f"{platform}: {entry['operations']} operations")
        click.echo("  by API:    " + ", ".join(f"{k} {v}" for k, v in sorted(entry["apis"].items())))
        click.echo("  by domain: " + ", ".join(f"{k} {v}" for k, v in sorted(entry["domains"].items())))
        for source, note in sorted(entry["sources"].items()):
            click.echo(f"  source:    {source}" + (f" - {note}" if note else ""))


@main.command("check")
@click.argument("file", type=click.File("r", encoding="utf-8"))
@click.option("--lang", type=click.Choice(["en", "zh-CN"]), default="en", show_default=True)
def check_file(file, lang):
    """Check one request (FILE, or - for stdin: method, endpoint, headers, query, body) against the
    platform's published schema, as POST /check does; exits 1 when it finds a problem."""
    import time

    from rules.reqcheck import validate as reqcheck

    from .schemas import CheckRequestSchema

    try:
        request = CheckRequestSchema().load(json.load(file))
    except (ValueError, ValidationError) as exc:
        messages = exc.messages if isinstance(exc, ValidationError) else str(exc)
        raise SystemExit(f"invalid request: {messages}") from exc
    sent_at = request.pop("sent_at", None)
    result = reqcheck.check(request, lang, now=sent_at.timestamp() if sent_at else time.time())
    click.echo(json.dumps(result, ensure_ascii=False, indent=2))
    sys.exit(0 if result["ok"] else 1)


if __name__ == "__main__":
    main()


@main.command("eval")
@KB_DIR_OPTION
@click.option("--write", is_flag=True, help="write eval/RESULTS.md (and assign new corpus sources in eval/split.yaml)")
@click.option("--misses", is_flag=True, help="list the tuning cases answered wrong (held-back ones are never listed)")
@click.option("--calibrate", is_flag=True,
              help="fit rules/engine/calibration.yaml on the calibration part (else the tuning part), then evaluate")
def eval_corpus(kb_dir, write, misses, calibrate):
    """Accuracy and calibration on the real-error corpus (eval/), per part of the split."""
    from rules.engine import Engine, score

    from . import evaluate

    _docs, rules = _read(kb_dir)
    cases = evaluate.read_corpus()
    known = evaluate.read_split()
    split = evaluate.assign(cases, known)
    if split != known and not write:
        raise SystemExit("new corpus sources are not in eval/split.yaml: run `opsdiag eval --write` once")
    engine = Engine(rules, "eval")
    try:
        report = evaluate.evaluate(engine, cases, split)
        if calibrate:
            part = "calibration" if report.parts["calibration"] else "tuning"
            others = report.parts["tuning"] if part != "tuning" else []
            evaluate.write_calibration(evaluate.fit_calibration(report.parts[part], part, others))
            score.reload_calibration()
            report = evaluate.evaluate(engine, cases, split)
    finally:
        engine.close()
    text = evaluate.render(report, cases, split)
    if write:
        evaluate.write_split(split)
        evaluate.RESULTS_PATH.write_text(text, encoding="utf-8")
    click.echo(text if not misses else "\n".join(evaluate.misses(report)))
