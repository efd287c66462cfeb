"""The knowledge base is broad enough to trust: size, taxonomy coverage, both languages."""

from click.testing import CliRunner

from rules.kb.coverage import coverage, render
from rules.model import PLATFORMS
from service.cli import main
from service.schemas import DiagnoseRequestSchema
from tests.conftest import KB_DIR


def test_every_category_is_covered_on_two_platforms_or_generically(kb_rules):
    cov = coverage(kb_rules, DiagnoseRequestSchema().load)
    assert cov.gaps() == []


def test_at_least_150_rules_over_every_platform(kb_rules):
    assert len(kb_rules) >= 150
    assert {p for r in kb_rules for p in r.platforms} == set(PLATFORMS)


def test_markdown_table_lists_every_category(kb_rules):
    cov = coverage(kb_rules, DiagnoseRequestSchema().load)
    text = render(cov, "markdown")
    assert text.startswith(f"| category | {' | '.join(PLATFORMS)} | total |")  # a column per registered platform
    assert "| validation.missing_field |" in text
    result = CliRunner().invoke(main, ["kb", "coverage", "--dir", str(KB_DIR), "--format", "markdown"])
    assert result.exit_code == 0 and result.output.strip() == text


def test_documented_coverage_table_is_current(kb_rules):
    """docs/writing-rules.md, "Coverage", is what `opsdiag kb coverage --format markdown` prints."""
    from rules.kb.coverage import coverage, render
    from service.schemas import DiagnoseRequestSchema
    from tests.conftest import ROOT

    matrix = render(coverage(kb_rules, DiagnoseRequestSchema().load), "markdown").split("\n\n")[0].strip()
    documented = (ROOT / "docs" / "writing-rules.md").read_text(encoding="utf-8")
    assert matrix in documented, "regenerate docs/writing-rules.md's table: opsdiag kb coverage --format markdown"
