"""`make mutate`: mutation testing of the core modules with mutmut, each module against its own
fast unit tests; prints the score per module and the mutants that survived.

mutmut reads one configuration per project root, so each module gets a scratch root of its
own under build/mutate/ (links to the tree, and pyproject.toml with that module's
[tool.mutmut]); mutmut copies it into mutants/ there and keeps its results. A run tests
every mutant of the module again (the tests may have changed); with --survivors only those
that were not caught last time, which is the quick loop while tests are being written.
Why mutmut, and the survivors that are equivalent: tests/MUTATION.md.

    python -m tests.mutate [--survivors] [MODULE ...]   e.g. `python -m tests.mutate rules/engine/score.py`
"""

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRATCH = ROOT / "build" / "mutate"
THRESHOLD = 85.0
LINKED = ("rules", "service", "tests", "kb_content", "eval", "openapi.yaml", "README.md", "docs", "SECURITY.md")
CAUGHT = {"killed", "timeout", "caught by type check"}
NOT_RUN = {"skipped", "not checked"}
SLOW = (  # tests that start servers, poll or go over the whole knowledge base: each says nothing
    # about its module that a fast test of it does not (named after each)
    "tests/api/test_privacy.py::test_nothing_personal_or_secret_reaches_the_database_or_the_logs",
    "tests/unit/rules/kb/test_store.py::test_followers_swap_to_a_published_version",
    # every example of kb_content diagnosed 20 times (11 s a mutant under mutmut, 2.5 s plain):
    # test_explain.py::test_no_fact_is_left_behind_in_the_rulesets asks the same of a few rules
    "tests/unit/rules/engine/test_engine.py::test_no_state_is_left_behind",
    # compiles the whole knowledge base to close it (1.5 s a mutant): test_explain.py's
    # test_a_closed_engine_refuses_to_rank_and_closing_twice_is_harmless does so with one rule
    "tests/unit/rules/engine/test_engine.py::test_a_closed_engine_refuses_work",
    # every kb_content example masked and diagnosed again, and a draft stored and refused (6 s and
    # a KB load a mutant): test_masking.py and the unit test_privacy.py ask what is and is not
    # masked directly; these two are about the knowledge base and the curation that use privacy.py
    "tests/api/test_privacy.py::test_every_kb_content_example_still_holds_once_masked",
    "tests/api/test_privacy.py::test_a_draft_whose_rule_depends_on_masked_example_data_is_refused_with_why",
)
ENGINE = "tests/unit/rules/engine/"


@dataclass(frozen=True)
class Target:
    path: str  # the module mutated
    tests: tuple[str, ...]  # its own fast unit tests
    only: str = ""  # a function of it (a mutmut name pattern), when only that one is core

    @property
    def name(self) -> str:
        return self.path.removesuffix(".py").replace("/", ".")

    @property
    def pattern(self) -> str:
        return self.only or f"{self.name}.*"


TARGETS = (
    Target("rules/engine/normalize.py", (f"{ENGINE}test_normalize.py", f"{ENGINE}test_unwrap.py")),
    Target("rules/engine/match.py", (f"{ENGINE}test_engine.py", f"{ENGINE}test_score.py", f"{ENGINE}test_explain.py",
                                     f"{ENGINE}test_conditions.py")),
    Target("rules/engine/pipeline.py", (f"{ENGINE}test_engine.py", f"{ENGINE}test_score.py",
                                        f"{ENGINE}test_explain.py")),
    Target("rules/engine/score.py", (f"{ENGINE}test_score.py",)),
    Target("rules/engine/explain.py", (f"{ENGINE}test_explain.py", f"{ENGINE}test_score.py")),
    Target("rules/engine/compiler.py", (f"{ENGINE}test_compiler.py", f"{ENGINE}test_conditions.py")),
    Target("rules/privacy.py", ("tests/unit/rules/test_masking.py", "tests/unit/rules/test_privacy.py",
                                "tests/api/test_privacy.py")),
    Target("service/limits.py", ("tests/api/test_limits.py",)),
    Target("rules/kb/store.py", ("tests/unit/rules/kb/test_store.py",),
           only="rules.kb.store.xǁStoreǁpublish__mutmut_*"),
    Target("service/batch/readers.py", ("tests/unit/service/batch/test_readers.py",)),
)


