"""6. Hostile input: what an item of a batch costs, and a long fuzz of every way in.

    python -m bench.hostile [--examples N] [--json FILE]

An 8 MiB POST /diagnose/batch of HTML error pages is timed against a batch of the same
number of plain-text bodies of the same size in the same process (reducing a page to its
text should cost little beside reading the bytes at all), and the property of
tests/unit/rules/engine/test_fuzz_normalize (`through_every_path`: the batch API, `opsdiag
batch` over a JSONL log, the gap store) runs on N generated inputs, counting failures.
"""

import argparse
import json
import tempfile
import time
import traceback

from .common import command, emit, verdict_lines

PAGE = ("<!DOCTYPE html><html><head><title>502 Bad Gateway</title><style>" + "a{b:c}" * 500
        + "</style></head><body><h1>502 Bad Gateway</h1>" + "<div><p>upstream error " * 1500 + "</body></html>")
BATCH_BYTES = 8 * 1024 * 1024


def _timed(client, items) -> float:
    body = json.dumps({"items": items})
    started = time.perf_counter()
    response = client.post("/diagnose/batch", data=body, content_type="application/json")
    assert response.status_code == 200, response.status_code
    return time.perf_counter() - started


def html_batch() -> dict:
    from service.web.app import create_app

    app = create_app({"TESTING": True, "GAPS": "off"})
    client = app.test_client()
    count = BATCH_BYTES // (len(PAGE) + 80)
    pages = [{"status": 502, "endpoint": f"https://erp.example.com/api/x{i}", "body": PAGE} for i in range(count)]
    text = "upstream error " * (len(PAGE) // 15)  # as many bytes, no markup: what parsing the batch costs anyway
    texts = [{"status": 502, "endpoint": f"https://erp.example.com/api/x{i}", "body": text} for i in range(count)]
    _timed(client, texts[:50])  # warm
    html = min(_timed(client, pages) for _ in range(3))
    plain = min(_timed(client, texts) for _ in range(3))
    return {"items": count, "batch_mib": round(len(json.dumps({"items": pages})) / 2**20, 2),
            "html_seconds": round(html, 3), "text_seconds": round(plain, 3),
            "html_vs_text": round(html / plain, 2)}


def fuzz(examples: int) -> dict:
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import strategies as st

    from rules.kb.store import Store
    from service.web.app import create_app
    from tests.unit.rules.engine.test_fuzz_normalize import through_every_path, valid_payloads

    app = create_app({"TESTING": True})
    app.extensions["contract_violations"] = []
    tried, failures = [0], []

    @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck),
              phases=[Phase.generate])
    @given(payloads=st.lists(valid_payloads, min_size=1, max_size=6))
    def one(payloads):
        tried[0] += 1
        with tempfile.TemporaryDirectory() as folder:
            store = Store(f"sqlite:///{folder}/kb.db")
            store.create_schema()
            try:
                through_every_path(app, store, folder, payloads)
            except Exception:  # noqa: BLE001 - counted and shown, the run goes on
                failures.append(traceback.format_exc(limit=3)[-600:])
            finally:
                store.dispose()

    one()
    return {"inputs_tried": tried[0], "failures": len(failures), "first_failure": failures[:1]}


def targets(result: dict) -> list[tuple[str, str, bool]]:
    batch, fuzzed = result["html_batch"], result["fuzz"]
    return [
        ("an 8 MiB batch of HTML pages costs <= 2x one of plain-text bodies of the same size",
         f"{batch['html_vs_text']}x ({batch['html_seconds']} s vs {batch['text_seconds']} s)",
         batch["html_vs_text"] <= 2),
        ("fuzz of every way in: no failure", f"{fuzzed['failures']} of {fuzzed['inputs_tried']} inputs",
         fuzzed["failures"] == 0),
    ]


def report(result: dict) -> str:
    batch = result["html_batch"]
    lines = [f"{batch['items']} HTML pages in one {batch['batch_mib']} MiB batch: {batch['html_seconds']} s; "
             f"as many plain-text bodies of the same size: {batch['text_seconds']} s (same process)",
             f"fuzz: {result['fuzz']['inputs_tried']} inputs through the batch API, opsdiag batch and the gap store, "
             f"{result['fuzz']['failures']} failures"]
    return "\n".join(lines + verdict_lines(targets(result)))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--examples", type=int, default=400)
    parser.add_argument("--json")
    args = parser.parse_args()
    result = {"command": command("bench.hostile", "--examples", str(args.examples)),
              "html_batch": html_batch(), "fuzz": fuzz(args.examples)}
    emit(result, report(result))


if __name__ == "__main__":
    main()
