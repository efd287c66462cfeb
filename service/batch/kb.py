"""The knowledge-base version a batch run uses, fixed once and shipped to every worker.

The choice is the one rules.runtime.KnowledgeBase makes when a worker starts: the
store's current version when DATABASE_URL names a store that answers and holds one,
else kb_content (a test keeps the two in agreement). The driver resolves it once and
hands the rule documents themselves to the workers, so every worker (local process or
Dask worker on another machine) compiles exactly the same version, even if a new one
is published during the run, and no worker needs the database or the kb_content tree.
"""

import logging
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from rules.engine import Engine
from rules.kb.loader import DEFAULT_KB_DIR, RuleDocument, build_rules, checksum, load_directory
from rules.kb.store import Store, missing_sqlite_file

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class KbSnapshot:
    version: str
    source: str  # "store" or "kb_content", as /readyz says
    documents: tuple[RuleDocument, ...]
    digest: str  # content hash of the documents

    @classmethod
    def of(cls, version: str, source: str, documents) -> "KbSnapshot":
        documents = tuple(documents)
        return cls(version, source, documents, checksum(documents))

    def engine(self) -> Engine:
        return Engine(build_rules(self.documents), self.version)


def resolve(database_url: str | None, kb_dir: Path | str = DEFAULT_KB_DIR) -> KbSnapshot:
    """The store's current version if it answers and has one, else kb_content.

    RuleSetError when kb_content is needed and broken.
    """
    if database_url and missing_sqlite_file(database_url):
        log.info("no rule store at %s; using %s", database_url, kb_dir)  # reading creates nothing
    elif database_url:
        store = Store(database_url)
        try:
            version = store.current_version()
            if version is not None:
                return KbSnapshot.of(str(version), "store", store.documents(version))
            log.warning("rule store is empty; using %s (run `opsdiag kb load`)", kb_dir)
        except SQLAlchemyError as exc:
            log.warning("rule store unreachable, using %s: %s", kb_dir, type(exc).__name__)
        finally:
            store.engine.dispose()
    docs, _rules = load_directory(kb_dir)
    return KbSnapshot.of(f"local-{checksum(docs)[:12]}", "kb_content", docs)
