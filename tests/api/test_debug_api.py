"""POST /debug/report, POST /debug/compare and the console page /console/debug: the same
report and comparison as the commands, every answer checked against openapi.yaml."""

import io
import json

import pytest

from tests.fake_marketplace import APP_SECRET, GOOD_TOKEN, Erp, Marketplace, Recorder
from tests.live_server import serving


@pytest.fixture(scope="module")
def hars():
    marketplace = Marketplace()
    found = {}
    with serving(marketplace) as base_url:
        for broken in (None, "gzip_body"):
            recorder = Recorder(base_url)
            Erp(recorder, broken).run_loop(marketplace)
            found[broken] = recorder.har()
    return found


@pytest.fixture
def checked(client):
    """The client of conftest, which fails the test on an answer openapi.yaml does not allow."""
    return client


def test_report_of_a_posted_har(checked, hars):
    response = checked.post("/debug/report", json=hars["gzip_body"])
    assert response.status_code == 200
    body = response.get_json()
    assert body["first_failure"] == 3 and body["verdict"]["category"] == "validation.malformed_request"
    assert GOOD_TOKEN not in response.get_data(as_text=True)


@pytest.mark.parametrize(("fmt", "media"), [("md", "text/markdown"), ("html", "text/html")])
def test_report_as_markdown_or_html(checked, hars, fmt, media):
    response = checked.post(f"/debug/report?format={fmt}", json=hars["gzip_body"],
                            headers={"Accept-Language": "zh-CN"})
    assert response.status_code == 200 and response.mimetype == media
    assert response.headers["Content-Language"] == "zh-CN"
    assert "Verdict:" in response.get_data(as_text=True)[:2000]


def test_report_of_posted_calls_as_jsonl_lines(checked):
    calls = [{"status": 200, "endpoint": "https://api.lazada.sg/rest/orders/get", "body": {"code": "0"}},
             {"status": 200, "endpoint": "https://api.lazada.sg/rest/orders/get",
              "body": {"code": "IllegalAccessToken", "message": "The specified access token is invalid or expired",
                       "request_id": "0ba2887315178178017221014", "type": "ISV"}}]
    body = checked.post("/debug/report", json={"calls": calls}).get_json()
    assert body["first_failure"] == 2 and body["verdict"]["category"] == "auth.token_expired"
    assert body["failures"][0]["identifiers"]["request_id"] == "0ba2887315178178017221014"


@pytest.mark.parametrize(("payload", "field"), [
    ({"log": {}}, "log.entries"), ({"log": {"entries": []}}, "log.entries"), ({"calls": [1]}, "calls"),
    ({"har": 1}, "body"), ([], "body"),
])
def test_a_post_that_is_no_capture_is_422_naming_the_field(checked, payload, field):
    response = checked.post("/debug/report", json=payload)
    assert response.status_code == 422
    assert field in [p["name"] for p in response.get_json()["invalid-params"]]


def test_an_unknown_format_is_422(checked, hars):
    response = checked.post("/debug/report?format=pdf", json=hars[None])
    assert response.status_code == 422 and response.get_json()["invalid-params"][0]["name"] == "format"


def test_compare_names_the_difference(checked, hars):
    response = checked.post("/debug/compare", json={"good": hars[None], "bad": hars["gzip_body"]})
    assert response.status_code == 200
    top = response.get_json()["differences"][0]
    assert (top["kind"], top["explains"]) == ("content-encoding", True)


@pytest.mark.parametrize(("payload", "field"), [
    ({"good": {"calls": []}}, "bad"), ({"good": {"log": {"entries": []}}, "bad": {"log": {"entries": []}}},
                                        "bad.log.entries"),
    ({"good": {"calls": [{}]}, "bad": {"calls": [{}]}, "bad_call": 0}, "bad_call"),
    ({"good": {"calls": [{}]}, "bad": {"calls": [{}]}, "secret": "x"}, "secret"),
])
def test_a_wrong_compare_is_422_naming_the_field(checked, payload, field):
    response = checked.post("/debug/compare", json=payload)
    assert response.status_code == 422
    assert field in [p["name"] for p in response.get_json()["invalid-params"]]


def test_compare_takes_no_secret_at_all(checked, hars):
    response = checked.post("/debug/compare", json={"good": hars[None], "bad": hars[None], "app_secret": APP_SECRET})
    assert response.status_code == 422 and APP_SECRET not in response.get_data(as_text=True)


def test_the_console_page_turns_a_dropped_har_into_its_report(checked, hars):
    assert b'type="file"' in checked.get("/console/debug").data
    upload = io.BytesIO(json.dumps(hars["gzip_body"]).encode())
    response = checked.post("/console/debug", data={"capture": (upload, "loop.har"), "lang": "en"},
                            content_type="multipart/form-data")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Joint debugging report: loop.har" in page and "integrator acts first: step 3" in page
    assert "script" not in response.headers["Content-Security-Policy"]


def test_the_console_page_says_when_the_file_is_no_har(checked):
    response = checked.post("/console/debug", data={"capture": (io.BytesIO(b"not json"), "x.har")},
                            content_type="multipart/form-data")
    assert response.status_code == 422 and "is not a HAR capture" in response.get_data(as_text=True)
