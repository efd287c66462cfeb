"""Holds the compiled knowledge base a worker serves, and follows the store.

Each process compiles the current version once and swaps in a newly published one
atomically (a plain reference assignment), polling the store's one-row pointer from a
background thread. If the store cannot be reached at start, the knowledge base is
compiled from kb_content so the service still answers, and readiness says so.
"""

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from opsdiag_client.answer import Result
from sqlalchemy.exc import SQLAlchemyError

from .engine import Engine, EngineClosed
from .kb.loader import DEFAULT_KB_DIR, build_rules, checksum, load_directory
from .kb.store import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Status:
    kb_version: str
    rule_count: int
    store_ok: bool
    source: str  # "store" or "kb_content"
    reloads: int


class KnowledgeBase:
    def __init__(self, store: Store | None, kb_dir: Path | str = DEFAULT_KB_DIR,
                 poll_seconds: float = 0.5, after_swap: Callable[[], None] | None = None):
        self.store = store
        self.after_swap = after_swap  # called once the old engine is closed (service/web/heap.py)
        self.kb_dir = Path(kb_dir)
        self.poll_seconds = poll_seconds
        self.store_ok = False
        self.reloads = 0
        self._version_id: int | None = None
        self._source = "kb_content"
        self._engine = self._initial_engine()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _initial_engine(self) -> Engine:
        if self.store is not None:
            try:
                version = self.store.current_version()
                self.store_ok = True
                if version is not None:
                    self._version_id, self._source = version, "store"
                    return Engine(build_rules(self.store.documents(version)), str(version))
                log.warning("rule store is empty; serving %s (run `opsdiag kb load`)", self.kb_dir)
            except SQLAlchemyError as exc:
                log.error("rule store unreachable, serving %s: %s", self.kb_dir, exc)
        docs, rules = load_directory(self.kb_dir)
        return Engine(rules, f"local-{checksum(docs)[:12]}")

    @property
    def engine(self) -> Engine:
        return self._engine

    def diagnose(self, payload: dict, lang: str = "en") -> Result:
        for _ in range(3):
            try:
                return self._engine.diagnose(payload, lang)
            except EngineClosed:
                continue  # swapped under us: the new engine is already in place
        return self._engine.diagnose(payload, lang)

    def status(self) -> Status:
        engine = self._engine
        return Status(engine.version, len(engine.rules), self.store_ok, self._source, self.reloads)

    def refresh(self) -> bool:
        """Load the store's current version if it changed; True when a swap happened."""
        if self.store is None:
            return False
        try:
            version = self.store.current_version()
            self.store_ok = True
            if version is None or version == self._version_id:
                return False
            engine = Engine(build_rules(self.store.documents(version)), str(version))
        except SQLAlchemyError as exc:
            if self.store_ok:
                log.error("rule store lost; still serving version %s: %s", self._engine.version, exc)
            self.store_ok = False
            return False
        old, self._engine = self._engine, engine
        self._version_id, self._source = version, "store"
        self.reloads += 1
        old.close()
        del old
        if self.after_swap is not None:
            self.after_swap()
        log.info("now serving knowledge-base version %s", version)
        return True

    def start_polling(self) -> None:
        """Start the follower thread (call in each worker process, after any fork)."""
        if self.store is None or (self._thread and self._thread.is_alive()):
            return
        self._thread = threading.Thread(target=self._poll, name="kb-poll", daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                self.refresh()
            except Exception:  # noqa: BLE001 - a bad version must not kill the follower
                log.exception("could not load the new knowledge-base version")
                time.sleep(self.poll_seconds)

    def stop(self) -> None:
        self._stop.set()
