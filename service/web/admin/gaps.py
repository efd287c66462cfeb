"""GET /admin/v1/gaps: the most frequent error shapes that no rule explains (rules/kb/gaps.py).

The contract (openapi.yaml, `Gap`) is what the web console reads:
`{"gaps": [{template, count, platform, status, code, last_seen, example, draft_rule}]}`.
Shapes that the served knowledge base now explains are left out.
"""

from flask import current_app, jsonify, request
from marshmallow import fields, validate

from rules.kb.gaps import top_gaps

from ...schemas import DiagnoseRequestSchema, Strict
from ..auth import requires
from . import bp

MAX_LIMIT = 100


class GapsQuery(Strict):
    limit = fields.Integer(load_default=20, validate=validate.Range(1, MAX_LIMIT))


def explained_by(kb):
    """still_unmatched for top_gaps: the served version answers the example with no rule."""
    load = DiagnoseRequestSchema().load

    def still_unmatched(example: dict) -> bool:
        return not kb.diagnose(load(example))["matched"]

    return still_unmatched


@bp.get("/gaps")
@requires("viewer")
def gaps():
    query = GapsQuery().load(request.args.to_dict())
    store = current_app.extensions["opsdiag.store"]
    found = top_gaps(store, query["limit"], still_unmatched=explained_by(current_app.extensions["opsdiag.kb"]))
    return jsonify({"gaps": [gap.as_json() for gap in found]})
