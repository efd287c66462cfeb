"""`make mutate`: mutation testing of the core modules with mutmut, each module against its own
fast unit tests; prints the score per module and the mutants that survived.

mutmut reads one configuration per project root, so each module gets a scratch root of its
own under build/mutate/ (links to the tree, and pyproject.toml with that module's
[tool.mutmut]); mutmut copies it into mutants/ there and keeps its results, so a second run
only tests what changed. Why mutmut, and the survivors that are equivalent: tests/MUTATION.md.

    python -m tests.mutate [MODULE ...]     e.g. `python -m tests.mutate rules/engine/score.py`
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
SLOW = (  # tests that start servers or poll: they say nothing a fast test of the module does not
    "tests/api/test_privacy.py::test_nothing_personal_or_secret_reaches_the_database_or_the_logs",
    "tests/unit/rules/kb/test_store.py::test_followers_swap_to_a_published_version",
)


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
    Target("rules/engine/normalize.py",
           ("tests/unit/rules/engine/test_normalize.py", "tests/unit/rules/engine/test_unwrap.py")),
    Target("rules/engine/match.py",
           ("tests/unit/rules/engine/test_engine.py", "tests/unit/rules/engine/test_score.py")),
    Target("rules/engine/score.py", ("tests/unit/rules/engine/test_score.py",)),
    Target("rules/engine/explain.py", ("tests/unit/rules/engine/test_score.py", "tests/api/test_scenarios.py")),
    Target("rules/engine/compiler.py", ("tests/unit/rules/engine/test_compiler.py",)),
    Target("rules/privacy.py", ("tests/api/test_privacy.py",)),
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
    return root


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


def run(target: Target, children: int) -> tuple[float, list[str]]:
    root = prepare(target)
    subprocess.run([mutmut(), "run", "--max-children", str(children), target.pattern], cwd=root,
                   stdout=subprocess.DEVNULL, check=True)
    verdicts = {n: s for n, s in statuses(root, target).items() if s not in NOT_RUN}
    caught = sum(s in CAUGHT for s in verdicts.values())
    survivors = sorted(f"{n}: {s}" for n, s in verdicts.items() if s not in CAUGHT)
    return (100.0 * caught / len(verdicts) if verdicts else 100.0), survivors


def main(argv: list[str]) -> int:
    by_path = {t.path: t for t in TARGETS}
    unknown = [path for path in argv if path not in by_path]
    if unknown:
        print(f"not a core module: {', '.join(unknown)}; one of {', '.join(by_path)}", file=sys.stderr)
        return 2
    chosen = [by_path[path] for path in argv] if argv else list(TARGETS)
    children = int(os.environ.get("MUTATE_CHILDREN", "2"))
    scores = {}
    for target in chosen:
        score, survivors = run(target, children)
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
