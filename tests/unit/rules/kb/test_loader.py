"""An ill-formed rule is refused at load time with its file, id and reason."""

import copy

import pytest
import yaml

from rules.kb.loader import RuleSetError, load_directory

GOOD = {
    "id": "generic.http.sample",
    "regions": "*",
    "domains": "*",
    "priority": 20,
    "when": {"status": 400, "message": {"regex": "missing (?P<field>\\w+)"}},
    "then": {
        "category": "validation.missing_field",
        "doc_url": "https://www.rfc-editor.org/rfc/rfc9110#section-15.5.1",
        "en": {"title": "Missing {field}", "explanation": "The field {field} is missing.",
               "repair_steps": ["Send {field}."]},
        "zh-CN": {"title": "缺少 {field}", "explanation": "请求缺少字段 {field}。",
                  "repair_steps": ["补充 {field}。"]},
    },
    "source": "RFC 9110 section 15.5.1",
    "examples": {"match": [{"status": 400, "endpoint": "/x", "body": {"message": "missing sku"}}],
                 "no_match": [{"status": 400, "endpoint": "/x"}]},
}


def load(tmp_path, *rules, name="generic/http.yaml"):
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump({"platform": "generic", "rules": list(rules)}, allow_unicode=True))
    return load_directory(tmp_path)[1]


def broken(**changes):
    rule = copy.deepcopy(GOOD)
    for dotted, value in changes.items():
        target = rule
        *parents, last = dotted.split("__")
        for key in parents:
            target = target[key]
        target[last] = value
    return rule


def test_a_good_rule_loads_with_the_file_platform(tmp_path):
    [rule] = load(tmp_path, GOOD)
    assert rule.platforms == {"generic"}
    assert rule.file == "generic/http.yaml"
    assert rule.owner == "integrator"  # the taxonomy's owner when the rule names none


@pytest.mark.parametrize("rule, reason", [
    (broken(then__category="validation.nonsense"), "then.category: not a category of taxonomy.yaml"),
    (broken(when={"status": 400, "message": {"regex": "missing (unclosed"}}), "bad regular expression"),
    (broken(when={"status": 400, "message": {"regex": "(a)\\1"}}), "bad regular expression"),
    (broken(when={"stauts": 400}), "when.stauts: unknown field"),
    (broken(when={"context": {"bad key": "red"}}), "when.context.bad key: not a context key"),
    (broken(when={"status": {"approx": 400}}), "when.status: unknown operator 'approx'"),
    (broken(when={"body": {"data..x": 1}}), "when.body.data..x: bad JMESPath"),
    (broken(when={"headers": {"x-a": {"type": "string"}}}), "type applies to body"),
    (broken(then__en__title="Missing {feild}"), "then.en.title: unknown placeholders ['feild']"),
    (broken(then__owner="buyer"), "then.owner"),
    (broken(regions=["USA"]), "regions"),
    (broken(domains=["shipping"]), "domains"),
    (broken(priority=101), "priority"),
    (broken(id="Bad Id"), "id"),
    (broken(then__doc_url="not a url"), "then.doc_url"),
    (broken(when={}), "when: a rule needs at least one condition"),
    (broken(extra=1), "extra: Unknown field"),
])
def test_ill_formed_rules_are_refused_with_file_id_and_reason(tmp_path, rule, reason):
    with pytest.raises(RuleSetError) as caught:
        load(tmp_path, rule)
    message = str(caught.value)
    assert message.startswith(f"generic/http.yaml: {rule['id']}: ")
    assert reason in message


def test_duplicate_ids_are_refused(tmp_path):
    with pytest.raises(RuleSetError, match="duplicate id"):
        load(tmp_path, GOOD, copy.deepcopy(GOOD))  # one object twice would be dumped as an alias


def test_every_problem_is_reported_at_once(tmp_path):
    (tmp_path / "generic").mkdir()
    (tmp_path / "generic" / "broken.yaml").write_text("rules: [")
    with pytest.raises(RuleSetError) as caught:
        load(tmp_path, broken(then__category="x"), broken(id="generic.http.other", priority=-1))
    files = {e.file for e in caught.value.errors}
    assert files == {"generic/broken.yaml", "generic/http.yaml"}
    assert len(caught.value.errors) == 3
