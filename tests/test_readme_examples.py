"""The README's curl, Python and Java examples, run against a live server as written."""

import json
import re
import subprocess
import sys

import pytest

from tests.conftest import ROOT, tool
from tests.live_server import serving

README = (ROOT / "README.md").read_text()
EXAMPLE_URL = "http://127.0.0.1:8080"


def section(title: str) -> str:
    start = README.index(f"\n## {title}")
    end = README.find("\n## ", start + 1)
    return README[start:end if end != -1 else None]


def block(language: str) -> str:
    """The one code block of `language` in 'Calling it from an ERP'."""
    blocks = re.findall(rf"```{language}\n(.*?)```", section("Calling it from an ERP"), re.S)
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
