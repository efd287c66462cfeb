"""The real-error corpus and what opsdiag scores on it (eval/, `make eval`).

The held-back figures of the committed eval/RESULTS.md are a floor: a change to rules,
scoring or normalization that loses more than two points on any of them fails here."""

import json

import pytest

from rules.engine import Engine, score
from rules.taxonomy import OWNERS, categories
from service import evaluate
from service.schemas import DiagnoseRequestSchema

CASES = evaluate.read_corpus()
SPLIT = evaluate.read_split()
TOLERANCE = 2.0  # points


def test_every_case_is_labelled_with_the_taxonomy_and_sourced():
    assert len({c.id for c in CASES}) == len(CASES), "ids are unique"
    for case in CASES:
        assert case.category in categories() and case.category != "unknown", case.id
        assert case.owner in OWNERS and case.owner != "unknown", case.id
        assert case.source.startswith(("https://", "index:")), case.id


def test_every_case_is_a_payload_the_service_takes():
    schema = DiagnoseRequestSchema()
    for case in CASES:
        schema.load(json.loads(json.dumps(case.payload)))


def test_the_split_is_frozen_by_source_and_holds_back_a_third():
    """A third of what was split into tuning and held-back is held back; the calibration
    part (cases gathered after tuning, for confidence only) is on top of that."""
    assert {c.source for c in CASES} <= set(SPLIT), "new sources: run `opsdiag eval --write` once"
    split = [c for c in CASES if SPLIT[c.source] in ("tuning", "heldback")]
    held = [c for c in split if SPLIT[c.source] == "heldback"]
    assert len(held) >= len(split) / 3
    assert all(SPLIT[c.source] == "calibration" for c in CASES if c.id.startswith("fr-"))


def test_no_held_back_case_is_a_rule_example(kb_rules):
    """A rule example copied from a held-back case (or from its thread) would tune on it:
    such a source moves to the tuning part (eval/README.md lists those moved)."""
    examples = {json.dumps([e.get("endpoint"), e.get("body")], sort_keys=True, default=str)
                for rule in kb_rules for e in rule.examples_match + rule.examples_no_match}
    for case in (c for c in CASES if SPLIT.get(c.source) == "heldback"):
        assert json.dumps([case.payload.get("endpoint"), case.payload.get("body")], sort_keys=True) not in examples, \
            case.id


def test_held_back_figures_do_not_fall_below_the_committed_results(kb_rules):
    committed = evaluate.committed_figures()
    assert committed, "eval/RESULTS.md has no figures: run `make eval`"
    engine = Engine(kb_rules, "eval")
    try:
        report = evaluate.evaluate(engine, CASES, evaluate.assign(CASES, SPLIT))
    finally:
        engine.close()
    now = report.figures()["heldback"]
    floor = committed["heldback"]
    for name in ("top1", "top3", "owner", "field"):
        if floor[name] is not None:
            assert getattr(now, name) >= floor[name] - TOLERANCE, f"held-back {name}: {getattr(now, name)} < {floor}"
    assert now.ece <= floor["ece"] + TOLERANCE / 100, f"held-back calibration error {now.ece} > {floor['ece']}"


@pytest.mark.parametrize("found, expected, same", [
    ("body.shipping_address.postal_code", "shipping_address.postal_code", True),
    ("MainImages", "main_images", True), ("postal_code", "shipping_address.postal_code", True),
    ("items[0].sku", "items.sku", True), ("sku", "seller_sku", False), (None, "sku", False), ("x", None, True),
])
def test_field_names_compare_as_the_platform_spells_them(found, expected, same):
    assert evaluate.same_field(found, expected) is same


def test_cases_of_one_strength_are_fitted_together():
    """Sorting hits after misses of the same strength would put them in different bands."""
    outcomes = []
    for i in range(60):
        o = evaluate.Outcome(CASES[0], [CASES[0].category if i % 2 else "x"], None, None, 0.5,
                             strength=2.0 if i < 40 else 9.0)
        outcomes.append(o)
    fitted = evaluate.fit_calibration(outcomes)
    bands = tuple((b["from_score"], b["confidence"]) for b in fitted["bands"])
    assert sum(b["cases"] for b in fitted["bands"]) == 60
    assert abs(score.confidence(2.0, bands) - 0.5) < 0.05, "half of the answers of strength 2 are right"


def test_calibration_bands_are_isotonic_and_cover_every_score():
    outcomes = [evaluate.Outcome(CASES[0], ["x"], None, None, 0.5, strength=s) for s in range(60)]
    for i, o in enumerate(outcomes):
        o.categories = [CASES[0].category] if i % 3 else ["x"]
    fitted = evaluate.fit_calibration(outcomes)
    confidences = [b["confidence"] for b in fitted["bands"]]
    assert confidences == sorted(confidences, reverse=True) and fitted["bands"][-1]["from_score"] < 0
    assert all(b["cases"] >= evaluate.MIN_BAND for b in fitted["bands"])
