"""service/language.py: which of the two languages every rule is written in (en, zh-CN) an
answer is given in, from Accept-Language; and the console's `?lang=` over it."""

import pytest
from flask import Flask

from service.language import preferred_language
from service.web.console.i18n import chosen_language

app = Flask(__name__)


def negotiated(header: str | None) -> str:
    headers = {} if header is None else {"Accept-Language": header}
    with app.test_request_context("/", headers=headers):
        return preferred_language()


@pytest.mark.parametrize(("header", "language"), [
    ("zh-CN", "zh-CN"),
    ("zh", "zh-CN"),
    ("zh-Hans", "zh-CN"),
    ("zh-Hans-CN", "zh-CN"),
    ("zh-SG", "zh-CN"),
    ("zh-TW", "zh-CN"),  # Traditional Chinese readers get the Chinese text there is
    ("zh-Hant-HK", "zh-CN"),
    ("ZH-cn", "zh-CN"),
    ("en", "en"),
    ("en-GB", "en"),
    ("EN-us", "en"),
])
def test_a_single_language_tag(header, language):
    assert negotiated(header) == language


@pytest.mark.parametrize(("header", "language"), [
    ("en-US,en;q=0.9,zh-CN;q=0.8", "en"),
    ("zh-CN,zh;q=0.9,en;q=0.8", "zh-CN"),
    ("en;q=0.5, zh;q=0.8", "zh-CN"),  # the order written does not matter, the q-values do
    ("zh;q=0.5, en;q=0.8", "en"),
    ("fr-FR, zh;q=0.5, en;q=0.4", "zh-CN"),  # a language we lack is skipped
    ("fr-FR, en;q=0.1, zh;q=0.05", "en"),
    ("ja, ko;q=0.9, zh-TW;q=0.8, en;q=0.7", "zh-CN"),
    ("zh;q=0, en;q=0.1", "en"),  # q=0 means "not this one"
    ("en;q=0, zh;q=0.1", "zh-CN"),
    ("en;q=0.8, zh-CN;q=0.8", "en"),  # equal q: the first listed
    ("zh-CN;q=0.8, en;q=0.8", "zh-CN"),
    ("*;q=0.1, zh;q=0.5", "zh-CN"),
    ("de, *;q=0.5", "en"),  # anything goes: English
    ("*", "en"),
    ("*;q=0.5, zh;q=0.4", "en"),  # `*` stands for English here, and English is preferred
    ("zh;q=0.4, *;q=0.5", "en"),
    ("*, zh;q=0.9", "en"),
    ("*;q=0.5, en;q=0.1, zh;q=0.4", "zh-CN"),  # English named: `*` no longer speaks for it
    ("zh;q=0, *", "en"),  # Chinese refused, anything else welcome
    ("en;q=0, *", "zh-CN"),
    ("zh;q=0, fr", "en"),  # a refusal is not a preference
    ("zh;q=0.5, *;q=0.5", "zh-CN"),  # equal weights: the first written
])
def test_the_preferred_of_several_languages(header, language):
    assert negotiated(header) == language


@pytest.mark.parametrize("header", [None, "", "fr", "fr-CA, de;q=0.5, ja;q=0.1", ";;;", ",,", "q=0.5", "x" * 500])
def test_no_language_of_ours_or_no_header_is_english(header):
    assert negotiated(header) == "en"


@pytest.mark.parametrize(("header", "language"), [
    ("zha", "en"), ("zha, zh;q=0.5, en;q=0.6", "en"), ("zha-CN, zh;q=0.5", "zh-CN"), ("zh-yue", "zh-CN"),
    ("enm, zh;q=0.5", "zh-CN"),  # Middle English is not English either
])
def test_only_the_primary_subtags_zh_and_en_are_ours(header, language):
    """zha is Zhuang: a tag that only starts with the letters zh is not Chinese."""
    assert negotiated(header) == language


@pytest.mark.parametrize(("header", "language"), [("zh_CN", "zh-CN"), ("en_GB, zh;q=0.9", "en")])
def test_an_underscore_separates_subtags_too(header, language):
    assert negotiated(header) == language


@pytest.mark.parametrize(("header", "language"), [
    ("zh;q=abc, en", "en"),  # a malformed q-value drops its tag, not the header
    ("en;q=abc, zh", "zh-CN"),
    ("zh;q=1.5, en", "en"),  # out of range
    (",,zh", "zh-CN"),
    ("zh-CN;;q=0.9", "zh-CN"),
])
def test_malformed_parts_of_a_header_are_skipped(header, language):
    assert negotiated(header) == language


@pytest.mark.parametrize(("query", "header", "language"), [
    ("?lang=zh-CN", "en", "zh-CN"),
    ("?lang=en", "zh-CN", "en"),
    ("?lang=zh", "en", "zh-CN"),
    ("?lang=zh-TW", "en", "zh-CN"),
    ("?lang=en-GB", "zh-CN", "en"),
    ("?lang=fr", "zh-CN", "zh-CN"),  # not ours: the header decides
    ("?lang=zha", "en", "en"),  # Zhuang, not Chinese: the header decides
    ("?lang=", "zh-CN", "zh-CN"),
    ("", "zh-Hans", "zh-CN"),
])
def test_the_consoles_lang_parameter_wins_over_the_header(query, header, language):
    with app.test_request_context("/console" + query, headers={"Accept-Language": header}):
        assert chosen_language() == language


@pytest.mark.parametrize(("header", "language"), [("zh-Hant-TW, en;q=0.5", "zh-CN"), ("en-AU", "en"), ("", "en")])
def test_diagnose_answers_in_the_negotiated_language_and_says_so(client, header, language):
    response = client.post("/diagnose", json={"status": 429, "endpoint": "https://open-api.tiktokglobalshop.com/x"},
                           headers={"Accept-Language": header})
    assert response.status_code == 200
    assert response.headers["Content-Language"] == language
    title = response.get_json()["diagnoses"][0]["title"]
    assert any("\u4e00" <= c <= "\u9fff" for c in title) is (language == "zh-CN")
