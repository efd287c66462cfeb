"""rules/kb/schema.py: rule documents validated into Rule objects.

A curator who gets a rule wrong is told where: every refusal, structural (marshmallow) or
semantic (operators, RE2 syntax, JMESPath, taxonomy, placeholders), names the field path
the loader prints. And a rule that loads is a rule the engine compiles and runs.
"""

import copy

import pytest
from marshmallow import ValidationError

from rules.engine import Engine
from rules.engine.normalize import normalize
from rules.kb.loader import flatten_messages
from rules.kb.schema import MAX_REGEX_LENGTH, RuleFileSchema, RuleSchema, parse_ops
from rules.model import Condition
from rules.taxonomy import categories
from tests.unit.rules.ruledoc import BASE, document


def refusal(doc: dict) -> dict[str, str]:
    """field path -> message, as `opsdiag kb lint` prints them."""
    with pytest.raises(ValidationError) as caught:
        RuleSchema().load(doc)
    return dict(line.split(": ", 1) for line in flatten_messages(caught.value.messages))


def with_then(change) -> dict:
    doc = document()
    change(doc["then"])
    return doc


# ----------------------------------------------------------------- what loads


def test_a_document_becomes_a_rule_with_its_conditions_texts_and_examples():
    doc = document(
        id="tiktok_shop.orders.unit", platforms=["tiktok_shop"], regions=["GB", "US"], domains=["orders"],
        priority=70, source="  https://partner.tiktokshop.com/docv2/page/orders  \n",
        when={"status": 400, "code": [21001001, "21001002"], "headers": {"X-TTS-Logid": {"exists": True}},
              "message": {"regex": "order (?P<order>\\d+) cannot", "not_regex": "test"}},
        unless={"body": {"data.retryable": True}},
    )
    loaded = RuleSchema().load(doc)
    assert (loaded.id, loaded.platforms, loaded.regions, loaded.domains, loaded.priority) == (
        "tiktok_shop.orders.unit", frozenset({"tiktok_shop"}), frozenset({"GB", "US"}), frozenset({"orders"}), 70)
    assert loaded.conditions == (
        Condition("status", "", (("eq", 400),)),
        Condition("code", "", (("in", ("21001001", "21001002")),)),  # a list is `in`; codes compare as text
        Condition("headers", "x-tts-logid", (("exists", True),)),  # header names in lower case
        Condition("message", "", (("regex", "order (?P<order>\\d+) cannot"), ("not_regex", "test"))),
    )
    assert loaded.against == (Condition("body", "data.retryable", (("eq", True),)),)
    assert loaded.source == "https://partner.tiktokshop.com/docv2/page/orders"
    assert loaded.texts["en"].title == BASE["then"]["en"]["title"]
    assert loaded.texts["zh-CN"].repair_steps == tuple(BASE["then"]["zh-CN"]["repair_steps"])
    assert loaded.examples_match == tuple(BASE["examples"]["match"])


def test_star_means_every_region_and_domain():
    loaded = RuleSchema().load(document(regions="*", domains="*"))
    assert loaded.regions is None and loaded.domains is None
    assert loaded.applies_to("lazada", "TH", "finance")


def test_the_owner_comes_from_the_taxonomy_unless_the_rule_names_one():
    category = BASE["then"]["category"]
    assert RuleSchema().load(document()).owner == categories()[category]
    other = next(o for o in ("seller", "platform") if o != categories()[category])
    assert RuleSchema().load(with_then(lambda t: t.update(owner=other))).owner == other


def test_named_regex_groups_become_placeholders_of_the_texts():
    doc = document(when={"message": {"regex": "sku (?P<sku>\\S+) is locked"}})
    doc["then"]["en"]["title"] = "SKU {sku} is locked"
    assert RuleSchema().load(doc).texts["en"].title == "SKU {sku} is locked"
    assert "then.en.title" in refusal(document(when={"message": {"regex": "sku \\S+ is locked"}},
                                               then={**doc["then"]}))


