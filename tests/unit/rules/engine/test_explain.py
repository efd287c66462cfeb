"""The answer a person reads: the rule's texts with the error's values in them, the evidence
that decided, the field the error is about, the confidence of each diagnosis, why the
runner-up lost, and what the status alone tells when no rule matched."""

import contextlib
import copy

import durable_rules_engine
import pytest

from rules.engine import MAX_DIAGNOSES, Engine, EngineClosed, score
from rules.engine.normalize import normalize
from rules.kb.loader import RuleDocument, build_rules

TT = "https://open-api.tiktokglobalshop.com/order/202309/orders"
TEXTS = {"en": {"title": "A title", "explanation": "An explanation.", "repair_steps": ["A step."]},
         "zh-CN": {"title": "测试标题", "explanation": "一条用于测试解释的说明文字。", "repair_steps": ["一步。"]}}
EVERY_PLACEHOLDER = (
    "status={status} code={code} message={message} platform={platform} region={region} domain={domain} "
    "host={host} path={path} method={method} request_id={request_id} skew={clock_skew_seconds} "
    "retry={retry_after} remaining={ratelimit_remaining} limit={ratelimit_limit} field={field}")


def doc(rule_id: str, when: dict, category="validation.invalid_value", platforms=("generic",), priority=50,
        texts=None, unless=None, **then) -> RuleDocument:
    return RuleDocument("generic/http.yaml", {**({"unless": unless} if unless else {}),
        "id": rule_id, "platforms": list(platforms), "regions": "*", "domains": "*", "priority": priority,
        "when": when, "then": {"category": category, "doc_url": f"https://example.com/{rule_id}",
                               **copy.deepcopy(texts or TEXTS), **then},
        "source": "tests/test_explain.py", "examples": {"match": [{}], "no_match": [{}]}})


def diagnose(docs, sent: dict, lang: str = "en") -> dict:
    engine = Engine(build_rules(docs), "v-test")
    try:
        return engine.diagnose(sent, lang)
    finally:
        engine.close()


SENT = {
    "status": 429, "method": "POST", "endpoint": f"{TT}?shop_cipher=ROW_1", "region": "US",
    "headers": {"Retry-After": "30", "X-RateLimit-Remaining": "0", "X-RateLimit-Limit": "100",
                "Date": "Tue, 14 Nov 2023 22:00:00 GMT"},
    "body": {"code": "E1", "message": "Too many requests", "request_id": "REQ-9"},
    "context": {"sent_at": "2023-11-14T22:07:00Z"},
}


def test_every_placeholder_a_rule_may_name_is_filled_from_the_error():
    texts = copy.deepcopy(TEXTS)
    texts["en"].update(title="HTTP {status}, {code}", explanation=EVERY_PLACEHOLDER,
                       repair_steps=["Wait {retry_after} seconds.", "A step without values."])
    answer = diagnose([doc("generic.x.all", {"code": "E1"}, texts=texts)], SENT)
    [first] = answer["diagnoses"]
    assert first["title"] == "HTTP 429, E1"
    assert first["explanation"] == (
        "status=429 code=E1 message=Too many requests platform=tiktok_shop region=US domain=orders "
        "host=open-api.tiktokglobalshop.com path=/order/202309/orders method=POST request_id=REQ-9 skew=420 "
        "retry=30 remaining=0 limit=100 field=the field the message names")
    assert first["repair_steps"] == ["Wait 30 seconds.", "A step without values."]


def test_amazon_s_rate_limit_header_fills_the_limit():
    texts = copy.deepcopy(TEXTS)
    texts["en"]["explanation"] = "The limit is {ratelimit_limit} per second."
    sent = {"status": 429, "endpoint": "https://sellingpartnerapi-na.amazon.com/orders/v0/orders",
            "headers": {"x-amzn-RateLimit-Limit": "0.0167"}, "body": {"errors": [{"code": "QuotaExceeded"}]}}
    [first] = diagnose([doc("generic.x.limit", {"status": 429}, texts=texts)], sent)["diagnoses"]
    assert first["explanation"] == "The limit is 0.0167 per second."


def test_values_the_error_does_not_carry_are_left_out_not_shown_as_none():
    texts = copy.deepcopy(TEXTS)
    texts["en"].update(explanation="Refused ({request_id}) with status {status}.",
                       repair_steps=["Quote request {request_id} to support."])
    [first] = diagnose([doc("generic.x.some", {"status": 429}, texts=texts)],
                       {"status": 429, "endpoint": TT})["diagnoses"]
    assert first["explanation"] == "Refused with status 429."
    assert first["repair_steps"] == ["Quote request to support."]


