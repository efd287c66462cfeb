"""A short soak: 50,000 diagnoses in one process with flat memory.

`make bench` runs the long one (1,000,000 in one worker); this one keeps a leak from
reaching it. Every rule example (and near miss) is diagnosed over and over, with the
message, the request id and the clock skew varied so that nothing is answered from one
cached value. No timing assertion: only the resident set size, after 5,000 and after
50,000 diagnoses, and the engine's own state.
"""

import gc
import os
import sys

import pytest

from rules.runtime import KnowledgeBase
from service.schemas import DiagnoseRequestSchema
from tests.conftest import KB_DIR

TOTAL, WARM = 50_000, 5_000
TOLERANCE = 8 * 1024 * 1024  # a leak of 200 bytes a diagnosis would pass it within 45,000


def rss() -> int:
    gc.collect()
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/statm")
def test_fifty_thousand_diagnoses_in_flat_memory(kb_rules):
    schema = DiagnoseRequestSchema()
    examples = [schema.load(e) for rule in kb_rules for e in (*rule.examples_match, *rule.examples_no_match)]
    kb = KnowledgeBase(None, KB_DIR)
    seen = set()
    warm = None
    try:
        for n in range(TOTAL):
            payload = dict(examples[n % len(examples)])
            body = payload.get("body")
            if isinstance(body, dict):
                payload["body"] = {**body, "request_id": f"req-{n}"}
            elif isinstance(body, str):
                payload["body"] = f"{body} #{n}"
            payload["headers"] = {**payload.get("headers", {}), "X-Request-Id": f"r{n}",
                                  "Date": f"Tue, 14 Nov 2023 22:{n % 60:02d}:20 GMT"}
            result = kb.diagnose(payload, "zh-CN" if n % 3 == 0 else "en")
            seen.add(result["diagnoses"][0]["category"])
            if n + 1 == WARM:
                warm = rss()
        grown = rss() - warm
    finally:
        kb.engine.close()
    assert len(seen) > 20  # the examples reached many different rules
    assert grown <= TOLERANCE, f"resident memory grew by {grown / 2**20:.1f} MiB over {TOTAL - WARM} diagnoses"
