"""Rule regexes run on RE2 (linear time): a catastrophic pattern cannot hang a worker, and a
pattern RE2 cannot compile (backreference, lookaround) is refused at validation, by field.

The "answers promptly" proofs run in a subprocess with a generous timeout: a backtracking
engine would need minutes to hours on these inputs (a 100,000-character message), RE2
needs milliseconds. There is no timing assertion, only "it finished".
"""

import copy
import functools
import json
import subprocess
import sys
import textwrap

import pytest
import re2
import yaml

from rules.engine.compiler import compile_regex
from rules.kb.loader import read_directory
from tests.conftest import KB_DIR, ROOT

TIMEOUT = 30  # seconds, start-up included; backtracking on these inputs would take hours
BOOTSTRAP = "regex-safety-admin-key-0123456789"
LONG = "a" * 100_000 + "!"
# pattern -> (a payload body it must match, one it must not); Python's `re` backtracks
# exponentially on `(a+)+$` against LONG, and quadratically (10^10 steps) on the other two.
CATASTROPHIC = {
    "(a+)+$": ({"detail": "aaaa"}, {"detail": LONG}),
    "(.*a){20}": ({"detail": LONG}, {"detail": "b" * 100_000 + "!"}),
    "(x+x+)+y": ({"detail": "xxy"}, {"detail": "x" * 100_000}),
}
REFUSED = {
    r"(a)\1": "backreference",
    "foo(?=bar)": "lookahead",
    "foo(?!bar)": "negative lookahead",
    "(?<=a)b": "lookbehind",
    "(?<!a)b": "negative lookbehind",
    "(?>a+)b": "atomic group",
    "a++": "possessive quantifier",
}


@functools.cache
def _template() -> dict:
    return next(d.body for d in read_directory(KB_DIR) if d.rule_id == "generic.http.bad_request")


def rule_body(rule_id: str, pattern: str, match: dict, no_match: dict) -> dict:
    """A complete rule (texts borrowed from kb_content) whose one condition is `pattern` on
    the body's `detail`, with the given examples."""
    body = copy.deepcopy(_template())
    example = {"status": 418, "method": "POST", "endpoint": "https://erp.example.com/api/v1/orders",
               "platform": "generic"}
    body.update(id=rule_id, priority=5, when={"status": 418, "body": {"detail": {"regex": pattern}}},
                examples={"match": [{**example, "body": match}], "no_match": [{**example, "body": no_match}]})
    return body


def test_rule_regexes_are_compiled_by_re2_and_run_in_linear_time():
    for pattern in CATASTROPHIC:
        compiled = compile_regex(pattern)
        assert type(compiled).__module__.startswith("re2"), type(compiled)
    assert compile_regex("(a+)+$").search(LONG) is None  # would not return under backtracking
    for pattern in REFUSED:
        with pytest.raises(re2.error):
            compile_regex(pattern)


ADMIN_SCRIPT = textwrap.dedent("""
    import json, sys, tempfile
    from rules.kb.loader import read_directory
    from rules.runtime import KnowledgeBase
    from rules.kb.store import Store
    from service.web.app import create_app
    from tests.conftest import KB_DIR

    rules, key = json.load(sys.stdin), sys.argv[1]
    store = Store(f"sqlite:///{tempfile.mkdtemp()}/kb.db")
    store.create_schema()
    store.publish([d for d in read_directory(KB_DIR) if d.file == "generic/http.yaml"], author="t")  # small: quick
    app = create_app({"TESTING": True, "BOOTSTRAP_ADMIN_KEY": key}, kb=KnowledgeBase(store, KB_DIR))
    client = app.test_client()
    auth = {"Authorization": f"Bearer {key}"}
    out = []
    for body in rules:
        created = client.post("/admin/v1/rules", json=body, headers=auth)
        tried = [client.post(f"/admin/v1/rules/{body['id']}/test", json={"payload": example}, headers=auth)
                 for example in (*body["examples"]["match"], *body["examples"]["no_match"])]
        out.append({"created": created.status_code, "detail": (created.get_json() or {}).get("detail"),
                    "matched": [t.get_json().get("matched") for t in tried]})
    print(json.dumps(out))
""")


