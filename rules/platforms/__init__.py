"""The marketplaces opsdiag knows: one module each, and this registry that lists them.

Each module of this package defines `PLATFORM = Platform(...)` (base.py) and is found by
name, so adding a marketplace is one module here and one folder kb_content/<name>/ (the
recipe: kb_content/README.md). Hosts, regions, doc hosts, export aliases and signing
facts are asked of the registry, never written down elsewhere. `generic` is not a
marketplace: it names the rules that hold on any host.
"""

import importlib
import pkgutil
from functools import lru_cache

from .base import Platform

GENERIC = "generic"


def _discover() -> dict[str, Platform]:
    found = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name != "base":
            platform = importlib.import_module(f"{__name__}.{info.name}").PLATFORM
            found[platform.name] = platform
    return found


MARKETPLACES: dict[str, Platform] = _discover()
# Every platform a rule, a payload or an answer may name.
NAMES: tuple[str, ...] = (*MARKETPLACES, GENERIC)


@lru_cache(maxsize=4096)
def of_host(host: str) -> Platform | None:
    """The marketplace whose API serves this host, if any (asked several times a diagnosis)."""
    return next((p for p in MARKETPLACES.values() if p.serves(host)), None)


def by_alias(name: str) -> str | None:
    """The platform an exported log means by `name` (its id or one of its aliases)."""
    key = name.strip().lower()
    if key in NAMES:
        return key
    return next((p.name for p in MARKETPLACES.values() if key in p.aliases), None)


def marketplace_country(marketplace_id: str) -> str | None:
    """The country of a marketplace id (SP-API's), whichever platform publishes it."""
    return next((p.marketplace_ids[marketplace_id] for p in MARKETPLACES.values()
                 if marketplace_id in p.marketplace_ids), None)
