"""The app answers what openapi.yaml says, for generated valid and invalid requests."""

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIResponse
from werkzeug.wrappers import Response

from rules.runtime import KnowledgeBase
from service.app import create_app
from tests.conftest import KB_DIR, OPENAPI, RouteOnly

schema = schemathesis.openapi.from_wsgi(
    "/openapi.yaml", create_app({"TESTING": True}, kb=KnowledgeBase(None, KB_DIR)))


@schema.parametrize()
@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_every_route_conforms(case):
    case.call_and_validate()


def test_the_conformance_check_catches_a_broken_response(app):
    """The per-response check in conftest is not vacuous: a response missing fields fails."""
    with app.test_request_context("/diagnose", method="POST"):
        from flask import request

        broken = Response('{"matched": true}', status=200, mimetype="application/json")
        with pytest.raises(Exception, match="InvalidData|required"):
            OPENAPI.validate_response(RouteOnly(request), WerkzeugOpenAPIResponse(broken))
