"""The app answers what openapi.yaml says, for generated valid and invalid requests."""

import json
import tempfile

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIResponse
from opsdiag_client.answer import Diagnosis, Result, Scoring
from schemathesis.specs.openapi.checks import positive_data_acceptance
from werkzeug.wrappers import Response

from rules.kb.loader import read_directory
from rules.kb.store import Store
from rules.runtime import KnowledgeBase
from service.web.app import create_app
from tests.conftest import KB_DIR, OPENAPI, RouteOnly

ADMIN_KEY = "contract-test-admin-key-0123456789"
_store = Store(f"sqlite:///{tempfile.mkdtemp(prefix='opsdiag-contract-')}/kb.db")
_store.create_schema()
_store.publish(read_directory(KB_DIR), author="contract-test")


@schemathesis.serializer("application/zip")
def zip_archive(_ctx, value):
    """Generated strings become the raw bytes of a (mostly broken) archive: the import must
    refuse them with a 4xx, never fail."""
    if isinstance(value, bytes):
        return value
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text.encode("utf-8", "surrogatepass")


schema = schemathesis.openapi.from_wsgi("/openapi.yaml", create_app(
    {"TESTING": True, "BOOTSTRAP_ADMIN_KEY": ADMIN_KEY, "AUTH_FAILURE_LIMIT": 10**6}, kb=KnowledgeBase(_store, KB_DIR)))
# An invalid request that is also too large is rightly refused as too large.
schema.config.checks.negative_data_rejection.expected_statuses = [
    *schema.config.checks.negative_data_rejection.expected_statuses, "413", "431"]


@schema.parametrize()
@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_every_route_conforms(case):
    """Admin routes are called with an admin key, so their real answers are checked too.

    A rule document's validity (taxonomy, RE2 syntax, its examples) is beyond JSON Schema,
    so for rule writes, checks, trials of an unsaved rule and imports a schema-valid body may rightly
    get 422; so may a console form whose pasted payload or rule fields (any strings, by their schema)
    are not a valid /diagnose payload or rule, and an uploaded log or capture (any bytes, by its
    schema) that is not a readable log or HAR."""
    semantic = case.operation.path in ("/admin/v1/rules", "/admin/v1/rules/{rule_id}", "/admin/v1/import",
                                       "/admin/v1/rules/{rule_id}/check", "/admin/v1/rules/{rule_id}/test",
                                       "/console/rules/{rule_id}/test", "/console/diagnose",
                                       "/console/rules/new", "/console/rules/{rule_id}/edit",
                                       "/console/board/diagnose",
                                       "/debug/compare", "/console/debug")
    case.call_and_validate(headers={"Authorization": f"Bearer {ADMIN_KEY}"},
                           excluded_checks=[positive_data_acceptance] if semantic else None)


def test_the_conformance_check_catches_a_broken_response(app):
    """The per-response check in conftest is not vacuous: a response missing fields fails."""
    with app.test_request_context("/diagnose", method="POST"):
        from flask import request

        broken = Response('{"matched": true}', status=200, mimetype="application/json")
        with pytest.raises(Exception, match="InvalidData|required"):
            OPENAPI.validate_response(RouteOnly(request), WerkzeugOpenAPIResponse(broken))


def _schema(name: str) -> dict:
    import yaml

    from tests.conftest import ROOT

    return yaml.safe_load((ROOT / "openapi.yaml").read_text(encoding="utf-8"))["components"]["schemas"][name]


def _keys(typed) -> tuple[set, set]:
    return typed.__required_keys__ | typed.__optional_keys__, set(typed.__required_keys__)


def test_the_typed_answer_is_the_contracts():
    """opsdiag_client/answer.py (what the engine builds, the service reads and clients
    receive) and openapi.yaml name the same keys, required and optional alike."""
    keys, required = _keys(Result)
    response = _schema("DiagnoseResponse")  # request_id: set by the HTTP layer, always
    assert (set(response["properties"]), set(response["required"])) == (keys, required | {"request_id"})
    item = _schema("BatchDiagnosis")  # each batch item: its index and own id instead of a request id
    assert set(item["properties"]) == keys - {"request_id"} | {"index", "id"}
    assert set(item["required"]) == required | {"index"}
    keys, required = _keys(Diagnosis)
    diagnosis = _schema("Diagnosis")
    assert (set(diagnosis["properties"]), set(diagnosis["required"])) == (keys, required)
    scoring = diagnosis["properties"]["scoring"]
    assert set(scoring["properties"]) == set(scoring["required"]) == Scoring.__required_keys__
