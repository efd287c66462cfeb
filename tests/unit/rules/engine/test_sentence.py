"""Rule texts: a placeholder the error has no value for is left out of the sentence (never
"?"), and `opsdiag kb lint` flags a text that reads broken without one."""

import copy

import pytest
from click.testing import CliRunner

from rules.engine.sentence import Sentence, without
from rules.kb.lint import check_templates, valued
from rules.kb.loader import RuleDocument, build_rules, read_directory
from service.cli import main
from tests.conftest import KB_DIR

RULE = "tiktok_shop.orders.order_not_owned_by_shop"
WITHOUT_REQUEST_ID = {
    "status": 400, "method": "GET",
    "endpoint": "https://open-api.tiktokglobalshop.com/order/202309/orders?ids=576461413038785752",
    "body": {"code": 21008111, "message": "The order or package does not belong to the current seller."},
}


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_a_repair_step_without_the_request_id_leaves_it_out(client, lang):
    answer = client.post("/diagnose", json=WITHOUT_REQUEST_ID, headers={"Accept-Language": lang}).get_json()
    top = answer["diagnoses"][0]
    assert top["rule_id"] == RULE
    texts = [top["title"], top["explanation"], *top["repair_steps"]]
    assert not any("?" in t or "？" in t or "{" in t or "None" in t for t in texts), texts
    last = top["repair_steps"][-1]
    assert ("quote the request_id to TikTok Partner support" in last if lang == "en"
            else "请带上 request_id 联系 TikTok" in last), last


def test_with_the_request_id_the_step_names_it(client):
    payload = copy.deepcopy(WITHOUT_REQUEST_ID)
    payload["body"]["request_id"] = "202203070749000101890810281E8C70B7"
    top = client.post("/diagnose", json=payload).get_json()["diagnoses"][0]
    assert "the request_id 202203070749000101890810281E8C70B7 to TikTok" in top["repair_steps"][-1]


@pytest.mark.parametrize(("template", "values", "reads"), [
    ("include the request_id {request_id}, the endpoint", {}, "include the request_id, the endpoint"),
    ("Order {code}: the order is not yours", {"code": ""}, "Order: the order is not yours"),
    ("SP-API throttled the call (HTTP {status}, {code})", {"status": 429}, "SP-API throttled the call (HTTP 429)"),
    ("Shopee answered \"{message}\" on {path}.", {"path": "/api/v2/x"}, "Shopee answered on /api/v2/x."),
    ("TikTok Shop refused it: {message}.", {}, "TikTok Shop refused it."),
    ("Lazada 拒绝了商品（{code}，{message}）。", {"code": "E0"}, "Lazada 拒绝了商品（E0）。"),
    ("Keep {{braces}} and {code}", {"code": 7}, "Keep {braces} and 7"),
])
def test_a_missing_value_is_left_out_with_what_only_it_needed(template, values, reads):
    assert Sentence(template)(values) == reads


def _rule(title: str, when: dict) -> dict:
    doc = next(d for d in read_directory(KB_DIR) if d.rule_id == RULE)
    body = copy.deepcopy(doc.body)
    body["when"] = when
    body["then"]["en"]["title"] = title
    return body


def test_lint_flags_a_text_that_reads_broken_without_a_value_the_rule_does_not_require():
    broken = "The platform said: {message}, so the order is not this shop's"
    rule = build_rules([RuleDocument("tiktok_shop/orders.yaml", _rule(broken, {"code": "21008111"}))])[0]
    problems = check_templates(rule)
    assert [p.level for p in problems] == ["warning"]
    assert "then.en.title: {message} may have no value" in problems[0].reason
    assert without(broken, {"message"}) in problems[0].reason
    # the same text is fine when a condition makes sure the message is there
    sure = _rule(broken, {"code": "21008111", "message": {"regex": "does not belong"}})
    assert check_templates(build_rules([RuleDocument("tiktok_shop/orders.yaml", sure)])[0]) == []


def test_values_a_rule_makes_sure_of():
    when = {"code": "21008111", "headers": {"retry-after": {"exists": True}},
            "message": {"regex": "order (?P<order_id>\\d+)(?: in (?P<shop>\\w+))?"}}
    rule = build_rules([RuleDocument("tiktok_shop/orders.yaml", _rule("Order {code}", when))])[0]
    sure = valued(rule)
    assert {"code", "message", "retry_after", "order_id", "status", "path"} <= sure
    assert not {"shop", "request_id", "method"} & sure  # an optional group; no condition on them


def test_kb_lint_reports_no_text_of_kb_content_that_reads_broken():
    done = CliRunner().invoke(main, ["kb", "lint", "--dir", str(KB_DIR)])
    assert done.exit_code == 0, done.output[-2000:]
    assert "may have no value" not in done.output
