"""Keeps the garbage collector's full passes off the request path.

A worker holds some 100,000 long-lived objects (the compiled knowledge base, Flask,
SQLAlchemy); a full collection walks them all, about 30 ms on the bench machine,
stalling whichever request set it off (the p99.9 in bench/RESULTS.md). Once a worker
has loaded, `freeze` moves them out of the collector's sight (gc.freeze). A knowledge-
base swap must leave the old engine collectable, so `after_swap` unfreezes, collects
once - in the follower thread, not in a request - and freezes again.
"""

import gc

_frozen = False


def freeze() -> None:
    global _frozen
    gc.collect()
    gc.freeze()
    _frozen = True


def after_swap() -> None:
    if _frozen:
        gc.unfreeze()
        freeze()
