"""The public contract of root-cause categories and their usual owners."""

from functools import cache
from pathlib import Path

import yaml

TAXONOMY_PATH = Path(__file__).with_name("taxonomy.yaml")
OWNERS = ("integrator", "seller", "platform", "network")


@cache
def categories() -> dict[str, str]:
    """Category -> default owner, as ../shared/taxonomy.yaml defines them."""
    doc = yaml.safe_load(TAXONOMY_PATH.read_text(encoding="utf-8"))
    return {name: entry["owner"] for name, entry in doc["categories"].items()}
