"""Liveness, readiness and the contract itself."""

from flask import Blueprint, Response, current_app, jsonify

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz():
    """Ready whenever a knowledge base is compiled; the store's state is reported, not required."""
    status = current_app.extensions["opsdiag.kb"].status()
    return jsonify({
        "status": "ready",
        "kb_version": status.kb_version,
        "rule_count": status.rule_count,
        "kb_source": status.source,
        "store": "ok" if status.store_ok else "unavailable",
    })


@bp.get("/openapi.yaml")
def openapi():
    return Response(current_app.extensions["opsdiag.settings"].openapi_path.read_bytes(), mimetype="application/yaml")
