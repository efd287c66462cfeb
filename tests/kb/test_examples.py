"""Every rule's examples: the payloads it must answer, and the near misses it must not."""

import pytest
import yaml

from rules.engine import Engine
from rules.engine.normalize import normalize
from rules.engine.trace import trace
from rules.kb.lint import lint
from rules.kb.loader import load_directory
from service.schemas import DiagnoseRequestSchema
from tests.conftest import KB_DIR

RULES = load_directory(KB_DIR)[1]
SCHEMA = DiagnoseRequestSchema()
MATCH = [pytest.param(r, n, id=f"{r.id}-{n}") for r in RULES for n in range(len(r.examples_match))]
NO_MATCH = [pytest.param(r, n, id=f"{r.id}-{n}") for r in RULES for n in range(len(r.examples_no_match))]


@pytest.fixture(scope="module")
def engine():
    engine = Engine(RULES, "examples")
    yield engine
    engine.close()


@pytest.mark.parametrize("rule, n", MATCH)
def test_rule_answers_its_examples(engine, rule, n):
    payload = SCHEMA.load(rule.examples_match[n])
    fact = normalize(payload)
    matched = engine.match(fact)
    failed = [s for s in trace(rule, fact) if not s.passed]
    assert rule in matched, f"conditions that failed: {failed}"
    assert matched[0].category == rule.category, f"{matched[0].id} outranks it"
    diagnosis = engine.diagnose(payload)["diagnoses"][0]
    assert "?" not in diagnosis["title"], "a placeholder of the title has no value"


@pytest.mark.parametrize("rule, n", NO_MATCH)
def test_rule_ignores_its_near_misses(engine, rule, n):
    payload = SCHEMA.load(rule.examples_no_match[n])
    assert rule not in engine.match(normalize(payload))


def test_lint_finds_no_errors():
    problems = [str(p) for p in lint(RULES, SCHEMA.load) if p.level == "error"]
    assert problems == []


def test_every_rule_speaks_both_languages():
    for rule in RULES:
        assert set(rule.texts) == {"en", "zh-CN"}
        zh = rule.texts["zh-CN"]
        assert any("\u4e00" <= ch <= "\u9fff" for ch in zh.title + zh.explanation), rule.id


def test_readme_example_is_a_real_rule():
    readme = (KB_DIR / "README.md").read_text(encoding="utf-8")
    marker = "<!-- example-rule: "
    start = readme.index(marker) + len(marker)
    rule_id = readme[start:readme.index(" -->", start)]
    begin = readme.index("```yaml\n", start) + len("```yaml\n")
    block = readme[begin:readme.index("\n```", begin)]
    documented = yaml.safe_load(block)[0]
    platform = rule_id.split(".")[0]
    on_disk = [
        rule
        for path in sorted((KB_DIR / platform).glob("*.yaml"))
        for rule in yaml.safe_load(path.read_text(encoding="utf-8"))["rules"]
        if rule["id"] == rule_id
    ]
    assert on_disk == [documented]