def test_the_field_a_rule_captures_names_the_field_in_its_texts_evidence_and_answer():
    texts = copy.deepcopy(TEXTS)
    texts["en"].update(title="Missing {field}", repair_steps=["Send {field} ({shop})."])
    when = {"message": {"regex": r"missing (?P<field>[\w.]+)(?: for (?P<shop>\w+))?(?P<unused>!)?"}}
    sent = {"status": 400, "endpoint": TT, "body": {"message": "missing recipient.zip for shop7"},
            "request": {"body": {"recipient": {"zip": None}}}}
    [first] = diagnose([doc("generic.x.field", when, "validation.missing_field", texts=texts)], sent)["diagnoses"]
    assert first["title"] == "Missing recipient.zip"
    assert first["repair_steps"] == ["Send recipient.zip (shop7)."]
    assert first["field"] == "recipient.zip" and first["field_sent"] == "null"
    assert first["evidence"] == {"message": "missing recipient.zip for shop7", "field": "recipient.zip",
                                 "shop": "shop7"}, "a group that took part in no match is no evidence"


def test_a_rule_s_fixed_field_is_named_and_how_it_was_sent_told():
    sent = {"status": 400, "endpoint": TT, "body": {"code": "E7"}, "request": {"body": {"sku": {"qty": "5"}}}}
    [first] = diagnose([doc("generic.x.fixed", {"code": "E7"}, field="sku.qty")], sent)["diagnoses"]
    assert (first["field"], first["field_sent"]) == ("sku.qty", "string")
    assert first["evidence"] == {"code": "E7", "field": "sku.qty"}
    [absent] = diagnose([doc("generic.x.fixed", {"code": "E7"}, field="sku.qty")],
                        {**sent, "request": {"body": {"sku": {}}}})["diagnoses"]
    assert absent["field_sent"] == "absent"
    [unsent] = diagnose([doc("generic.x.fixed", {"code": "E7"}, field="sku.qty")],
                        {**sent, "request": {}})["diagnoses"]
    assert unsent["field"] == "sku.qty" and "field_sent" not in unsent


def test_without_a_field_the_text_says_so_in_the_asked_language_and_no_field_is_answered():
    texts = copy.deepcopy(TEXTS)
    texts["en"]["title"] = "Check {field}"
    texts["zh-CN"]["title"] = "检查{field}"
    rules = [doc("generic.x.nofield", {"code": "E1"}, "auth.token_invalid", texts=texts)]
    sent = {"status": 400, "endpoint": TT, "body": {"code": "E1"}}
    [en] = diagnose(rules, sent)["diagnoses"]
    [zh] = diagnose(rules, sent, "zh-CN")["diagnoses"]
    [other] = diagnose(rules, sent, "fr")["diagnoses"]
    assert en["title"] == "Check the field the message names" == other["title"]
    assert zh["title"] == "检查报错信息中指出的字段"
    assert zh["explanation"] == TEXTS["zh-CN"]["explanation"] and other["explanation"] == "An explanation."
    assert "field" not in en and "field_sent" not in en


def test_the_answer_names_the_rule_its_owner_its_document_and_what_counted():
    rules = [doc("generic.x.quota", {"status": [200, 429], "code": "E1", "method": {"ne": "GET"}},
                 "rate_limit.exceeded", owner="platform",
                 unless={"headers": {"x-ratelimit-remaining": {"gt": 0}}})]
    headers = {"X-RateLimit-Remaining": "5", "Date": SENT["headers"]["Date"]}
    answer = diagnose(rules, {**SENT, "status": 200, "headers": headers})
    assert {k: answer[k] for k in ("kb_version", "platform", "region", "domain", "matched")} == {
        "kb_version": "v-test", "platform": "tiktok_shop", "region": "US", "domain": "orders", "matched": True}
    assert "platform" in answer["inferred"] and "domain" in answer["inferred"]
    [first] = answer["diagnoses"]
    assert {k: first[k] for k in ("rule_id", "category", "owner", "doc_url")} == {
        "rule_id": "generic.x.quota", "category": "rate_limit.exceeded", "owner": "platform",
        "doc_url": "https://example.com/generic.x.quota"}
    assert first["scoring"] == {"score": 8.0 - score.AGAINST, "counted": {"code": 8.0},
                                "against": ["headers.x-ratelimit-remaining"]}, "a 200 and a `ne` count nothing"
    assert first["evidence"] == {"status": 200, "code": "E1", "method": "POST", "clock_skew_seconds": 420}