def test_what_loads_compiles_and_matches_its_own_example_only():
    doc = document(
        id="generic.test.compiles", when={"status": {"gte": 500, "lt": 600}, "body": {"errors[0].code": "E1"},
                                          "message": {"regex": "upstream (?P<service>\\w+) timed out"}},
        examples={"match": [{"status": 503, "endpoint": "/x",
                             "body": {"errors": [{"code": "E1", "message": "upstream billing timed out"}]}}],
                  "no_match": [{"status": 503, "endpoint": "/x",
                                "body": {"errors": [{"code": "E2", "message": "upstream billing timed out"}]}}]})
    loaded = RuleSchema().load(doc)
    engine = Engine([loaded], "schema-compiles")
    try:
        assert engine.match(normalize(loaded.examples_match[0])) == [loaded]
        assert engine.match(normalize(loaded.examples_no_match[0])) == []
    finally:
        engine.close()


def test_a_rule_file_keeps_its_rules_raw_and_checks_its_platform():
    loaded = RuleFileSchema().load({"platform": "shopee", "rules": [{"id": "anything"}], "comment": "ignored"})
    assert loaded == {"platform": "shopee", "rules": [{"id": "anything"}]}
    with pytest.raises(ValidationError) as caught:
        RuleFileSchema().load({"platform": "ebay", "rules": []})
    assert list(caught.value.messages) == ["platform"]


# ------------------------------------------------------------ structural refusals


@pytest.mark.parametrize(("changes", "path"), [
    ({"id": "NoDots"}, "id"),
    ({"id": None}, "id"),
    ({"platforms": ["ebay"]}, "platforms.0"),
    ({"platforms": []}, "platforms"),
    ({"regions": ["uk"]}, "regions"),  # ISO 3166-1 alpha-2, upper case
    ({"regions": ["GBR"]}, "regions"),
    ({"regions": []}, "regions"),
    ({"domains": ["shipping"]}, "domains"),
    ({"priority": "50"}, "priority"),  # strict: YAML's "50" is not 50
    ({"priority": 101}, "priority"),
    ({"source": "short"}, "source"),
    ({"examples": {"match": [], "no_match": [{}]}}, "examples.match"),
    ({"examples": None}, "examples"),
    ({"when": None}, "when"),
    ({"priorty": 50}, "priorty"),  # a misspelt field is refused, not ignored
])
def test_structural_refusals_name_the_field(changes, path):
    assert path in refusal(document(**changes))


@pytest.mark.parametrize(("change", "path"), [
    (lambda t: t.pop("zh-CN"), "then.zh-CN"),
    (lambda t: t.pop("en"), "then.en"),
    (lambda t: t["en"].pop("explanation"), "then.en.explanation"),
    (lambda t: t["zh-CN"].pop("repair_steps"), "then.zh-CN.repair_steps"),
    (lambda t: t["zh-CN"].update(repair_steps=[]), "then.zh-CN.repair_steps"),
    (lambda t: t["en"].update(title="x"), "then.en.title"),
    (lambda t: t["en"].update(summary="extra"), "then.en.summary"),
    (lambda t: t.update(owner="bob"), "then.owner"),
    (lambda t: t.update(category="nope.nope"), "then.category"),
    (lambda t: t.update(category="unknown"), "then.category"),  # the fallback is no category for a rule
    (lambda t: t.update(doc_url="ftp://docs.example/x"), "then.doc_url"),
    (lambda t: t.update(field="has space"), "then.field"),
])
def test_refusals_in_then_name_their_path_down_to_the_language(change, path):
    assert path in refusal(with_then(change))


def test_every_refusal_of_a_document_is_reported_at_once():
    doc = with_then(lambda t: t.update(owner="bob"))
    doc.update(id="NoDots", priority=101)
    assert {"id", "priority", "then.owner"} <= set(refusal(doc))


# -------------------------------------------------------------- semantic refusals


