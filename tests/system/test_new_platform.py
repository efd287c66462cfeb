"""kb_content/README.md "Adding a platform" followed for a made-up fifth marketplace
(tests/fixtures/fifth_platform/): one module and one kb folder, served and diagnosed end to end."""

import json
import os
import shutil
import subprocess
import sys

from rules import platforms
from tests.conftest import ROOT

FIXTURE = ROOT / "tests" / "fixtures" / "fifth_platform"


SCRIPT = """
import json
from rules import platforms
from service.web.app import create_app

client = create_app({"TESTING": True}).test_client()
error = {"status": 409, "endpoint": "https://api.fakemart.example/orders/v1/lock",
         "body": {"code": "FM-4090", "message": "order locked"}}
checked = client.post("/check", json={"endpoint": error["endpoint"], "method": "POST"})
print(json.dumps({"diagnose": client.post("/diagnose", json=error).get_json(),
                  "check": checked.get_json(), "alias": platforms.by_alias("FMART")}))
"""


def test_a_fifth_marketplace_is_one_module_and_one_folder(tmp_path):
    """The recipe followed in a copy of the project: the module, the folder, the enum line."""
    for part in ("rules", "service", "kb_content"):
        shutil.copytree(ROOT / part, tmp_path / part, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(FIXTURE / "fakemart.py", tmp_path / "rules" / "platforms" / "fakemart.py")
    shutil.copytree(FIXTURE / "kb" / "fakemart", tmp_path / "kb_content" / "fakemart")
    spec = (ROOT / "openapi.yaml").read_text(encoding="utf-8")
    listed = f"enum: [{', '.join(platforms.NAMES)}]"
    assert listed in spec
    (tmp_path / "openapi.yaml").write_text(spec.replace(listed, listed.replace("generic]", "fakemart, generic]")))

    env = {**os.environ, "PYTHONPATH": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path / 'kb.db'}",
           "OPSDIAG_KB_DIR": str(tmp_path / "kb_content")}
    run = dict(cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    loaded = subprocess.run([sys.executable, "-c", "from service.cli import main; main()", "kb", "load"], **run)
    assert loaded.returncode == 0, loaded.stderr
    answered = subprocess.run([sys.executable, "-c", SCRIPT], **run)
    assert answered.returncode == 0, answered.stderr
    out = json.loads(answered.stdout.strip().splitlines()[-1])

    answer = out["diagnose"]
    assert (answer["platform"], answer["region"], answer["domain"]) == ("fakemart", "DE", "orders")
    top = answer["diagnoses"][0]
    assert (top["rule_id"], top["category"]) == ("fakemart.orders.order_locked", "business.invalid_state")
    assert top["doc_url"] == "https://developers.fakemart.example/docs/errors"
    assert out["check"]["platform"] == "fakemart"  # known, though it has published no schema
    assert out["check"]["problems"][0]["kind"] == "unknown_operation"
    assert out["alias"] == "fakemart"
