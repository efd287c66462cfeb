"""What the schema check adds to a diagnosis when the payload carries the request that was sent.

The check (rules/reqcheck/validate.py) runs on the sent request; its findings about the body, the path
and the headers become evidence (`evidence.request_check`) of the first diagnosis. A missing required field, a
wrong type or a value outside the schema is a fact about the request, so it wins over an
answer that names no field: when no rule matched a 4xx, or the rule that did is a validation
rule that could not tell which field, the schema's finding becomes the first diagnosis, with
`field` filled (the rule's answer follows it). A rule that names its own field keeps first place.
"""

from typing import Any

from opsdiag_client.answer import Diagnosis, Result

from ..engine import fields, score
from ..engine.normalize import Fact
from .validate import check, first_error

SHOWN = 5  # problems kept as evidence
# What a problem's kind says about the cause (rules/taxonomy.yaml).
CATEGORY = {"missing": "validation.missing_field", "no_body": "validation.missing_field",
            "type": "validation.type_mismatch", "enum": "validation.invalid_value",
            "limit": "validation.invalid_value", "shape": "validation.invalid_value",
            "body_not_json": "validation.malformed_request"}
# The schema check is exact about the request; whether that broke the call is inferred, and
# the corpus holds too few such answers to calibrate them: they get the weakest band's confidence.
WEAKEST = -1000.0
TEXTS = {
    "en": {
        "title": "The request breaks {platform}'s published schema at {field}",
        "explanation": "The request sent to {operation} was checked against the schema the platform publishes: "
                       "{message} at {field}. No rule names the field from the answer; the request itself shows it.",
        "steps": ["Fix {field} in the ERP's mapping for {operation} ({message}).",
                  "Check the other problems listed in evidence.request_check the same way.",
                  "Run the corrected payload through POST /check (or `opsdiag check FILE`) before sending it again."],
    },
    "zh-CN": {
        "title": "请求在 {field} 处不符合 {platform} 公布的 schema",
        "explanation": "已按平台公布的 schema 检查发往 {operation} 的请求：{field} {message}。"
                       "没有规则能从平台的返回中指出字段，但请求本身已说明问题。",
        "steps": ["修正 ERP 中 {operation} 的字段映射里的 {field}（{message}）。",
                  "同样检查 evidence.request_check 中列出的其他问题。",
                  "再次发送前，先用 POST /check（或 `opsdiag check FILE`）检查修正后的请求。"],
    },
}


def request_of(fact: Fact) -> dict | None:
    """The sent request as /check takes it, when the payload carries one."""
    if fact.request_body is None and not fact.request_headers:
        return None
    return {"method": fact.method, "endpoint": fact.endpoint, "headers": fact.request_headers,
            "body": fact.request_body, "platform": fact.platform}


def field_name(found: dict) -> str:
    """A problem's JSON path as a dotted field name (`skus[0].price.amount`, `marketplaceIds`)."""
    path = found["path"]
    for prefix in ("$.", "query.", "path.", "headers."):
        if path.startswith(prefix):
            return path[len(prefix):]
    return path


def _evidence(found: dict) -> dict:
    out = {"path": found["path"], "kind": found["kind"], "severity": found["severity"]}
    if "expected" in found:
        out["expected"] = found["expected"]
    if "sent" in found:
        out["sent"] = found["sent"]["type"]
    return out


def _schema_diagnosis(result: Result, found: dict, field: str, op: dict, fact: Fact, lang: str) -> Diagnosis:
    texts = TEXTS.get(lang, TEXTS["en"])
    values = {"platform": result["platform"], "field": field, "operation": f"{op['method']} {op['path']}",
              "message": found["message"]}
    answer = {
        "rule_id": None,
        "category": CATEGORY.get(found["kind"], "validation.invalid_value"),
        "owner": "integrator",
        "title": texts["title"].format(**values),
        "explanation": texts["explanation"].format(**values),
        "repair_steps": [step.format(**values) for step in texts["steps"]],
        "doc_url": found.get("doc") or op.get("doc"),
        "confidence": score.confidence(WEAKEST),
        "evidence": {"status": fact.status},
        "scoring": {"score": 0, "counted": {"request_check": 1.0}, "against": []},
        "field": field,
    }
    sent = fields.as_sent(fact, field)
    if sent:
        answer["field_sent"] = sent
    return answer


def _generic(result: Result, fact: Fact) -> bool:
    """The first diagnosis names no field and says no more than "the request was bad"."""
    top = result["diagnoses"][0]
    if "field" in top or not 400 <= fact.status < 500:
        return False
    return top["category"] == "unknown" or top["category"].startswith("validation.")


def add_request_check(result: Result, fact: Fact, lang: str) -> Result:
    request = request_of(fact)
    if request is None:
        return result
    checked = check(request, lang)
    # A logged request's envelope is often cut (signature parameters dropped), and the answer must
    # not depend on query parameters that no rule reads (the batch memo leaves them out of its
    # key, service/batch/worker.py): the sent body, headers and path only.
    problems = [p for p in checked["problems"] if p["where"] in ("body", "path", "headers")]
    if checked["operation"] is None or not problems:
        return result
    checked["problems"] = problems
    evidence: Any = {"operation": checked["operation"]["name"], "problems": [_evidence(p) for p in problems[:SHOWN]]}
    found = first_error(checked)
    if found is not None and found["kind"] in CATEGORY and _generic(result, fact):
        schema = _schema_diagnosis(result, found, field_name(found), checked["operation"], fact, lang)
        rest = result["diagnoses"] if result["diagnoses"][0]["category"] != "unknown" else []
        result["diagnoses"] = [schema, *rest][:len(result["diagnoses"]) + 1]
    result["diagnoses"][0]["evidence"]["request_check"] = evidence
    return result
