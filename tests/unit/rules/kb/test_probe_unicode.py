"""Hostile probe, item 1: an unpaired surrogate spelled inside a string body.

The outer JSON is clean ASCII; the body string holds JSON whose message is `"\\ud800"`.
Decoding it makes a real lone surrogate, which no UTF-8 encoder takes. Every way in must
answer it (U+FFFD in its place), never a 500, a failed batch, a crashed summary or a
failed gap flush."""

import json

from click.testing import CliRunner

from rules.engine.normalize import normalize
from rules.jsontext import loads
from rules.kb import gaps
from rules.kb.gaps import Unmatched
from rules.kb.store import Store
from service.cli import main
from tests.conftest import KB_DIR

LONE = '{"message":"\\ud800 and \\udc80 but \\ud83d\\ude00 is a pair"}'
PAYLOAD = {"status": 400, "endpoint": "https://example.com/x", "body": LONE}


def test_loads_replaces_unpaired_surrogates_and_keeps_pairs():
    assert loads(LONE) == {"message": "\ufffd and \ufffd but \U0001f600 is a pair"}
    assert loads('{"\\udfff": ["\\ud800"]}') == {"\ufffd": ["\ufffd"]}


def test_normalize_gives_a_message_that_encodes_as_utf8():
    fact = normalize(PAYLOAD)
    fact.message.encode("utf-8")
    assert "\ufffd" in fact.message and "\U0001f600" in fact.message


def test_diagnose_answers_the_body_with_replacement_characters(client):
    unmatched = {**PAYLOAD, "status": 200, "body": '{"code": 777001, "message": "\\ud800 odd"}'}
    for payload in (PAYLOAD, unmatched):
        response = client.post("/diagnose", data=json.dumps(payload), content_type="application/json")
        assert response.status_code == 200, response.data[:300]
    assert response.get_json()["diagnoses"][0]["evidence"]["message"] == "\ufffd odd"


def test_one_such_item_fails_nothing_in_a_batch(client):
    response = client.post("/diagnose/batch", json={"items": [PAYLOAD, {"status": 503, "endpoint": "/a"}]})
    assert response.status_code == 200, response.data[:300]
    results = response.get_json()["results"]
    assert [("error" in r) for r in results] == [False, False]


def test_opsdiag_batch_writes_rows_and_summary(tmp_path):
    source = tmp_path / "log.jsonl"
    source.write_text(json.dumps(PAYLOAD) + "\n" + json.dumps({**PAYLOAD, "body": {"message": LONE}}) + "\n")
    out, summary = tmp_path / "out.jsonl", tmp_path / "summary.html"
    result = CliRunner().invoke(main, ["batch", str(source), "-o", str(out), "--summary", str(summary),
                                       "--dir", str(KB_DIR)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 2
    summary.read_text(encoding="utf-8").encode("utf-8")


def test_the_gap_store_keeps_such_an_error(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'kb.db'}")
    store.create_schema()
    payload = {**PAYLOAD, "status": 200, "body": '{"code": 777001, "message": "\\ud800 odd"}'}
    fact = normalize(payload)
    item = Unmatched(platform=fact.platform, region=None, domain=fact.domain, status=200, code=fact.code,
                     message=fact.message, payload=payload, endpoint=fact.endpoint)
    assert gaps.record(store, [item]) == 1
    [gap] = gaps.top_gaps(store, limit=5)
    assert "\ufffd" in gap.template
    store.dispose()
