"""The client SDK (client/opsdiag_client) against a live server: typed answers, problem details, retries."""

import json
import threading

import pytest
from opsdiag_client import (
    OpsdiagClient,
    OpsdiagConnectionError,
    ProblemError,
    ServerError,
)

from tests.live_server import serving
from tests.system.test_serve import free_port

TIKTOK_SIGN = {
    "status": 401,
    "endpoint": "https://open-api.tiktokglobalshop.com/authorization/202309/shops?app_key=x&timestamp=1700000000",
    "headers": {"Date": "Tue, 14 Nov 2023 22:23:20 GMT"},
    "body": {"code": 106001, "message": "Invalid credentials. The 'sign' query parameter is invalid."},
    "context": {"sent_at": "2023-11-14T22:13:20Z"},
}


class Flaky:
    """Answers 503 (or `status`) to the first `failures` calls, then hands over to the app."""

    def __init__(self, app, failures: int, status: int = 503):
        self.app, self.failures, self.status, self.calls = app, failures, status, 0
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        with self.lock:
            self.calls += 1
            failing = self.calls <= self.failures
        if failing:
            body = json.dumps({"type": "about:blank", "title": "Service Unavailable", "status": self.status}).encode()
            start_response(f"{self.status} Unavailable", [("Content-Type", "application/problem+json"),
                                                           ("Content-Length", str(len(body)))])
            return [body]
        return self.app(environ, start_response)


@pytest.fixture(scope="module")
def base_url(app):
    with serving(app) as url:
        yield url


def test_diagnose_returns_typed_results(base_url):
    with OpsdiagClient(base_url, timeout=5, retries=0) as client:
        result = client.diagnose(**TIKTOK_SIGN, language="zh-CN", request_id="erp-1")
    answer = result["diagnoses"][0]
    assert result["request_id"] == "erp-1"
    assert (result["platform"], result["matched"]) == ("tiktok_shop", True)
    assert answer["category"] == "signature.timestamp_out_of_range"
    assert answer["evidence"]["clock_skew_seconds"] == 600
    assert "时" in answer["title"] + answer["explanation"]  # zh-CN asked, zh-CN answered
    assert isinstance(answer["repair_steps"], list) and 0 < answer["confidence"] <= 1


def test_invalid_input_raises_problem_error_with_its_details(base_url):
    with OpsdiagClient(base_url, timeout=5, retries=3) as client, pytest.raises(ProblemError) as caught:
        client.diagnose(status=9999, endpoint="")
    error = caught.value
    assert not isinstance(error, ServerError)
    assert (error.status, error.title) == (422, "Invalid request")
    assert {p.name for p in error.invalid_params} == {"status", "endpoint"}
    assert error.request_id


def test_retries_503_twice_then_answers(app):
    flaky = Flaky(app, failures=2)
    with serving(flaky) as url, OpsdiagClient(url, timeout=5, retries=3, backoff=0.01) as client:
        result = client.diagnose(status=503, endpoint="/x")
    assert flaky.calls == 3 and result["diagnoses"]


@pytest.mark.parametrize("status", [502, 504])
def test_gives_up_after_the_retries_with_a_server_error(app, status):
    flaky = Flaky(app, failures=10, status=status)
    with serving(flaky) as url, OpsdiagClient(url, timeout=5, retries=2, backoff=0.01) as client, \
            pytest.raises(ServerError) as caught:
        client.diagnose(status=503, endpoint="/x")
    assert flaky.calls == 3 and caught.value.status == status


def test_no_server_raises_a_connection_error_after_retrying():
    client = OpsdiagClient(f"http://127.0.0.1:{free_port()}", timeout=1, retries=2, backoff=0.01)
    with pytest.raises(OpsdiagConnectionError, match="3 attempt"):
        client.diagnose(status=503, endpoint="/x")


def test_api_key_is_sent_as_a_bearer_token(app):
    seen = {}

    def spy(environ, start_response):
        seen["authorization"] = environ.get("HTTP_AUTHORIZATION")
        return app(environ, start_response)

    with serving(spy) as url, OpsdiagClient(url, api_key="odk_x_y") as client:
        client.diagnose(status=500, endpoint="/x")
    assert seen["authorization"] == "Bearer odk_x_y"