@pytest.mark.system  # starts processes
def test_catastrophic_patterns_through_the_admin_api_are_answered_promptly():
    rules = [rule_body(f"generic.redos.p{i}", pattern, match, no_match)
             for i, (pattern, (match, no_match)) in enumerate(CATASTROPHIC.items())]
    done = subprocess.run([sys.executable, "-c", ADMIN_SCRIPT, BOOTSTRAP], input=json.dumps(rules), cwd=ROOT,
                          capture_output=True, text=True, timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(done.stdout.strip().splitlines()[-1])
    for pattern, result in zip(CATASTROPHIC, results, strict=True):
        # saved as a draft (its examples ran through the engine), then tried on both examples
        assert result["created"] == 201, (pattern, result["detail"])
        assert result["matched"] == [True, False], pattern


def test_patterns_re2_cannot_compile_are_refused_by_the_admin_api_naming_the_field(tmp_path):
    from rules.kb.store import Store
    from rules.runtime import KnowledgeBase
    from service.web.app import create_app
    from tests.conftest import contract_checked

    store = Store(f"sqlite:///{tmp_path / 'kb.db'}")
    store.create_schema()
    store.publish([d for d in read_directory(KB_DIR) if d.file == "generic/http.yaml"], author="t")
    kb = KnowledgeBase(store, KB_DIR)
    app = contract_checked(create_app({"TESTING": True, "BOOTSTRAP_ADMIN_KEY": BOOTSTRAP}, kb=kb))
    client = app.test_client()
    for i, (pattern, what) in enumerate(REFUSED.items()):
        body = rule_body(f"generic.refused.p{i}", pattern, {"detail": "a"}, {"detail": "b"})
        response = client.post("/admin/v1/rules", json=body, headers={"Authorization": f"Bearer {BOOTSTRAP}"})
        assert response.status_code == 422, (what, response.get_json())
        params = response.get_json()["invalid-params"]
        assert [p["name"] for p in params] == ["when.body.detail"], (what, params)
        assert "bad regular expression" in params[0]["reason"], (what, params)
    assert app.extensions["contract_violations"] == []
    kb.engine.close()
    store.dispose()


def write_kb(tmp_path, rules: list[dict]):
    kb_dir = tmp_path / "kb"
    (kb_dir / "generic").mkdir(parents=True)
    (kb_dir / "generic" / "redos.yaml").write_text(
        yaml.safe_dump({"platform": "generic", "rules": rules}, allow_unicode=True, sort_keys=False))
    return kb_dir


@pytest.mark.system  # starts processes
def test_catastrophic_patterns_through_kb_lint_are_answered_promptly(tmp_path):
    rules = [rule_body(f"generic.redos.p{i}", pattern, match, no_match)
             for i, (pattern, (match, no_match)) in enumerate(CATASTROPHIC.items())]
    done = subprocess.run([sys.executable, "-m", "service.cli", "kb", "lint", "--dir", str(write_kb(tmp_path, rules))],
                          cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert f"{len(CATASTROPHIC)} rules, 0 error(s)" in done.stdout


@pytest.mark.system  # starts processes
def test_patterns_re2_cannot_compile_are_refused_by_kb_lint_naming_the_field(tmp_path):
    rules = [rule_body(f"generic.refused.p{i}", pattern, {"detail": "a"}, {"detail": "b"})
             for i, pattern in enumerate(REFUSED)]
    done = subprocess.run([sys.executable, "-m", "service.cli", "kb", "lint", "--dir", str(write_kb(tmp_path, rules))],
                          cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT)
    assert done.returncode != 0
    for i, pattern in enumerate(REFUSED):
        line = next(x for x in done.stderr.splitlines() if f"generic.refused.p{i}" in x)
        assert "when.body.detail" in line and "bad regular expression" in line and repr(pattern) in line, line
