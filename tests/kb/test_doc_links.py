"""Every relative link of the README, SECURITY.md, kb_content/README.md and docs/ leads to a file
that exists, and to a heading of it."""

import re

import pytest

from tests.conftest import ROOT

DOCUMENTS = [ROOT / "README.md", ROOT / "SECURITY.md", ROOT / "kb_content" / "README.md",
             *sorted((ROOT / "docs").rglob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def anchors(path) -> set[str]:
    """GitHub's anchors of the headings of a Markdown file."""
    text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.S)
    titles = re.findall(r"^#+ (.+)$", text, re.M)
    return {re.sub(r"[^\w\- ]", "", title.strip().lower()).replace(" ", "-") for title in titles}


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(document):
    text = re.sub(r"```.*?```", "", document.read_text(encoding="utf-8"), flags=re.S)
    for target in LINK.findall(text):
        if re.match(r"[a-z]+:", target):
            continue
        file, _, anchor = target.partition("#")
        path = (document.parent / file).resolve() if file else document
        assert path.exists(), f"{document.name}: {target} leads nowhere"
        if anchor and path.suffix == ".md":
            assert anchor in anchors(path), f"{document.name}: {target}: no such heading"


def test_every_dependency_is_in_docs_dependencies():
    """docs/dependencies.md, "Dependencies and why", names every package pyproject.toml declares."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = [*project["dependencies"], *(d for extra in project["optional-dependencies"].values() for d in extra)]
    declared = {re.match(r"[A-Za-z0-9_.-]+", d).group(0).lower() for d in declared}
    table = (ROOT / "docs" / "dependencies.md").read_text(encoding="utf-8")
    documented = set()
    for cell in re.findall(r"^\| ([^|]+) \|", table, re.M):
        for name in re.sub(r"\([^)]*\)|\[[^]]*\]", "", cell).split(","):
            documented.add(name.strip().lower())
    assert declared - documented == set(), "say why in docs/dependencies.md"


def test_every_command_is_in_the_documented_command_line():
    """docs/operating.md, "Command line", lists every `opsdiag` command."""
    import click

    from service.cli import main

    def commands(command, words):
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                yield from commands(sub, [*words, name])
        else:
            yield " ".join(words)

    text = (ROOT / "docs" / "operating.md").read_text(encoding="utf-8")
    section = text[text.index("\n## Command line"):]
    listed = re.search(r"```\n(.*?)```", section, re.S).group(1)
    missing = [name for name in commands(main, []) if not re.search(rf"^opsdiag {name}\b", listed, re.M)]
    assert missing == [], "list them in docs/operating.md, 'Command line'"
