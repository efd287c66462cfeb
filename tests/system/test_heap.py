"""Frozen heaps (service/web/heap.py): full GC passes stay off requests, and a knowledge-base
swap still frees the old engine. Each case runs in its own process: gc.freeze is global."""

import subprocess
import sys

import pytest

from tests.conftest import KB_DIR

SWAP = """
import gc, sys
from rules.kb.loader import RuleDocument, read_directory
from rules.runtime import KnowledgeBase
from rules.kb.store import Store
from service.web import heap

store = Store(sys.argv[1])
store.create_schema()
docs = read_directory(sys.argv[2])
store.publish(docs, author="t")
kb = KnowledgeBase(store, sys.argv[2], after_swap=heap.after_swap if sys.argv[3] == "refreeze" else None)
heap.freeze()
frozen = gc.get_freeze_count()
before = frozen + len(gc.get_objects())
first = docs[0]
store.publish([RuleDocument(first.file, {**first.body, "priority": first.body["priority"] - 1}), *docs[1:]],
              author="t")
assert kb.refresh()
gc.collect()
grown = gc.get_freeze_count() + len(gc.get_objects()) - before  # objects the swap left behind
print(frozen > 10_000, "leaked" if grown > 1000 else "freed")
"""


@pytest.mark.parametrize(("after_swap", "expected"), [("refreeze", "True freed"), ("none", "True leaked")])
def test_a_swapped_out_engine_is_freed_although_the_heap_is_frozen(tmp_path, after_swap, expected):
    out = subprocess.run([sys.executable, "-c", SWAP, f"sqlite:///{tmp_path / 'kb.db'}", str(KB_DIR), after_swap],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == expected  # without the refreeze the old engine would leak
