"""/console/board: the ops errors board over a log a support engineer uploads.

The page is the same board as the batch HTML summary (service/batch/static/board.js);
the upload is diagnosed by the batch code in this process with the service's own engine,
from a temporary file deleted before the answer is sent: nothing is stored server-side.
The upload is bounded like POST /diagnose/batch (OPSDIAG_MAX_BATCH_BYTES) and needs a
key when /diagnose does (OPSDIAG_DIAGNOSE_AUTH=on).
"""

import tempfile
from pathlib import Path

from flask import current_app, g, request
from marshmallow import ValidationError

from rules.engine import EngineClosed
from rules.privacy import redact_text

from ... import limits
from ...batch.board import embed
from ...batch.columns import ColumnsError, parse_overrides
from ...batch.readers import InputError
from ...batch.report import STATIC as BOARD_STATIC
from ...batch.report import board_data
from ...batch.run import diagnose_file
from ..assets import send_asset
from ..auth import authenticate
from ..keys import CLIENT
from .views import STATIC, bp, page

ASSETS = {"board.js": (BOARD_STATIC, "text/javascript; charset=utf-8"),
          "board.css": (BOARD_STATIC, "text/css; charset=utf-8"),
          "board-upload.js": (STATIC, "text/javascript; charset=utf-8")}
SUFFIXES = (".csv", ".tsv", ".txt", ".jsonl", ".ndjson", ".har")
SHOWN_REJECTS = 20


def _diagnose(path: Path, lang: str, columns: dict[str, str]):
    """The run over the service's current engine (once more if a new version swapped it out)."""
    kb = current_app.extensions["opsdiag.kb"]
    try:
        try:
            return diagnose_file(path, None, lang=lang, board=True, columns=columns, engine=kb.engine)
        except EngineClosed:
            return diagnose_file(path, None, lang=lang, board=True, columns=columns, engine=kb.engine)
    except InputError as exc:
        raise ValidationError({"log": [str(exc)]}) from exc


@bp.get("/board")
def board():
    return page("board.html")


@bp.get("/board/assets/<name>")
def board_asset(name: str):
    return send_asset(ASSETS, name)


@bp.post("/board/diagnose")
def board_diagnose():
    """The board's data (board.py) for the uploaded file `log`, in the console's language."""
    if current_app.config.get("DIAGNOSE_AUTH"):
        authenticate(CLIENT)
    request.max_content_length = int(current_app.config.get("MAX_BATCH_CONTENT_LENGTH") or limits.LIMITS.batch_bytes)
    upload = request.files.get("log")
    if upload is None or not upload.filename:
        raise ValidationError({"log": ["a file (CSV, JSONL or HAR) is required"]})
    try:
        columns = parse_overrides(request.form.get("columns"))
    except ColumnsError as exc:
        raise ValidationError({"columns": [str(exc)]}) from exc
    suffix = Path(upload.filename).suffix.lower()
    lang = g.console_lang
    with tempfile.TemporaryDirectory(prefix="opsdiag-board-") as folder:
        path = Path(folder) / ("upload" + (suffix if suffix in SUFFIXES else ""))
        upload.save(path)
        run = _diagnose(path, lang, columns)
    data = board_data(run.board, lang)
    data.update(diagnosed=run.diagnosed, rejected=run.rejected, kb_version=run.kb_version,
                rejects=[{"line": r.line, "reason": redact_text(r.reason)} for r in run.rejects[:SHOWN_REJECTS]])
    response = current_app.response_class(embed(data), mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    return response
