"""GET /metrics: Prometheus text exposition, summed over every gunicorn worker."""

from flask import Blueprint, Response, current_app

from .. import metrics

bp = Blueprint("metrics", __name__)


@bp.get("/metrics")
def scrape():
    return Response(metrics.exposition(current_app.extensions["opsdiag.kb"]), content_type=metrics.CONTENT_TYPE)