def test_evidence_holds_each_tested_value_clipped_and_leaves_out_absent_ones():
    rules = [doc("generic.x.long", {"message": {"regex": "^x"}, "headers": {"retry-after": {"exists": False}},
                                    "body": {"data.n": {"type": "integer"}}})]
    for length, shown in ((300, "x" * 300), (301, "x" * 300 + "…")):
        sent = {"status": 400, "endpoint": TT, "body": {"message": "x" * length, "data": {"n": 3}}}
        [first] = diagnose(rules, sent)["diagnoses"]
        assert first["evidence"] == {"message": shown, "body.data.n": 3}


def test_no_more_than_five_diagnoses_in_ranked_order():
    rules = [doc(f"generic.x.r{i}", {"status": 429, **({"code": "E1"} if i % 2 else {})}, priority=10 + i)
             for i in range(8)]
    answer = diagnose(rules, SENT)
    assert MAX_DIAGNOSES == 5
    assert [d["rule_id"] for d in answer["diagnoses"]] == [
        "generic.x.r7", "generic.x.r5", "generic.x.r3", "generic.x.r1", "generic.x.r6"]


@pytest.mark.parametrize("bands, top, second", [
    (((5.0, 0.9), (0.0, 0.2)), 0.9, 0.1),  # the second is at most 1 - the first
    (((5.0, 0.6), (0.0, 0.3)), 0.6, 0.3),  # ... or its own band's figure, when lower
    (((5.0, 0.3), (1.0, 0.7)), 0.3, 0.3),  # ... and never above the first
    (((5.0, 0.6666), (0.0, 0.5)), 0.6666, 0.33),  # rounded to two places
])
def test_the_first_diagnosis_has_the_calibrated_confidence_and_the_others_never_more(monkeypatch, bands, top,
                                                                                      second):
    monkeypatch.setattr(score, "_calibration", lambda: (bands, 0.05))
    rules = [doc("generic.x.code", {"code": "E1"}, "rate_limit.exceeded"),
             doc("generic.x.status", {"status": 429}, "rate_limit.ip_blocked")]
    answer = diagnose(rules, SENT)
    assert [d["confidence"] for d in answer["diagnoses"]] == [top, second]


def test_the_runner_up_line_says_what_each_rule_scored_on():
    rules = [doc("generic.x.code", {"code": "E1", "method": "POST"}, "rate_limit.exceeded"),
             doc("generic.x.same", {"code": "E1"}, "rate_limit.exceeded"),
             doc("generic.x.ip", {"status": [200, 429], "message": {"not_regex": "quota"}}, "rate_limit.ip_blocked",
                 unless={"headers": {"retry-after": {"exists": True}}, "context": {"sent_at": {"exists": True}}})]
    answer = diagnose(rules, SENT)
    assert answer["runner_up"] == (
        "rate_limit.ip_blocked (generic.x.ip) scored -22.2 on status; rate_limit.exceeded (generic.x.code) "
        "scored 8.5 on code, method; against the runner-up: context.sent_at, headers.retry-after.")
    assert diagnose(rules, SENT, "zh-CN")["runner_up"] == (
        "rate_limit.ip_blocked（generic.x.ip）依据 status 得分 -22.2；rate_limit.exceeded（generic.x.code）"
        "依据 code, method 得分 8.5；不利于次选的证据：context.sent_at, headers.retry-after。")
    assert diagnose(rules, SENT, "fr")["runner_up"] == answer["runner_up"]
    sent = {**SENT, "status": 200, "headers": {}, "context": {}}
    assert diagnose(rules, sent)["runner_up"] == (
        "rate_limit.ip_blocked (generic.x.ip) scored 0.0 on -; rate_limit.exceeded (generic.x.code) "
        "scored 8.5 on code, method.")


def test_rules_of_one_category_have_no_runner_up_line():
    rules = [doc("generic.x.a", {"code": "E1"}), doc("generic.x.b", {"status": 429})]
    assert "runner_up" not in diagnose(rules, SENT)


