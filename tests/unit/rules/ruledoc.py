"""A rule document that loads, for tests to change one field of (rules/kb/schema.py's input)."""

import copy

from rules.kb.schema import RuleSchema
from rules.model import Rule

BASE = {
    "id": "generic.test.unit",
    "platforms": ["generic"],
    "regions": "*",
    "domains": "*",
    "priority": 50,
    "when": {"status": 400},
    "then": {
        "category": "validation.malformed_request",
        "doc_url": "https://www.rfc-editor.org/rfc/rfc9110#section-15.5.1",
        "en": {"title": "A unit test rule", "explanation": "Explains the error in {status}.",
               "repair_steps": ["Fix the request."]},
        "zh-CN": {"title": "单元测试规则", "explanation": "说明错误 {status} 的原因。",
                  "repair_steps": ["修正请求。"]},
    },
    "source": "tests/unit/rules/ruledoc.py",
    "examples": {"match": [{"status": 400, "endpoint": "/x"}], "no_match": [{"status": 200, "endpoint": "/x"}]},
}


def document(**changes) -> dict:
    """BASE with top-level fields replaced (a value of None removes the field)."""
    doc = copy.deepcopy(BASE)
    for key, value in changes.items():
        if value is None:
            doc.pop(key, None)
        else:
            doc[key] = value
    return doc


def rule(when: dict, **changes) -> Rule:
    return RuleSchema().load(document(when=when, **changes))
