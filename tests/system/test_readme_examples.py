"""The documented examples, run against a live server as written: docs/client.md's curl, Python
and Java clients, and the README's one example with the answer it shows."""

import json
import re
import subprocess
import sys

import pytest

from tests.conftest import ROOT, tool
from tests.live_server import serving

README = (ROOT / "README.md").read_text(encoding="utf-8")
CLIENT = (ROOT / "docs" / "client.md").read_text(encoding="utf-8")
EXAMPLE_URL = "http://127.0.0.1:8080"


def section(text: str, title: str) -> str:
    start = text.index(f"\n## {title}")
    end = text.find("\n## ", start + 1)
    return text[start:end if end != -1 else None]


def block(language: str) -> str:
    """The one code block of `language` in docs/client.md, 'Examples'."""
    blocks = re.findall(rf"```{language}\n(.*?)```", section(CLIENT, "Examples"), re.S)
    assert len(blocks) == 1, f"one {language} example"
    return blocks[0]


@pytest.fixture(scope="module")
def base_url(app):
    with serving(app) as url:
        yield url


def assert_rate_limit_answer(text: str):
    answer = json.loads(text)
    assert answer["request_id"] == "erp-4711"
    assert (answer["platform"], answer["diagnoses"][0]["category"]) == ("amazon_sp", "rate_limit.exceeded")


def test_curl_example(base_url):
    tool("curl", "tools")
    script = block("sh")
    assert EXAMPLE_URL in script
    run = subprocess.run(["sh", "-c", script.replace(EXAMPLE_URL, base_url)], capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 0, run.stderr
    assert_rate_limit_answer(run.stdout)


def test_python_example(base_url, tmp_path):
    script = block("python")
    assert EXAMPLE_URL in script
    example = tmp_path / "example.py"
    example.write_text(script.replace(EXAMPLE_URL, base_url))
    run = subprocess.run([sys.executable, str(example)], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    first = run.stdout.splitlines()[0].split()
    assert first[:2] == ["rate_limit.exceeded", "integrator"]
    assert any(line.startswith("- ") for line in run.stdout.splitlines())


def test_java_example_compiles_and_runs(base_url, tmp_path):
    javac, java = tool("javac", "tools"), tool("java", "tools")
    source = block("java")
    assert "public class Diagnose" in source
    (tmp_path / "Diagnose.java").write_text(source)
    compiled = subprocess.run([javac, "-Xlint:all", "-Werror", "--release", "17", "-d", str(tmp_path),
                               str(tmp_path / "Diagnose.java")], capture_output=True, text=True, timeout=300)
    assert compiled.returncode == 0, compiled.stderr
    run = subprocess.run([java, "-cp", str(tmp_path), "Diagnose", base_url], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr
    assert_rate_limit_answer(run.stdout)


def shows(shown, actual, where="answer"):
    """`shown` is `actual` shortened: dicts may leave keys out, a list may end in "…" (more
    items follow), a string may end in "…" (more text follows); anything else is equal."""
    if isinstance(shown, dict):
        assert isinstance(actual, dict), where
        for key, value in shown.items():
            assert key in actual, f"{where}.{key} is not in the answer"
            shows(value, actual[key], f"{where}.{key}")
    elif isinstance(shown, list):
        assert isinstance(actual, list), where
        more = bool(shown) and shown[-1] == "…"
        items = shown[:-1] if more else shown
        assert len(actual) >= len(items) if more else len(actual) == len(items), where
        for n, (item, got) in enumerate(zip(items, actual[:len(items)], strict=True)):
            shows(item, got, f"{where}[{n}]")
    elif isinstance(shown, str) and "…" in shown:
        assert isinstance(actual, str) and actual.startswith(shown.split("…")[0]), where
    elif isinstance(shown, float) and where.endswith("confidence"):
        assert abs(actual - shown) <= 0.1, f"{where}: {actual}, the README shows {shown}"  # moves with each refit
    else:
        assert actual == shown, f"{where}: {actual!r}, the README shows {shown!r}"


def test_the_readme_example_answers_as_shown(base_url):
    """README, "One example": the curl command, and the answer it prints, shortened."""
    tool("curl", "tools")
    part = section(README, "One example")
    script = re.search(r"```sh\n(.*?)```", part, re.S).group(1)
    shown = json.loads(re.search(r"```json\n(.*?)```", part, re.S).group(1))
    assert "localhost:8080/" in script
    run = subprocess.run(["sh", "-c", script.replace("localhost:8080/", base_url + "/")], capture_output=True,
                         text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    shows(shown, json.loads(run.stdout))
