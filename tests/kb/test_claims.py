"""The lint heuristic that holds a rule's quoted messages, codes and quantities to its source."""

import dataclasses

from rules.kb.claims import key_terms, unsourced_terms
from rules.kb.lint import check_claims
from rules.kb.loader import load_directory
from rules.model import Text
from tests.conftest import KB_DIR

RULE = next(r for r in load_directory(KB_DIR)[1] if r.id == "tiktok_shop.common.sign_invalid")


def saying(explanation: str, source: str, title: str = "A title"):
    texts = {**RULE.texts, "en": Text(title, explanation, ())}
    return dataclasses.replace(RULE, texts=texts, source=source)


def test_a_quoted_message_the_source_does_not_quote_is_flagged():
    rule = saying('TikTok answered "Invalid shop cipher given".', 'common-errors.md: 106011 "Invalid shop_cipher"')
    assert unsourced_terms(rule) == ["Invalid shop cipher given"]


def test_a_quoted_message_is_found_whatever_its_case_and_punctuation():
    rule = saying('TikTok answered "invalid SHOP_CIPHER!".', 'common-errors.md: 106011 "Invalid shop_cipher"')
    assert unsourced_terms(rule) == []


def test_placeholders_and_ellipses_split_a_quote_and_are_never_terms():
    rule = saying('It said "{message}" and "Invalid timestamp ... 30 seconds".',
                  'common-errors.md: "Invalid timestamp. The value must not exceed ... by more than 30 seconds."')
    assert unsourced_terms(rule) == []
    assert key_terms('"{message}" on "{path}"') == ([], {})


def test_an_error_code_missing_from_the_source_is_flagged():
    rule = saying("TikTok answered code 36009004 (or E034).", 'common-errors.md: 36009004 "Invalid timestamp"')
    assert unsourced_terms(rule) == ["E034"]


def test_statuses_and_iso_numbers_are_not_codes():
    rule = saying("A 401 with ISO 8601 dates and one request.", "nothing")
    assert unsourced_terms(rule) == []


def test_a_duration_is_found_in_other_units_and_spellings():
    assert unsourced_terms(saying("Within 2 hours of UTC.", 'timestamp "should not exceed 7200 seconds"')) == []
    assert unsourced_terms(saying("At most five requests.", "rate = 5 requests per second")) == []
    assert unsourced_terms(saying("Retried after 30 minutes.", "retry schedule 2 min / 30 min")) == []


def test_a_quantity_the_source_does_not_state_is_flagged():
    rule = saying("Retried after 3 hours, then 12 hours.", "retry schedule 2 min / 30 min / 3 h")
    assert unsourced_terms(rule) == ["12 hours"]


def test_the_title_is_checked_too():
    rule = saying("Nothing quoted here.", "listing limit", title="At most 100 products per day")
    assert unsourced_terms(rule) == ["100 products"]


def test_lint_reports_each_unsourced_term_as_an_error():
    problems = check_claims(saying('It said "Shop is closed for business" within 10 minutes.', "nothing"))
    assert [p.level for p in problems] == ["error", "error"]
    assert "Shop is closed for business" in problems[0].reason and "10 minutes" in problems[1].reason
