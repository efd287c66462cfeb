"""service/web/problems.py: every error as an RFC 9457 problem (application/problem+json).

Driven through a small Flask app with the module's handlers registered, as create_app
registers them: the body's `status` is the HTTP status, `title` and `type` are always
there, invalid fields are listed under `invalid-params` by their path, the headers an
error needs (Allow, WWW-Authenticate, Retry-After) are kept, and a crash tells nothing
of the code that crashed.
"""

import logging

import pytest
from flask import Flask
from marshmallow import Schema, ValidationError, fields, validates_schema
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.exceptions import BadRequest, TooManyRequests, Unauthorized

from service.web.problems import PROBLEM, problem, register


class Item(Schema):
    sku = fields.String(required=True)
    quantity = fields.Integer(required=True)


class Order(Schema):
    order_id = fields.String(required=True)
    items = fields.List(fields.Nested(Item), required=True)

    @validates_schema
    def not_both(self, data, **kwargs):
        if data.get("order_id") == "0":
            raise ValidationError("order 0 is reserved")
        if data.get("order_id") == "00":
            raise ValidationError("order 00: reserved (see: the handbook)")
        if data.get("order_id") == "1":
            raise ValidationError("quantity: not with order 1", "items")


SECRET_DETAIL = "KeyError: 'db_password' in /srv/opsdiag/service/store.py line 42"


@pytest.fixture(scope="module")
def web():
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = 64
    register(app)

    @app.post("/orders")
    def orders():
        from flask import request
        Order().load(request.get_json())
        return {"ok": True}

    @app.get("/crash")
    def crash():
        raise KeyError(SECRET_DETAIL)

    @app.get("/locked")
    def locked():
        raise Unauthorized("an API key is needed", www_authenticate=WWWAuthenticate("bearer", {"realm": "opsdiag"}))

    @app.get("/slow-down")
    def slow_down():
        raise TooManyRequests("too many requests from this key", retry_after=30)

    @app.get("/bad")
    def bad():
        raise BadRequest("the JSON body is nested too deeply")

    @app.get("/custom")
    def custom():
        return problem(409, "Conflict", "version 7 is already published",
                       type_="https://opsdiag.example/problems/conflict", extensions={"current_version": 7})

    return app.test_client()


def problem_of(response, status):
    assert response.status_code == status
    assert response.mimetype == PROBLEM
    body = response.get_json()
    assert body["status"] == status and body["title"] and body["type"]
    return body


def test_a_validation_error_is_422_with_every_invalid_field_named_by_its_path(web):
    body = problem_of(web.post("/orders", json={"items": [{"sku": "A"}, {"quantity": "x", "sku": "B"}]}), 422)
    params = {p["name"]: p["reason"] for p in body["invalid-params"]}
    assert params == {"order_id": "Missing data for required field.",
                      "items.0.quantity": "Missing data for required field.",
                      "items.1.quantity": "Not a valid integer."}
    assert body["title"] == "Invalid request" and body["type"] == "about:blank"
    assert body["detail"].startswith("invalid fields: ")
    assert set(body["detail"].removeprefix("invalid fields: ").split(", ")) == set(params)


def test_an_error_of_the_whole_document_has_an_empty_name_and_no_detail(web):
    body = problem_of(web.post("/orders", json={"order_id": "0", "items": []}), 422)
    assert body["invalid-params"] == [{"name": "", "reason": "order 0 is reserved"}]
    assert "detail" not in body


def test_a_message_holding_a_colon_is_not_split_into_a_made_up_field_name(web):
    body = problem_of(web.post("/orders", json={"order_id": "00", "items": []}), 422)
    assert body["invalid-params"] == [{"name": "", "reason": "order 00: reserved (see: the handbook)"}]
    assert "detail" not in body
    named = problem_of(web.post("/orders", json={"order_id": "1", "items": []}), 422)
    assert named["invalid-params"] == [{"name": "items", "reason": "quantity: not with order 1"}]
    assert named["detail"] == "invalid fields: items"


def test_content_over_the_limit_is_413_saying_the_limit(web):
    body = problem_of(web.post("/orders", data=b"x" * 65, content_type="application/json"), 413)
    assert body["invalid-params"] == [{"name": "content", "reason": "larger than 64 bytes"}]
    assert "64 bytes" in body["detail"]


def test_http_errors_keep_their_name_and_description(web):
    body = problem_of(web.get("/bad"), 400)
    assert (body["title"], body["detail"]) == ("Bad Request", "the JSON body is nested too deeply")
    assert set(body) == {"type", "title", "status", "detail"}
    assert problem_of(web.get("/no/such/route"), 404)["title"] == "Not Found"


def test_a_wrong_method_is_405_and_says_which_methods_are_allowed(web):
    response = web.delete("/orders")
    problem_of(response, 405)
    assert set(response.headers["Allow"].replace(" ", "").split(",")) >= {"POST"}


def test_the_headers_an_error_carries_are_kept_but_the_media_type_stays_problem_json(web):
    response = web.get("/slow-down")
    assert problem_of(response, 429)["detail"] == "too many requests from this key"
    assert response.headers["Retry-After"] == "30"
    assert response.headers.getlist("Content-Type") == [PROBLEM]


def test_a_401_keeps_its_challenge(web):
    response = web.get("/locked")
    assert problem_of(response, 401)["detail"] == "an API key is needed"
    assert response.headers["WWW-Authenticate"].lower().startswith("bearer") and "opsdiag" in response.headers[
        "WWW-Authenticate"]


def test_an_unexpected_error_is_500_logged_and_tells_nothing_of_the_code(web, caplog):
    with caplog.at_level(logging.ERROR):
        response = web.get("/crash")
    body = problem_of(response, 500)
    assert body == {"type": "about:blank", "title": "Internal Server Error", "status": 500,
                    "detail": "the error was logged"}
    text = response.get_data(as_text=True)
    assert "db_password" not in text and "Traceback" not in text and "store.py" not in text
    assert any(r.exc_info and "db_password" in str(r.exc_info[1]) for r in caplog.records)


def test_a_problem_may_have_its_own_type_and_extension_members(web):
    body = problem_of(web.get("/custom"), 409)
    assert body == {"type": "https://opsdiag.example/problems/conflict", "title": "Conflict", "status": 409,
                    "detail": "version 7 is already published", "current_version": 7}


def test_the_real_app_answers_a_method_it_lacks_as_a_problem_with_allow(client):
    response = client.put("/diagnose", json={})
    body = problem_of(response, 405)
    assert "POST" in response.headers["Allow"] and body["title"] == "Method Not Allowed"


def test_the_real_app_names_the_invalid_field_of_a_payload(client):
    response = client.post("/diagnose", json={"status": "four hundred", "endpoint": "/x"})
    body = problem_of(response, 422)
    assert [p["name"] for p in body["invalid-params"]] == ["status"]
    assert "status" in body["detail"]