def config(target: Target) -> str:
    """The [tool.mutmut] table of one module's scratch root."""
    listed = ", ".join(f'"{t}"' for t in target.tests)
    deselect = ", ".join(f'"--deselect", "{t}"' for t in SLOW if t.split("::")[0] in target.tests)
    also = ", ".join(f'"{p}"' for p in LINKED if p not in ("rules", "service", "tests"))
    # Each mutant's run is forked from mutmut's process, whose caches hold the unmutated code's
    # answers: tests/conftest.py's pytest_sessionstart empties them (MUTANT_UNDER_TEST is set).
    return (f'\n[tool.mutmut]\nsource_paths = ["rules", "service"]\nonly_mutate = ["{target.path}"]\n'
            f"also_copy = [{also}]\npytest_add_cli_args = [\"-p\", \"no:randomly\", \"-q\"{', ' if deselect else ''}"
            f"{deselect}]\npytest_add_cli_args_test_selection = [{listed}]\n")


def prepare(target: Target) -> Path:
    root = SCRATCH / target.name
    root.mkdir(parents=True, exist_ok=True)
    for name in LINKED:
        link = root / name
        if not link.is_symlink():
            link.symlink_to(ROOT / name)
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8") + config(target)
    project = root / "pyproject.toml"
    if not project.exists() or project.read_text(encoding="utf-8") != text:
        project.write_text(text, encoding="utf-8")
    refresh_copies(root, target)
    return root


def refresh_copies(root: Path, target: Target) -> None:
    """Drop mutants/'s copies of the modules not mutated that changed or went away since:
    mutmut copies a module only when it has no copy yet, so the tests would otherwise run
    against the other modules as they were at the first run (or a module moved away)."""
    for package in ("rules", "service"):
        copied = root / "mutants" / package
        if not copied.is_dir():
            continue
        for copy in copied.rglob("*"):
            relative = copy.relative_to(root / "mutants")
            if not copy.is_file() or relative.as_posix() == target.path or relative.suffix in (".meta", ".spans"):
                continue
            source = ROOT / relative
            if not source.is_file() or source.read_bytes() != copy.read_bytes():
                copy.unlink()


def statuses(root: Path, target: Target) -> dict[str, str]:
    """mutant name -> mutmut's verdict, for the mutants of the target."""
    listed = subprocess.run([mutmut(), "results", "--all", "true"], cwd=root, capture_output=True, text=True,
                            check=True).stdout
    found = {}
    prefix = target.pattern.rstrip("*")
    for line in listed.splitlines():
        name, _, status = line.strip().rpartition(": ")
        if name.startswith(prefix):
            found[name] = status
    return found


def mutmut() -> str:
    return str(Path(sys.executable).with_name("mutmut"))


def run(target: Target, children: int, survivors_only: bool = False) -> tuple[float, list[str]]:
    root = prepare(target)
    names = [target.pattern]
    if survivors_only and (root / "mutants").is_dir():
        names = sorted(n for n, s in statuses(root, target).items() if s not in CAUGHT | NOT_RUN) or names
    subprocess.run([mutmut(), "run", "--max-children", str(children), *names], cwd=root,
                   stdout=subprocess.DEVNULL, check=True)
    verdicts = {n: s for n, s in statuses(root, target).items() if s not in NOT_RUN}
    caught = sum(s in CAUGHT for s in verdicts.values())
    survivors = sorted(f"{n}: {s}" for n, s in verdicts.items() if s not in CAUGHT)
    return (100.0 * caught / len(verdicts) if verdicts else 100.0), survivors


def main(argv: list[str]) -> int:
    survivors_only = "--survivors" in argv
    argv = [arg for arg in argv if arg != "--survivors"]
    by_path = {t.path: t for t in TARGETS}
    unknown = [path for path in argv if path not in by_path]
    if unknown:
        print(f"not a core module: {', '.join(unknown)}; one of {', '.join(by_path)}", file=sys.stderr)
        return 2
    chosen = [by_path[path] for path in argv] if argv else list(TARGETS)
    children = int(os.environ.get("MUTATE_CHILDREN", "2"))
    scores = {}
    for target in chosen:
        score, survivors = run(target, children, survivors_only)
        scores[target.path] = score
        print(f"\n{target.path}: {score:.1f}% of mutants killed ({len(survivors)} survived)")
        for line in survivors:
            print(f"  {line}")
    print("\nscore per module (at least 85%):")
    for path, score in scores.items():
        print(f"  {path:28} {score:5.1f}%{'' if score >= THRESHOLD else '  BELOW'}")
    return 0 if all(score >= THRESHOLD for score in scores.values()) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
