"""7. Request check: what checking a request against its published schema costs.

    python -m bench.check [--seconds S] [--json FILE]

The bodies are the platforms' own request examples (tests/fixtures/request_examples.jsonl:
SP-API, TikTok Shop and Shopee); the ones at the 50th and 99th percentile of their JSON size
are checked (rules/reqcheck.validate: operation lookup, envelope, parameters, body) and timed in
microseconds, against one /diagnose evaluation (Engine.diagnose over the knowledge base's
payload mix, the same process, rounds taken in turn). Typical order and product bodies are
timed too: TikTok Shop's Get Order List and Create Product samples, Shopee's update_price sample,
SP-API's createInboundPlan example; and Shopee's add_item sample, which breaks its own table
(tests/unit/rules/reqcheck/test_check.py DISAGREEMENTS), for the cost of listing problems. Each request is sent
as a well-formed call would be: its required query parameters and headers, the signature
parameters and the token where the platform wants them (so the figure is the body's check,
not the listing of a missing envelope). The target: a check of a typical order or product
body costs no more than one diagnosis.
"""

import argparse
import json
import re
from pathlib import Path

from rules.engine import Engine
from rules.reqcheck import validate as reqcheck
from rules.reqcheck.schemas import catalog

from .common import ROOT, command, emit, kb_payloads, kb_rules, rates_interleaved, verdict_lines

EXAMPLES = ROOT / "tests" / "fixtures" / "request_examples.jsonl"
TYPICAL = (("tiktok_shop", "get-order-list-202309", "order"), ("tiktok_shop", "create-product-202309", "product"),
           ("shopee", "v2.product.update_price", "product"), ("amazon_sp", "createInboundPlan", "product"),
           ("shopee", "v2.product.add_item", "with problems"))
ENVELOPE = {"tiktok_shop": ({"app_key": "k", "sign": "s", "timestamp": "1700000000", "shop_cipher": "c"},
                            {"x-tts-access-token": "t", "content-type": "application/json"}),
            "shopee": ({"partner_id": "1", "timestamp": "1700000000", "sign": "s", "shop_id": "2", "access_token": "t"},
                       {}),
            "amazon_sp": ({}, {"x-amz-access-token": "Atza|t"})}
SAMPLE = {"string": "1", "integer": "1", "number": "1", "boolean": "true", "array": "1"}


def request_of(case: dict) -> dict:
    op = next(o for o in catalog().operations if o.platform == case["platform"] and o.name == case["operation"])
    query, headers = (dict(part) for part in ENVELOPE[case["platform"]])
    for name in op.spec.get("query", {}).get("required", ()):
        query.setdefault(name, SAMPLE.get(op.spec["query"]["properties"][name].get("type"), "1"))
    for name in op.spec.get("headers", {}).get("required", ()):
        headers.setdefault(name, "1")
    return {"method": op.method, "endpoint": re.sub(r"\{[^}]+\}", "X1", op.path), "platform": case["platform"],
            "query": query, "headers": headers, "body": case["body"]}


def size(case: dict) -> int:
    return len(json.dumps(case["body"], ensure_ascii=False).encode())


def measure(seconds: float) -> dict:
    cases = sorted((json.loads(line) for line in Path(EXAMPLES).read_text(encoding="utf-8").splitlines()), key=size)
    chosen = {"p50": cases[(len(cases) - 1) * 50 // 100], "p99": cases[(len(cases) - 1) * 99 // 100]}
    for platform, name, kind in TYPICAL:
        chosen[f"{kind}: {platform} {name}"] = next(c for c in cases if c["platform"] == platform
                                                     and c["operation"] == name)
    rules = kb_rules()
    engine = Engine(rules, "bench")
    mix = [p for group in kb_payloads(rules).values() for p in group]
    contenders = {"diagnose": (lambda: [engine.diagnose(p) for p in mix], len(mix))}
    for label, case in chosen.items():
        request = request_of(case)
        contenders[label] = ((lambda r=request: reqcheck.check(r)), 1)
    rates = rates_interleaved(contenders, seconds)
    diagnosis_us = 1e6 / rates["diagnose"]
    rows = []
    for label, case in chosen.items():
        us = 1e6 / rates[label]
        rows.append({"label": label, "operation": f"{case['platform']} {case['operation']}", "bytes": size(case),
                     "microseconds": round(us, 1), "vs_diagnosis": round(us / diagnosis_us, 2)})
    return {"examples": len(cases), "diagnosis_microseconds": round(diagnosis_us, 1), "payloads": len(mix),
            "rows": rows}


def targets(result: dict) -> list[tuple[str, str, bool]]:
    typical = [r for r in result["rows"] if r["label"].startswith(("order:", "product:"))]  # conforming bodies
    worst = max(typical, key=lambda r: r["vs_diagnosis"])
    return [("a check of a typical order or product body costs <= one diagnosis",
             f"{worst['vs_diagnosis']}x at worst ({worst['operation']}, {worst['microseconds']} µs)",
             worst["vs_diagnosis"] <= 1)]


def report(result: dict) -> str:
    lines = [f"one diagnosis: {result['diagnosis_microseconds']} µs (mean over {result['payloads']} payloads); "
             f"bodies: the {result['examples']} published request examples", "",
             "| body | operation | bytes | check µs | vs one diagnosis |", "|---|---|---|---|---|"]
    lines += [f"| {r['label']} | {r['operation']} | {r['bytes']:,} | {r['microseconds']} | {r['vs_diagnosis']}x |"
              for r in result["rows"]]
    return "\n".join(lines + [""] + verdict_lines(targets(result)))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--json")
    args = parser.parse_args()
    result = {"command": command("bench.check", "--seconds", str(args.seconds)), **measure(args.seconds)}
    emit(result, report(result))


if __name__ == "__main__":
    main()
