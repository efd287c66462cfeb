"""JSON logs: one object per line, the request id on each, never a body or a secret."""

import io
import json
import logging
import os
import uuid

import pytest
from flask import g

from service.logs import ACCESS_LOGGER, JsonFormatter, logconfig_dict
from service.web.envelope import request_id_of

SECRETS = ["jane.doe@example.com", "+86 138 0013 8000", "sk_live_51Habc0SECRET", "odk_abc_topsecretkey",
           "sessioncookievalue42"]
PAYLOAD = {
    "status": 401,
    "endpoint": "https://open-api.tiktokglobalshop.com/order/202309/orders",
    "body": {"code": 105002, "message": f"token sk_live_51Habc0SECRET expired for {SECRETS[0]}, call {SECRETS[1]}"},
    "request": {"headers": {"Authorization": "Bearer sk_live_51Habc0SECRET"}},
}


@pytest.fixture
def captured():
    """Every line the access logger and the root logger write, formatted as in production."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    loggers = [logging.getLogger(ACCESS_LOGGER), logging.getLogger()]
    saved = [(lg, lg.level, lg.propagate) for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.setLevel(logging.INFO)
    logging.getLogger(ACCESS_LOGGER).propagate = False
    yield stream
    for lg, level, propagate in saved:
        lg.removeHandler(handler)
        lg.setLevel(level)
        lg.propagate = propagate


def lines(stream) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_a_request_gives_one_json_access_line_with_its_request_id(client, captured):
    response = client.post("/diagnose", json=PAYLOAD, headers={
        "X-Request-ID": "erp-4711", "Authorization": f"Bearer {SECRETS[3]}", "Cookie": f"s={SECRETS[4]}"})
    assert response.status_code == 200
    access = [line for line in lines(captured) if line["logger"] == ACCESS_LOGGER]
    assert len(access) == 1
    line = access[0]
    assert {k: line[k] for k in ("level", "method", "path", "route", "status", "request_id")} == {
        "level": "INFO", "method": "POST", "path": "/diagnose", "route": "/diagnose", "status": 200,
        "request_id": "erp-4711"}
    assert line["message"] == "POST /diagnose 200" and line["duration_ms"] >= 0
    assert line["timestamp"].endswith("+00:00") and isinstance(line["pid"], int)
    text = captured.getvalue()
    for secret in SECRETS:
        assert secret not in text


def test_the_query_string_is_not_logged(client, captured):
    client.get("/healthz?access_token=sk_live_51Habc0SECRET")
    (line,) = [line for line in lines(captured) if line["logger"] == ACCESS_LOGGER]
    assert line["path"] == "/healthz" and "sk_live" not in captured.getvalue()


def test_the_access_line_comes_masked(client, captured):
    """access() masks its own fields (the handler's filter skips the record it marks)."""
    client.get("/orders/13912345678", headers={"X-Request-ID": "jane.doe@example.com"})
    (line,) = [line for line in lines(captured) if line["logger"] == ACCESS_LOGGER]
    assert (line["message"], line["path"], line["request_id"], line["status"]) == \
        ("GET /orders/{masked} 404", "/orders/{masked}", "[email]", 404)
    assert "13912345678" not in captured.getvalue() and "jane.doe" not in captured.getvalue()


def test_a_path_no_route_knows_keeps_only_plain_words(client, captured):
    """Probe item 10: `/nope/<token>` was logged in clear; any token shape is masked now."""
    token = "Atza|IwEBIJ8xYz-Q_3kd8Ds9fK2L0mN4pQ7rS1tU5vW9xYz"
    for path in (f"/nope/{token}", "/nope/eyJhbGciOi.eyJzdWIi.c2lnbmF0dXJl", "/a/B3x9QzT1/c"):
        client.get(path)
    paths = [line["path"] for line in lines(captured) if line["logger"] == ACCESS_LOGGER]
    assert paths == ["/nope/{masked}", "/nope/{masked}", "/a/{masked}/c"]
    assert "IwEBIJ8" not in captured.getvalue() and "eyJhbGciOi" not in captured.getvalue()
    client.get("/healthz")
    assert lines(captured)[-1]["path"] == "/healthz", "a known route is logged as it is"


def test_app_log_lines_carry_the_request_id(app, captured):
    with app.test_request_context("/diagnose"):
        g.request_id = "erp-0815"
        app.logger.warning("something odd")
    (line,) = lines(captured)
    assert (line["message"], line["level"], line["request_id"]) == ("something odd", "WARNING", "erp-0815")
    assert line["logger"] == app.logger.name


def test_lines_outside_a_request_have_no_request_id(captured):
    logging.getLogger("gunicorn.error").warning("Booting worker with pid: %s", 42)
    (line,) = lines(captured)
    assert line["message"] == "Booting worker with pid: 42" and "request_id" not in line


def test_logconfig_for_gunicorn():
    config = logconfig_dict("debug", "-")
    assert config["loggers"]["gunicorn.error"]["level"] == "DEBUG"
    assert config["handlers"]["access"]["stream"] == "ext://sys.stdout"
    assert config["loggers"]["gunicorn.access"]["handlers"] == ["discard"]  # the app writes the access line
    assert logconfig_dict("info", "off")["handlers"]["access"]["class"] == "logging.NullHandler"
    assert logconfig_dict("info", "/var/log/opsdiag/access.log")["handlers"]["access"]["filename"] == \
        "/var/log/opsdiag/access.log"


def test_request_ids_are_uuids_and_forked_workers_do_not_repeat_each_other():
    """gunicorn forks its workers after the app module is imported: each must draw its own ids."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # a worker
        os.write(write, "\n".join(request_id_of({}) for _ in range(100)).encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    with os.fdopen(read) as pipe:
        theirs = set(pipe.read().split("\n"))
    ours = {request_id_of({}) for _ in range(100)}
    assert len(theirs) == len(ours) == 100 and not theirs & ours
    assert all(uuid.UUID(rid).version == 4 for rid in ours | theirs)
    assert request_id_of({"HTTP_X_REQUEST_ID": "erp-42"}) == "erp-42"
    assert request_id_of({"HTTP_X_REQUEST_ID": "bad\nid"}) != "bad\nid"