# ------------------------------------------------------------------ no rule matched

@pytest.mark.parametrize("status, owner, title", [
    (0, "network", "No response was received"),
    (429, "integrator", "Too many requests (HTTP 429)"),
    (503, "platform", "Server-side error (HTTP 503)"),
])
def test_without_a_match_the_status_alone_is_explained(status, owner, title):
    sent = {"status": status, "endpoint": "https://api.example.com/v1/x", "body": {"code": "Z9", "message": "m"}}
    answer = diagnose([doc("generic.x.other", {"code": "E1"})], sent)
    assert answer["matched"] is False and "runner_up" not in answer
    [only] = answer["diagnoses"]
    assert {k: only[k] for k in ("rule_id", "category", "owner", "title", "doc_url")} == {
        "rule_id": None, "category": "unknown", "owner": owner, "title": title, "doc_url": None}
    assert only["confidence"] == score.unmatched_confidence()
    assert only["scoring"] == {"score": 0, "counted": {}, "against": []}
    assert only["evidence"] == {"status": status, "code": "Z9", "message": "m"}
    assert "{" not in " ".join([only["explanation"], *only["repair_steps"]])


def test_the_status_alone_in_chinese_with_the_values_of_the_error():
    sent = {"status": 0, "endpoint": "https://api.example.com/v1/x"}
    [zh] = Engine([], "e").diagnose(sent, "zh-CN")["diagnoses"]
    [fr] = Engine([], "e").diagnose(sent, "fr")["diagnoses"]
    assert zh["title"] == "未收到任何响应" and fr["title"] == "No response was received"
    assert any("api.example.com" in step for step in zh["repair_steps"])
    assert zh["evidence"] == {"status": 0}, "no code or message: none in the evidence"


def test_an_unmatched_message_is_clipped_in_the_evidence():
    sent = {"status": 418, "endpoint": "/x", "body": {"message": "y" * 301}}
    [only] = Engine([], "e").diagnose(sent)["diagnoses"]
    assert only["evidence"]["message"] == "y" * 300 + "…"
    assert only["owner"] == "integrator"


# ------------------------------------------------------------------ the engine itself

def test_an_engine_without_rules_or_without_candidates_ranks_nothing():
    engine = Engine([], "e")
    assert engine.rank(normalize(SENT)) == ([], {})
    assert engine.partition_count >= 1
    rules = build_rules([doc("generic.x.code", {"code": "E1"})])
    engine = Engine(rules, "e")
    try:
        assert engine.rules == rules and engine.version == "e", "what /health reports of the version"
        assert engine.rank(normalize({"status": 400, "endpoint": TT, "body": {"code": "E2"}})) == ([], {})
        ranked, raw = engine.rank(normalize(SENT))
        assert [s.rule.id for s in ranked] == ["generic.x.code"] and "E1" in raw.values()
    finally:
        engine.close()


def test_a_closed_engine_refuses_to_rank_and_closing_twice_is_harmless():
    engine = Engine(build_rules([doc("generic.x.code", {"code": "E1"})]), "e")
    engine.close()
    engine.close()
    with pytest.raises(EngineClosed, match="^e$"):
        engine.rank(normalize(SENT))
    with pytest.raises(EngineClosed):
        engine.match(normalize(SENT))


def test_no_fact_is_left_behind_in_the_rulesets():
    rules = build_rules([doc("generic.x.code", {"code": "E1"}), doc("generic.x.status", {"status": 429}),
                         doc("tiktok_shop.x.own", {"message": {"regex": "many"}}, platforms=("tiktok_shop",))])
    engine = Engine(rules, "e")
    try:
        for _ in range(3):
            for status in (400, 429):
                engine.diagnose({**SENT, "status": status})
        assert len(engine.match(normalize(SENT))) == 3
        for ruleset in engine.matcher._host._ruleset_list:
            with contextlib.suppress(durable_rules_engine.error):  # never opened: nothing asserted there
                assert ruleset.get_facts("0") == []
    finally:
        engine.close()


def test_english_unless_another_language_is_asked_for():
    texts = copy.deepcopy(TEXTS)
    engine = Engine(build_rules([doc("generic.x.code", {"code": "E1"}, texts=texts)]), "e")
    try:
        assert engine.diagnose(SENT)["diagnoses"][0]["title"] == "A title"
        assert Engine([], "e").diagnose({"status": 0, "endpoint": "/x"})["diagnoses"][0]["title"] == (
            "No response was received")
    finally:
        engine.close()


