"""Keeps the errors /diagnose could not explain, for `opsdiag kb gaps` and GET /admin/v1/gaps.

The engine only says `matched: false`; this module decides to keep the error. A request
never waits for the database: `record` adds the error to an in-memory buffer (per
worker) where repeats of the same error are merged into a count, and a background
thread flushes the buffer every OPSDIAG_GAPS_FLUSH_SECONDS, or sooner once it holds
FLUSH_ITEMS distinct errors, into the store (rules/kb/gaps.py masks
everything before it is written). When the buffer is full of distinct errors, or the
store is down, samples are dropped and counted (`opsdiag_gap_samples_total{outcome}`
and `GapRecorder.dropped`); /diagnose answers the same either way.
"""

import atexit
import logging
import os
import threading
import weakref
from dataclasses import replace

from flask import Flask, current_app, has_request_context, request
from opsdiag_client.answer import Result
from prometheus_client import Counter

from rules.kb import gaps
from rules.kb.gaps import Unmatched

log = logging.getLogger(__name__)

FLUSH_ITEMS = 500
MAX_PAYLOAD_BYTES = 32 * 1024  # larger payloads are kept as status, code and message only
SAMPLES = Counter("opsdiag_gap_samples", "Unmatched errors kept for `kb gaps` (stored) or lost (dropped)",
                  ["outcome"])

_recorders: "weakref.WeakSet[GapRecorder]" = weakref.WeakSet()


class GapRecorder:
    def __init__(self, store, flush_seconds: float = 5.0, max_items: int = 1000, flush_items: int = FLUSH_ITEMS):
        self.store = store
        self.flush_seconds = flush_seconds
        self.max_items = max_items  # distinct errors held; repeats of one only add to its count
        self.flush_items = flush_items
        self.stored = 0
        self.dropped = 0
        self._items: dict[tuple, list] = {}  # identity -> [count, first seen, latest occurrence]
        self._lock = threading.Lock()
        self._flushing = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._store_ok = True
        self._schema_ready = False
        self._pid = os.getpid()
        _recorders.add(self)

    # ------------------------------------------------------------ request side

    def add(self, item: Unmatched) -> None:
        """O(1), no I/O: the request goes on at once."""
        identity = (item.platform, item.region, item.domain, item.status, item.code, item.message)
        with self._lock:
            held = self._items.get(identity)
            if held is not None:
                held[0] += 1
                held[2] = item
            elif len(self._items) >= self.max_items:
                self.dropped += 1
                SAMPLES.labels("dropped").inc()
                return
            else:
                self._items[identity] = [1, item.seen_at, item]
            distinct = len(self._items)
        self._ensure_thread()
        if distinct >= self.flush_items:
            self._wake.set()

    def _ensure_thread(self) -> None:
        if self._thread is not None and self._thread.is_alive() and self._pid == os.getpid():
            return
        with self._lock:
            if self._thread is not None and self._thread.is_alive() and self._pid == os.getpid():
                return
            self._pid = os.getpid()  # after a fork the parent's thread is not ours
            self._thread = threading.Thread(target=self._run, name="gap-flush", daemon=True)
            self._thread.start()

    # --------------------------------------------------------- background side

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.flush_seconds)
            self._wake.clear()
            self.flush()

    def flush(self) -> int:
        """Write what is buffered; returns how many were stored. Never raises."""
        with self._flushing:
            with self._lock:
                held, self._items = self._items, {}
            if not held:
                return 0
            items = [replace(latest, count=count, first_seen=first) for count, first, latest in held.values()]
            try:
                if not self._schema_ready:  # the store may have been down when the app started
                    self.store.create_schema()
                    self._schema_ready = True
                stored = gaps.record(self.store, items)
            except Exception as exc:  # noqa: BLE001 - a store that is down loses samples, nothing else
                lost = sum(item.count for item in items)
                self.dropped += lost
                SAMPLES.labels("dropped").inc(lost)
                if self._store_ok:
                    log.warning("unmatched-error samples dropped, the store does not answer: %s",
                                exc.__class__.__name__)
                self._store_ok = False
                return 0
            if not self._store_ok:
                log.info("unmatched-error samples are stored again")
            self._store_ok = True
            self.stored += stored
            SAMPLES.labels("stored").inc(stored)
            return stored

    def stop(self, flush: bool = True) -> None:
        self._stop.set()
        self._wake.set()
        if flush:
            self.flush()

    @property
    def pending(self) -> int:
        """Occurrences buffered, repeats included."""
        with self._lock:
            return sum(count for count, _first, _latest in self._items.values())


@atexit.register
def _flush_all_at_exit() -> None:  # a worker stopping keeps what it buffered
    for recorder in list(_recorders):
        if recorder._pid == os.getpid():
            recorder.stop()


def init_app(app: Flask, store) -> GapRecorder | None:
    """A recorder over the app's store (none without a store, or with OPSDIAG_GAPS=off)."""
    enabled = app.config["GAPS"]
    if store is None or str(enabled).lower() in ("off", "0", "false", "no"):
        return None
    recorder = GapRecorder(store, flush_seconds=float(app.config["GAPS_FLUSH_SECONDS"]),
                           max_items=int(app.config["GAPS_BUFFER"]))
    app.extensions["opsdiag.gaps"] = recorder
    return recorder


def record(payload: dict, result: Result) -> None:
    """Keep an answer that no rule matched (called by the HTTP layer after diagnosing)."""
    if result.get("matched"):
        return
    recorder: GapRecorder | None = current_app.extensions.get("opsdiag.gaps")
    if recorder is None:
        return
    try:
        evidence = (result.get("diagnoses") or [{}])[0].get("evidence") or {}
        length = request.content_length if has_request_context() else None
        small = length is not None and length <= MAX_PAYLOAD_BYTES  # bounds what the buffer holds
        code = evidence.get("code")
        recorder.add(Unmatched(
            platform=str(result.get("platform") or "generic"), region=result.get("region"),
            domain=str(result.get("domain") or "other"), status=int(payload.get("status", 0)),
            code=None if code is None else str(code), message=evidence.get("message"),
            payload=payload if small else None, endpoint=str(payload.get("endpoint") or ""),
            method=payload.get("method")))
    except Exception:  # noqa: BLE001 - keeping a sample must never fail a diagnosis
        recorder.dropped += 1
        SAMPLES.labels("dropped").inc()
