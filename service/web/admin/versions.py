"""Versions: publish the drafts, list, diff, roll back, export and import as YAML."""

from flask import Response, current_app, jsonify, request
from werkzeug.exceptions import BadRequest, NotFound, UnsupportedMediaType

from ... import limits
from ..api.diagnose import json_payload
from ..auth import requires
from . import actor, bp, workspace
from .schemas import ExportQuery, PublishRequest, VersionOut

ZIP = "application/zip"


@bp.post("/publish")
@requires("publisher")
def publish():
    data = json_payload() if request.get_data(cache=True) else {}
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object")
    note = PublishRequest().load(data)["note"]
    version, created = workspace().publish(actor(), note)
    return jsonify({"version": version, "created": created}), 201 if created else 200


@bp.get("/versions")
@requires("viewer")
def versions():
    store = current_app.extensions["opsdiag.store"]
    current = store.current_version()
    rows = VersionOut(many=True).dump(store.versions())
    for row in rows:
        row["current"] = row["id"] == current
    return jsonify({"current": current, "versions": rows,
                    "drafts": len(store.drafts())})


@bp.get("/versions/<int(max=2147483647):v>/diff/<int(max=2147483647):w>")
@requires("viewer")
def diff(v, w):
    return jsonify(workspace().diff(v, w))


@bp.post("/rollback/<int(max=2147483647):v>")
@requires("publisher")
def rollback(v):
    try:
        workspace().rollback(v, actor())
    except LookupError as exc:
        raise NotFound(f"no version {v}") from exc
    return jsonify({"version": v, "current": True})


@bp.get("/export")
@requires("viewer")
def export():
    version = ExportQuery().load(request.args.to_dict()).get("version")
    name = f"kb_content-v{version}.zip" if version else "kb_content-drafts.zip"
    return Response(workspace().export(version), mimetype=ZIP,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.post("/import")
@requires("editor")
def import_archive():
    if request.mimetype != ZIP:
        raise UnsupportedMediaType(f"send the archive as {ZIP}, as GET /admin/v1/export makes it")
    bounds = limits.LIMITS
    request.max_content_length = bounds.import_bytes  # 413 past it, before anything is read
    return jsonify(workspace().import_zip(request.get_data(cache=False), actor(),
                                          max_files=bounds.import_files, max_bytes=bounds.import_unpacked_bytes))
