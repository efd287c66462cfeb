"""The platform registry (rules/platforms/) is the one list of marketplaces: openapi.yaml and
kb_content agree with it, each module's facts hold together, and a new marketplace is one
module and one folder, as kb_content/README.md "Adding a platform" says."""

from urllib.parse import urlsplit

import pytest
import yaml

from rules import platforms
from rules.engine import infer
from rules.kb.docpages import PAGES_FILE
from service.debugging.signing import SCHEMES
from service.importers import IMPORTERS
from tests.conftest import KB_DIR, ROOT


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
