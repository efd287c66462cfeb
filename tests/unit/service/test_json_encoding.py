"""The JSON provider (service/web/json_encoding.py): orjson's speed, Flask's output."""

import datetime as dt
import json
import uuid
from decimal import Decimal

from flask import Flask
from flask.json.provider import DefaultJSONProvider

from service.web.json_encoding import OrjsonProvider

COMPACT = {"separators": (",", ":")}  # how Flask calls dumps to build a response


APP = Flask(__name__)  # providers hold their app weakly


def providers():
    ours, flask = OrjsonProvider(APP), DefaultJSONProvider(APP)
    flask.ensure_ascii, flask.sort_keys = False, False
    return ours, flask


def test_the_same_text_as_flask_for_what_answers_hold():
    ours, flask = providers()
    value = {"z": 1, "a": [True, None, 1.5, "店铺 ✓ \"quoted\" \n"],
             "when": dt.datetime(2025, 7, 15, 8, 0, tzinfo=dt.UTC), "day": dt.date(2025, 7, 15),
             "id": uuid.UUID(int=7), "amount": Decimal("12.30"), "nested": {"b": {}, "c": []}}
    assert ours.dumps(value, **COMPACT) == flask.dumps(value, **COMPACT)
    assert list(json.loads(ours.dumps(value, **COMPACT))) == ["z", "a", "when", "day", "id", "amount", "nested"]
    assert "店铺" in ours.dumps(value, **COMPACT)  # UTF-8, not \\u escapes


def test_what_orjson_refuses_goes_to_the_standard_library():
    ours, flask = providers()
    huge = {"code": 10**30}  # beyond 64 bits: an order number read from a body, say
    assert ours.dumps(huge, **COMPACT) == flask.dumps(huge, **COMPACT) == '{"code":1000000000000000000000000000000}'
    lone = {"message": "truncated \udc80"}
    assert ours.dumps(lone, **COMPACT) == flask.dumps(lone, **COMPACT)
    assert ours.dumps({"a": 1}, indent=2) == flask.dumps({"a": 1}, indent=2)  # other json.dumps arguments
    assert ours.dumps({"a": 1}) == flask.dumps({"a": 1}) == '{"a": 1}'


def test_responses_take_the_fast_path(monkeypatch):
    ours, _ = providers()
    calls = []
    monkeypatch.setattr("service.web.json_encoding.orjson.dumps",
                        lambda *args, **kwargs: calls.append(args) or b'{"a":1}')
    with APP.app_context():
        response = ours.response({"a": 1})
    assert calls and response.get_data() == b'{"a":1}\n'  # not through the standard library


def test_not_a_number_is_null_not_invalid_json():
    ours, _ = providers()
    assert json.loads(ours.dumps({"ratio": float("nan"), "limit": float("inf")}, **COMPACT)) == \
        {"ratio": None, "limit": None}


def test_sorted_keys_when_the_provider_says_so():
    ours, _ = providers()
    ours.sort_keys = True
    assert ours.dumps({"b": 1, "a": 2}, **COMPACT) == '{"a":2,"b":1}'
