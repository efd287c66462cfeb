"""The client SDK (client/) installs on its own - requests, no durable-rules, no Flask - and
answers from a live server with the typed answer the server builds."""

import json
import subprocess
import sys

from tests.conftest import ROOT
from tests.live_server import serving

SCRIPT = """
import importlib.util, json, sys
from opsdiag_client import OpsdiagClient, ProblemError
absent = [m for m in ("flask", "durable", "rules", "service", "sqlmodel") if importlib.util.find_spec(m)]
with OpsdiagClient(sys.argv[1], timeout=10, retries=0) as client:
    result = client.diagnose(status=429, endpoint="https://sellingpartnerapi-na.amazon.com/orders/v0/orders",
                             body={"errors": [{"code": "QuotaExceeded", "message": "You exceeded your quota."}]})
    try:
        client.diagnose(status=9999, endpoint="")
        refused = None
    except ProblemError as error:
        refused = sorted(p.name for p in error.invalid_params)
print(json.dumps({"present": absent, "category": result["diagnoses"][0]["category"], "refused": refused}))
"""


def test_the_client_distribution_installs_alone_and_answers(tmp_path, app):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    installed = subprocess.run([str(python), "-m", "pip", "install", "--quiet", str(ROOT / "client")],
                               capture_output=True, text=True, timeout=600)
    assert installed.returncode == 0, installed.stderr
    listed = subprocess.run([str(python), "-m", "pip", "list", "--format", "json"],
                            capture_output=True, text=True, check=True, timeout=120)
    names = {p["name"].lower() for p in json.loads(listed.stdout)}
    assert "opsdiag-client" in names and "requests" in names
    assert not names & {"flask", "durable-rules", "sqlmodel", "opsdiag", "marshmallow"}
    with serving(app) as url:
        ran = subprocess.run([str(python), "-c", SCRIPT, url], capture_output=True, text=True, timeout=120,
                             cwd=tmp_path)  # not the checkout: nothing of the server on the path
    assert ran.returncode == 0, ran.stderr
    out = json.loads(ran.stdout)
    assert out == {"present": [], "category": "rate_limit.exceeded", "refused": ["endpoint", "status"]}
