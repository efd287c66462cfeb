"""The platform registry (rules/platforms/) is the one list of marketplaces: openapi.yaml and
kb_content agree with it, each module's facts hold together, and a new marketplace is one
module and one folder, as kb_content/README.md "Adding a platform" says."""

import json
import os
import shutil
import subprocess
import sys
from urllib.parse import urlsplit

import pytest
import yaml

from rules import platforms
from rules.engine import infer
from rules.kb.docpages import PAGES_FILE
from service.debugging.signing import SCHEMES
from service.importers import IMPORTERS
from tests.conftest import KB_DIR, ROOT

FIXTURE = ROOT / "tests" / "fixtures" / "fifth_platform"


def _enums(node):
    if isinstance(node, dict):
        if isinstance(node.get("enum"), list):
            yield node["enum"]
        for value in node.values():
            yield from _enums(value)
    elif isinstance(node, list):
        for value in node:
            yield from _enums(value)


def test_every_platform_enum_of_the_contract_is_the_registry():
    spec = yaml.safe_load((ROOT / "openapi.yaml").read_text(encoding="utf-8"))
    named = [enum for enum in _enums(spec) if platforms.GENERIC in enum]
    assert named, "openapi.yaml lists the platforms somewhere"
    assert all(enum == list(platforms.NAMES) for enum in named)


def test_kb_folders_schemas_and_importers_are_the_registrys():
    folders = {p.name for p in KB_DIR.iterdir() if p.is_dir() and p.name != "schemas"}
    assert folders == set(platforms.NAMES)
    assert {p.name for p in (KB_DIR / "schemas").iterdir() if p.is_dir()} <= set(platforms.MARKETPLACES)
    assert set(IMPORTERS) <= set(platforms.MARKETPLACES)


@pytest.mark.parametrize("platform", list(platforms.MARKETPLACES.values()), ids=lambda p: p.name)
def test_each_marketplace_module_holds_together(platform):
    for host in platform.api_hosts:
        assert infer.platform_of(host) == platform.name
        assert infer.platform_of(f"api.{host}") == platform.name  # a suffix: any subdomain
        assert infer.platform_of(f"not{host}") == platforms.GENERIC  # but not a longer name
    for host, country in platform.region_hosts.items():
        assert platform.serves(host) and infer.region_of(platform.name, host, {}) == country
    for marketplace, country in platform.marketplace_ids.items():
        query = {platform.marketplace_params[0]: f"{marketplace},OTHER"}
        assert infer.region_of(platform.name, platform.api_hosts[0], query) == country
    assert all(platforms.by_alias(alias.upper()) == platform.name for alias in platform.aliases)
    assert all(scheme in SCHEMES for _, scheme in platform.signing)
    assert platform.sources and platform.doc_hosts


def test_aliases_name_one_platform_each():
    aliases = [a for p in platforms.MARKETPLACES.values() for a in p.aliases]
    assert len(aliases) == len(set(aliases)) and not set(aliases) & set(platforms.NAMES)


def test_the_known_doc_pages_are_on_their_platforms_doc_hosts():
    pages = yaml.safe_load(PAGES_FILE.read_text(encoding="utf-8"))
    for name, platform in platforms.MARKETPLACES.items():
        hosts = {urlsplit(url).hostname for url in pages[name]["pages"]}
        assert hosts <= set(platform.doc_hosts), name


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
