
import pytest

from rules.taxonomy import TAXONOMY_PATH, categories
from tests.conftest import ROOT

SHARED = ROOT.parent / "shared" / "taxonomy.yaml"


def test_project_copy_is_identical_to_the_public_contract():
    if not SHARED.exists():
        pytest.skip("../shared/taxonomy.yaml is not beside this checkout")
    assert TAXONOMY_PATH.read_bytes() == SHARED.read_bytes()


def test_every_category_has_a_known_owner():
    owners = set(categories().values())
    assert owners <= {"integrator", "seller", "platform", "network", "unknown"}
    assert "unknown" in categories()