@pytest.mark.parametrize(("when", "path", "says"), [
    ({"status": {"approx": 400}}, "when.status", "unknown operator 'approx'"),
    ({"status": {}}, "when.status", "empty condition"),
    ({"message": {"regex": "(?<=sku )\\d+"}}, "when.message", "bad regular expression"),  # no lookbehind in RE2
    ({"message": {"regex": "(a)\\1"}}, "when.message", "bad regular expression"),  # nor backreferences
    ({"message": {"regex": "x" * (MAX_REGEX_LENGTH + 1)}}, "when.message", "longer than"),
    ({"message": {"regex": ""}}, "when.message", "needs a pattern"),
    ({"body": {"errors[?": "E1"}}, "when.body.errors[?", "bad JMESPath"),
    ({"request_body": {"items[0": 1}}, "when.request_body.items[0", "bad JMESPath"),
    ({"colour": "red"}, "when.colour", "unknown field"),
    ({"headers": "x-tts-logid"}, "when.headers", "mapping"),
    ({"derived": {"skew": 1}}, "when.derived.skew", "unknown derived fact"),
    ({"context": {"1shop": 1}}, "when.context.1shop", "not a context key"),
    ({"headers": {"retry-after": {"type": "string"}}}, "when.headers.retry-after", "body and request_body"),
    ({"body": {"data": {"type": "list"}}}, "when.body.data", "type must be one of"),
    ({"status": {"gt": True}}, "when.status", "needs a number"),
    ({"status": {"gte": "500"}}, "when.status", "needs a number"),
    ({"code": {"in": []}}, "when.code", "non-empty list"),
    ({"body": {"data": {"exists": "yes"}}}, "when.body.data", "true or false"),
    ({}, "when", "at least one condition"),
])
def test_semantic_refusals_in_when_name_the_condition(when, path, says):
    assert says in refusal(document(when=when))[path]


@pytest.mark.parametrize(("when", "path"), [
    ({"code": {"eq": {"a": 1}}}, "when.code"),
    ({"code": {"not_in": [["E1"]]}}, "when.code"),
    ({"body": {"data": {"ne": ["x"]}}}, "when.body.data"),
])
def test_a_structure_where_a_scalar_belongs_is_refused_by_name(when, path):
    assert path in refusal(document(when=when))


def test_refusals_in_unless_are_named_under_unless():
    assert "bad regular expression" in refusal(document(unless={"message": {"regex": "("}}))["unless.message"]
    assert "unknown operator" in refusal(document(unless={"status": {"near": 1}}))["unless.status"]


@pytest.mark.parametrize(("where", "text", "says"), [
    (("en", "title"), "Call the buyer {buyer}", "unknown placeholders ['buyer']"),
    (("zh-CN", "explanation"), "错误 {status} 出现在 {shop_name} 店铺", "unknown placeholders ['shop_name']"),
    (("en", "title"), "Unbalanced { brace", "bad template"),
])
def test_placeholders_must_be_known_fields_or_regex_groups(where, text, says):
    lang, part = where
    assert says in refusal(with_then(lambda t: t[lang].update({part: text})))[f"then.{lang}.{part}"]


def test_a_bad_placeholder_in_a_repair_step_names_the_step():
    doc = with_then(lambda t: t["zh-CN"]["repair_steps"].extend(["联系 {buyer_phone}"]))
    index = len(doc["then"]["zh-CN"]["repair_steps"]) - 1
    assert f"then.zh-CN.repair_steps.{index}" in refusal(doc)


def test_placeholders_of_the_service_are_accepted():
    doc = with_then(lambda t: t["en"].update(
        title="{status} {code} on {platform}",
        explanation="Retry after {retry_after} s; request {request_id} to {host}{path} ({method}).")).copy()
    assert RuleSchema().load(doc).texts["en"].title == "{status} {code} on {platform}"


def test_parse_ops_reads_the_yaml_shorthands():
    assert parse_ops(404, "when.status") == (("eq", 404),)
    assert parse_ops([400, 404], "when.status") == (("in", (400, 404)),)
    assert parse_ops({"gte": 500, "lt": 600}, "when.status") == (("gte", 500), ("lt", 600))
    with pytest.raises(ValidationError) as caught:
        parse_ops({"between": [1, 2]}, "when.body.x")
    assert caught.value.field_name == "when.body.x"


def test_the_document_passed_in_is_not_changed():
    doc = document(when={"headers": {"Retry-After": {"gt": 1}}, "code": 1})
    before = copy.deepcopy(doc)
    RuleSchema().load(doc)
    assert doc == before
