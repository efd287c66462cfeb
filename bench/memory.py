"""4. Memory: RSS of a worker after 10,000 and after 1,000,000 diagnoses.

    python -m bench.memory [--diagnoses 1000000] [--json FILE]

Runs in its own process, which holds the knowledge base the way a gunicorn worker
does (rules.runtime.KnowledgeBase compiled from kb_content) and diagnoses the payload
mix over and over, each time with fresh values where real traffic has them (request
ids, order ids in the endpoint and in messages) and alternating English and Chinese,
so that nothing stays cached by accident. RSS is read from /proc after a garbage
collection at 10,000 diagnoses and at the end; the ratio of the two is the figure.
"""

import argparse
import contextlib
import copy
import gc
import json
import subprocess
import sys
import time

import durable_rules_engine

from .common import PY, ROOT, command, emit, kb_payloads, kb_rules, rss_kib, verdict_lines


def variants(mix: list[dict]):
    """Endless payloads: the mix with a counter in the fields real errors vary in."""
    n = 0
    while True:
        for base in mix:
            n += 1
            payload = copy.copy(base)
            payload["endpoint"] = f"{base['endpoint']}{'&' if '?' in base['endpoint'] else '?'}order_id={n}"
            body = base.get("body")
            if isinstance(body, dict):
                body = dict(body)
                body["request_id"] = f"bench-{n}"
                if isinstance(body.get("message"), str) and n % 3 == 0:
                    body["message"] = f"{body['message']} (order {n})"
                payload["body"] = body
            yield payload, ("en" if n % 2 else "zh-CN")


def child(total: int) -> dict:
    from rules.runtime import KnowledgeBase

    kb = KnowledgeBase(None)
    mix = [p for items in kb_payloads(kb_rules()).values() for p in items]
    stream = variants(mix)
    marks = {}
    started = time.perf_counter()
    for done in range(1, total + 1):
        payload, lang = next(stream)
        kb.diagnose(payload, lang)
        if done in (10_000, total):
            gc.collect()
            marks[done] = rss_kib()
    elapsed = time.perf_counter() - started
    facts_left = 0
    for ruleset in kb.engine.matcher._host._ruleset_list:
        with contextlib.suppress(durable_rules_engine.error):  # a session never opened holds nothing
            facts_left += len(json.loads(durable_rules_engine.get_facts(ruleset._handle, "0")))
    return {"rss_kib": marks, "seconds": round(elapsed, 1), "diagnoses_per_second": round(total / elapsed),
            "facts_left_in_durable": facts_left}


def run(total: int) -> dict:
    out = subprocess.run([PY, "-m", "bench.memory", "--child", str(total)], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout
    result = json.loads(out.splitlines()[-1])
    marks = {int(k): v for k, v in result["rss_kib"].items()}
    first, last = marks[10_000], marks[total]
    result.update({"diagnoses": total, "rss_mib_after_10k": round(first / 1024, 1),
                   "rss_mib_after_all": round(last / 1024, 1), "growth": round(last / first, 4),
                   "command": command("bench.memory", "--diagnoses", str(total))})
    return result


def targets(result: dict) -> list[tuple[str, str, bool | None]]:
    if result["diagnoses"] < 1_000_000:
        return []
    return [("RSS after 1,000,000 diagnoses within 10% of after 10,000",
             f"{result['growth']}x ({result['rss_mib_after_10k']} -> {result['rss_mib_after_all']} MiB)",
             result["growth"] <= 1.10)]


def report(result: dict) -> str:
    lines = [f"RSS after 10,000 diagnoses: {result['rss_mib_after_10k']} MiB; after {result['diagnoses']:,}: "
             f"{result['rss_mib_after_all']} MiB ({result['growth']}x); {result['seconds']} s, "
             f"{result['diagnoses_per_second']:,} diagnoses/s in one process; facts left in durable-rules: "
             f"{result['facts_left_in_durable']}"]
    lines += verdict_lines(targets(result))
    return "\n".join(lines)


def main() -> None:
    if "--child" in sys.argv:
        print(json.dumps(child(int(sys.argv[sys.argv.index("--child") + 1]))))
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("--diagnoses", type=int, default=1_000_000)
    parser.add_argument("--json")
    args = parser.parse_args()
    result = run(args.diagnoses)
    emit(result, report(result))


if __name__ == "__main__":
    main()
