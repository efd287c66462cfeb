"""The package installs without the checkout (as the Docker image installs it, not editable):
its code and packaged data are in the wheel, and kb_content/ and openapi.yaml are found
through the settings that name them."""

import json
import os
import subprocess
import sys
import zipfile

from tests.conftest import ROOT

SCRIPT = """
import json
import rules, service
from service.web.app import create_app

client = create_app({"TESTING": True}).test_client()
answer = client.post("/diagnose", json={"status": 429, "endpoint": "https://open-api.tiktokglobalshop.com/x",
                                        "body": {"code": 429, "message": "Too many requests"}}).get_json()
print(json.dumps({"category": answer["diagnoses"][0]["category"],
                  "contract": client.get("/openapi.yaml").data.decode()[:7],
                  "from": [rules.__file__, service.__file__]}))
"""


def test_the_wheel_runs_from_elsewhere_with_its_data_named_by_settings(tmp_path):
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                            "-w", str(tmp_path / "dist"), str(ROOT)], capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr[-2000:]
    wheel = next((tmp_path / "dist").glob("opsdiag-*.whl"))
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        archive.extractall(site)
    for packaged in ("rules/taxonomy.yaml", "rules/engine/calibration.yaml", "rules/kb/doc_pages.yaml",
                     "rules/platforms/amazon_sp.py", "opsdiag_client/answer.py", "service/batch/labels.yaml"):
        assert packaged in names, packaged
    assert not any(name.startswith(("kb_content/", "tests/")) for name in names)

    env = {**os.environ, "PYTHONPATH": str(site), "DATABASE_URL": f"sqlite:///{tmp_path / 'kb.db'}",
           "OPSDIAG_KB_DIR": str(ROOT / "kb_content"), "OPSDIAG_OPENAPI": str(ROOT / "openapi.yaml")}
    run = dict(cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    loaded = subprocess.run([sys.executable, "-c", "from service.cli import main; main()", "kb", "load"], **run)
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    served = subprocess.run([sys.executable, "-c", SCRIPT], **run)
    assert served.returncode == 0, served.stderr[-2000:]
    out = json.loads(served.stdout.strip().splitlines()[-1])
    assert all(path.startswith(str(site)) for path in out.pop("from"))  # the wheel's code, not the checkout's
    assert out == {"category": "rate_limit.exceeded", "contract": "openapi"}
