"""The fact-check record: every rule has one, and none is unsupported (docs/factcheck/)."""


import yaml

from rules.kb.loader import load_directory
from tests.conftest import KB_DIR, ROOT

RECORDS_FILE = ROOT / "docs/factcheck/records.yaml"
RECORDS = yaml.safe_load(RECORDS_FILE.read_text(encoding="utf-8"))["rules"]
RULE_IDS = {rule.id for rule in load_directory(KB_DIR)[1]}


def test_every_rule_of_the_knowledge_base_has_a_fact_check_record():
    assert sorted(RULE_IDS - set(RECORDS)) == []


def test_no_record_is_left_for_a_rule_that_is_gone():
    assert sorted(set(RECORDS) - RULE_IDS) == []


def test_no_rule_carries_an_unsupported_claim():
    assert [rule_id for rule_id, record in RECORDS.items() if record["status"] == "unsupported"] == []


def test_each_record_says_what_was_checked_and_what_was_not():
    for rule_id, record in RECORDS.items():
        assert record["status"] in {"verified", "partly", "unsupported"}, rule_id
        assert record["checked"] or record.get("not confirmed"), rule_id
        assert (record["status"] == "verified") == (not record.get("not confirmed")), rule_id
