"""API keys (admin only), who is calling, and the audit log (read only: it is append-only
by design)."""

import json

from flask import current_app, g, jsonify, request
from werkzeug.exceptions import NotFound

from ..api.diagnose import json_object
from ..auth import requires
from ..keys import create_key, list_keys, revoke
from . import actor, bp
from .schemas import AuditOut, AuditQuery, KeyCreateRequest, KeyOut


def store():
    return current_app.extensions["opsdiag.store"]


def _audit_key_change(action: str, after: dict) -> None:
    store().record(actor().entry(action, None, None, after))


@bp.get("/whoami")
@requires("viewer")
def whoami():
    """The calling key's id and role: what a client such as the console may offer its user."""
    return jsonify({"id": g.api_key.id, "role": g.api_key.role})


@bp.get("/keys")
@requires("admin")
def keys():
    return jsonify({"keys": KeyOut(many=True).dump(list_keys(store()))})


@bp.post("/keys")
@requires("admin")
def new_key():
    request_ = KeyCreateRequest().load(json_object())
    row, clear = create_key(store(), request_["role"], request_["label"], created_by=g.api_key.id)
    _audit_key_change("key_create", {"key": row.id, "role": row.role})
    return jsonify({**KeyOut().dump(row), "key": clear}), 201


@bp.delete("/keys/<key_id>")
@requires("admin")
def revoke_key(key_id):
    row = revoke(store(), key_id)
    if row is None:
        raise NotFound(f"no key {key_id}")
    _audit_key_change("key_revoke", {"key": key_id})
    return jsonify(KeyOut().dump(row))


@bp.get("/audit")
@requires("viewer")
def audit():
    query = AuditQuery().load(request.args.to_dict())
    rows = AuditOut(many=True).dump(store().audit(**query))
    for row in rows:
        for side in ("before", "after"):
            if row[side] is not None:
                row[side] = json.loads(row[side])
    return jsonify({"entries": rows, "count": len(rows)})