def test_the_request_check_is_told_in_the_asked_language_with_or_without_a_matching_rule():
    sent = {"status": 400, "method": "POST", "body": {"error": "bad request"},
            "endpoint": "https://partner.shopeemobile.com/api/v2/product/update_price?partner_id=1",
            "request": {"body": {"item_id": 800000001, "price_list": [{"model_id": 0, "original_price": "100"}]}}}
    for rules in ([], [doc("generic.x.status", {"status": 400, "method": "POST"}, "validation.invalid_value")]):
        en = diagnose(rules, sent)["diagnoses"][0]
        zh = diagnose(rules, sent, "zh-CN")["diagnoses"][0]
        assert en["category"] == zh["category"] == "validation.type_mismatch"
        assert en["evidence"]["request_check"]["problems"][0]["path"] == "$.price_list[0].original_price"
        assert any("\u4e00" <= ch <= "\u9fff" for ch in zh["title"] + zh["explanation"])
        assert not any("\u4e00" <= ch <= "\u9fff" for ch in en["title"] + en["explanation"])


def test_a_payload_that_passes_a_rule_s_gate_but_not_its_other_tests_matches_nothing():
    engine = Engine(build_rules([doc("generic.x.code", {"code": "E1", "status": 500})]), "e")
    try:
        ranked, raw = engine.rank(normalize(SENT))
        assert ranked == [] and 429 in raw.values(), "asserted, read, and nothing fired"
        assert engine.diagnose(SENT)["matched"] is False
    finally:
        engine.close()


def test_text_outside_ascii_is_compared_as_it_was_written():
    rules = [doc("generic.x.zh", {"code": "参数错误", "message": "商品名称不能为空"})]
    sent = {"status": 400, "endpoint": TT, "body": {"code": "参数错误", "message": "商品名称不能为空"}}
    assert diagnose(rules, sent)["matched"] is True
    assert diagnose(rules, {**sent, "body": {"code": "参数错误", "message": "商品名称"}})["matched"] is False


def test_a_status_no_class_of_the_fallbacks_names_gets_the_last_one_with_the_status_in_it():
    [only] = Engine([], "e").diagnose({"status": 302, "endpoint": "/x"})["diagnoses"]
    assert only["owner"] == "unknown" and "(302)" in only["explanation"]
    [zh] = Engine([], "e").diagnose({"status": 302, "endpoint": "/x"}, "zh-CN")["diagnoses"]
    assert "302" in zh["explanation"]


def test_named_groups_of_a_regex_on_a_body_path_or_a_header_are_captured():
    texts = copy.deepcopy(TEXTS)
    texts["en"]["title"] = "Fix {field} ({quota})"
    rules = [doc("generic.x.body", {"body": {"error.detail": {"regex": r"(?P<field>\w+) is required"}},
                                    "headers": {"x-quota": {"regex": r"(?P<quota>\d+)/day"}}},
                 "validation.missing_field", texts=texts)]
    sent = {"status": 400, "endpoint": TT, "headers": {"X-Quota": "500/day"},
            "body": {"error": {"detail": "sku_id is required"}}}
    [first] = diagnose(rules, sent)["diagnoses"]
    assert first["title"] == "Fix sku_id (500)" and first["field"] == "sku_id"
    assert first["evidence"] == {"body.error.detail": "sku_id is required", "headers.x-quota": "500/day",
                                 "field": "sku_id", "quota": "500"}


def test_an_answer_for_rules_another_matcher_ranked_has_the_same_evidence():
    """answer() without the values rank() read (bench/ ranks with other matchers) reads them itself."""
    rules = [doc("generic.x.code", {"code": "E1", "headers": {"retry-after": {"gte": 1}},
                                    "body": {"request_id": {"regex": "REQ"}}}, "rate_limit.exceeded")]
    engine = Engine(build_rules(rules), "e")
    try:
        fact = normalize(SENT)
        ranked, raw = engine.rank(fact)
        assert engine.answer(fact, ranked, {}) == engine.answer(fact, ranked, raw) == engine.diagnose(SENT)
        assert engine.answer(fact, ranked, {})["diagnoses"][0]["evidence"] == {
            "code": "E1", "headers.retry-after": 30, "body.request_id": "REQ-9", "clock_skew_seconds": 420}
    finally:
        engine.close()
