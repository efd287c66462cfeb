"""The `opsdiag` command as a curator and an operator use it."""

import json

import yaml
from click.testing import CliRunner

from rules.kb.store import Store
from service.cli import main
from tests.conftest import KB_DIR


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_kb_load_publishes_once_then_is_a_no_op(tmp_path):
    url = f"sqlite:///{tmp_path / 'kb.db'}"
    first = run("kb", "load", "--dir", KB_DIR, "--database-url", url)
    assert first.exit_code == 0, first.output
    assert "new version 1" in first.output
    again = run("kb", "load", "--dir", KB_DIR, "--database-url", url)
    assert "unchanged, still 1" in again.output
    assert Store(url).current_version() == 1


def test_kb_load_refuses_a_broken_rule_and_loads_nothing(tmp_path):
    (tmp_path / "generic").mkdir()
    (tmp_path / "generic" / "bad.yaml").write_text(yaml.safe_dump(
        {"platform": "generic", "rules": [{"id": "generic.http.bad", "priority": 1}]}))
    url = f"sqlite:///{tmp_path / 'kb.db'}"
    result = CliRunner().invoke(main, ["kb", "load", "--dir", str(tmp_path), "--database-url", url])
    assert result.exit_code != 0
    assert "generic/bad.yaml: generic.http.bad: when: Missing data for required field." in result.output
    assert not (tmp_path / "kb.db").exists()


def test_kb_lint_passes_on_the_knowledge_base():
    result = run("kb", "lint", "--dir", KB_DIR)
    assert result.exit_code == 0, result.output
    assert " 0 error(s)" in result.output


def test_diagnose_prints_the_diagnosis_of_a_file(tmp_path):
    payload = tmp_path / "error.json"
    payload.write_text(json.dumps({"status": 503, "endpoint": "https://api.lazada.sg/rest/orders/get"}))
    result = run("diagnose", payload, "--dir", KB_DIR, "--lang", "zh-CN")
    assert result.exit_code == 0, result.output
    answer = json.loads(result.output)
    assert (answer["platform"], answer["region"], answer["domain"]) == ("lazada", "SG", "orders")
    assert answer["diagnoses"][0]["owner"] == "platform"


def test_diagnose_rejects_an_invalid_payload(tmp_path):
    payload = tmp_path / "error.json"
    payload.write_text(json.dumps({"status": "oops"}))
    result = CliRunner().invoke(main, ["diagnose", str(payload), "--dir", str(KB_DIR)])
    assert result.exit_code != 0
    assert "endpoint" in result.output and "status" in result.output


def test_keys_create_prints_a_working_key_once(tmp_path):
    from service.web.keys import verify

    url = f"sqlite:///{tmp_path / 'kb.db'}"
    result = CliRunner().invoke(main, ["keys", "create", "--role", "admin", "--database-url", url])
    assert result.exit_code == 0, result.output
    key = result.stdout.strip().splitlines()[-1]
    row = verify(Store(url), key)
    assert row is not None and row.role == "admin"
    assert verify(Store(url), key + "x") is None


def test_kb_export_writes_a_tree_that_loads_back_identically(tmp_path):
    from rules.kb.loader import checksum, read_directory

    url = f"sqlite:///{tmp_path / 'kb.db'}"
    run("kb", "load", "--dir", KB_DIR, "--database-url", url)
    result = run("kb", "export", tmp_path / "out", "--database-url", url)
    assert result.exit_code == 0, result.output
    assert checksum(read_directory(tmp_path / "out")) == checksum(read_directory(KB_DIR))
    assert run("kb", "load", "--dir", tmp_path / "out", "--database-url", url).output.find("unchanged") >= 0
