"""The shared rule store: immutable knowledge-base versions, a pointer to the current one,
the drafts curators are working on, and the append-only audit log of every change.

SQLite by default, PostgreSQL in production (any SQLAlchemy URL). Workers never read
rules per request: they read the tiny `kb_pointer` row to learn whether a new version
exists, and load a version's rules only when it changes.
"""

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import DDL, Column, Text, event, update
from sqlalchemy.engine import Engine as SqlEngine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, col, create_engine, delete, select

from .loader import RuleDocument, checksum


def missing_sqlite_file(url: str) -> bool:
    """A SQLite URL whose file does not exist: opening it would create an empty store."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    database = parsed.database or ""
    return parsed.get_backend_name() == "sqlite" and database not in ("", ":memory:") \
        and not database.startswith("file:") and not os.path.exists(database)


class KbVersion(SQLModel, table=True):
    __tablename__ = "kb_version"

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    author: str
    note: str = ""
    checksum: str = Field(index=True)
    rule_count: int


class KbRule(SQLModel, table=True):
    __tablename__ = "kb_rule"

    id: int | None = Field(default=None, primary_key=True)
    version_id: int = Field(foreign_key="kb_version.id", index=True)
    rule_id: str
    file: str
    body: str = Field(sa_column=Column(Text, nullable=False))


class KbPointer(SQLModel, table=True):
    """One row per name; `current` is the version every worker serves."""

    __tablename__ = "kb_pointer"

    name: str = Field(primary_key=True)
    version_id: int = Field(foreign_key="kb_version.id")


class KbDraft(SQLModel, table=True):
    """A rule's pending change: a new body, or `body=None` for a deletion.

    `revision` makes every write a compare-and-set, so two curators editing the same
    rule never overwrite each other silently, on SQLite or PostgreSQL alike.
    """

    __tablename__ = "kb_draft"

    rule_id: str = Field(primary_key=True)
    file: str
    body: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    revision: int = 1
    updated_by: str
    updated_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


class AuditEntry(SQLModel, table=True):
    """Append-only: the store has no method that updates or deletes an entry."""

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=lambda: datetime.now(UTC), index=True)
    actor: str = Field(index=True)
    action: str = Field(index=True)
    rule_id: str | None = Field(default=None, index=True)
    version_id: int | None = None
    before: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    after: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    address: str = ""


# The database itself refuses to change or remove an audit entry, whoever connects.
event.listen(AuditEntry.__table__, "after_create", DDL(
    "CREATE TRIGGER audit_log_append_only_u BEFORE UPDATE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END").execute_if(dialect="sqlite"))
event.listen(AuditEntry.__table__, "after_create", DDL(
    "CREATE TRIGGER audit_log_append_only_d BEFORE DELETE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END").execute_if(dialect="sqlite"))
event.listen(AuditEntry.__table__, "after_create", DDL(
    "CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$; "
    "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
    "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()").execute_if(dialect="postgresql"))


class Conflict(Exception):
    """A compare-and-set lost: someone else changed the row first."""


class CurrentMoved(Exception):
    """The current version is no longer the one a publish was built on (a rollback or
    another publish came first): publishing would silently undo it."""


@dataclass(frozen=True)
class DraftChange:
    """One draft an import writes (`body` None: a deletion) or discards (`discard`)."""

    rule_id: str
    file: str
    body: dict | None
    revision: int | None
    audit: "AuditEntry"
    discard: bool = False


@dataclass(frozen=True)
class Draft:
    rule_id: str
    file: str
    body: dict | None
    revision: int
    updated_by: str
    updated_at: datetime


def _dumps(value) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, default=str)


def _loads(text: str | None):
    return None if text is None else json.loads(text)


class Store:
    def __init__(self, url: str):
        self.url = url  # the caller's settings name it (service/settings.py)
        connect_args = {"timeout": 5} if self.url.startswith("sqlite") else {"connect_timeout": 3}
        self.engine: SqlEngine = create_engine(
            self.url, connect_args=connect_args, pool_pre_ping=True)

    def create_schema(self) -> None:
        from . import gaps  # noqa: F401 - its tables (unmatched-error samples) live in this store too

        SQLModel.metadata.create_all(self.engine)

    def current_version(self) -> int | None:
        with Session(self.engine) as session:
            pointer = session.get(KbPointer, "current")
            return pointer.version_id if pointer else None

    def versions(self) -> list[KbVersion]:
        with Session(self.engine) as session:
            return list(session.exec(select(KbVersion).order_by(col(KbVersion.id).desc())).all())

    def version(self, version_id: int) -> KbVersion | None:
        with Session(self.engine) as session:
            return session.get(KbVersion, version_id)

    def documents(self, version_id: int) -> list[RuleDocument]:
        with Session(self.engine) as session:
            rows = session.exec(
                select(KbRule).where(KbRule.version_id == version_id).order_by(KbRule.id)
            ).all()
            return [RuleDocument(row.file, json.loads(row.body)) for row in rows]

    def publish(self, docs: list[RuleDocument], author: str, note: str = "",
                drafts: list[Draft] = (), audit: list[AuditEntry] = (),
                based_on: int | None | object = ...) -> tuple[int, bool]:
        """Store `docs` as a new current version unless they equal the current one.

        The `drafts` it was built from are removed in the same transaction, each only if
        still at the revision that was read (else Conflict), and `audit` is appended.
        With `based_on` (the current version id the docs were built from, None for an
        empty store), the pointer moves only if it is still there (else CurrentMoved).
        Returns (version id, whether a new version was created).
        """
        digest = checksum(docs)
        with Session(self.engine) as session:
            for draft in drafts:
                gone = session.exec(delete(KbDraft).where(
                    KbDraft.rule_id == draft.rule_id, KbDraft.revision == draft.revision))
                if gone.rowcount != 1:
                    session.rollback()
                    raise Conflict(draft.rule_id)
            pointer = session.get(KbPointer, "current")
            if pointer:
                current = session.get(KbVersion, pointer.version_id)
                if current and current.checksum == digest:
                    session.add_all(audit)
                    session.commit()
                    return current.id, False
            version = KbVersion(author=author, note=note, checksum=digest, rule_count=len(docs))
            session.add(version)
            session.flush()
            session.add_all(
                KbRule(version_id=version.id, rule_id=doc.rule_id, file=doc.file,
                       body=json.dumps(doc.body, ensure_ascii=False, default=str))
                for doc in docs
            )
            if based_on is not ...:
                moved = session.exec(update(KbPointer).where(
                    KbPointer.name == "current", KbPointer.version_id == based_on).values(version_id=version.id))
                if based_on is None and pointer is None:
                    session.add(KbPointer(name="current", version_id=version.id))
                elif moved.rowcount != 1:
                    session.rollback()
                    raise CurrentMoved(based_on)
            elif pointer:
                pointer.version_id = version.id
            else:
                session.add(KbPointer(name="current", version_id=version.id))
            for entry in audit:
                entry.version_id = version.id
                session.add(entry)
            session.commit()
            return version.id, True

    def set_current(self, version_id: int, audit: AuditEntry) -> None:
        with Session(self.engine) as session:
            if session.get(KbVersion, version_id) is None:
                raise LookupError(version_id)
            pointer = session.get(KbPointer, "current")
            if pointer:
                pointer.version_id = version_id
            else:
                session.add(KbPointer(name="current", version_id=version_id))
            session.add(audit)
            session.commit()

    # ------------------------------------------------------------------ drafts

    def drafts(self) -> list[Draft]:
        with Session(self.engine) as session:
            rows = session.exec(select(KbDraft).order_by(KbDraft.rule_id)).all()
            return [self._draft(row) for row in rows]

    def draft(self, rule_id: str) -> Draft | None:
        with Session(self.engine) as session:
            row = session.get(KbDraft, rule_id)
            return self._draft(row) if row else None

    @staticmethod
    def _draft(row: KbDraft) -> Draft:
        return Draft(row.rule_id, row.file, _loads(row.body), row.revision, row.updated_by,
                     row.updated_at)

    def save_draft(self, rule_id: str, file: str, body: dict | None, revision: int | None,
                   actor: str, audit: AuditEntry) -> Draft:
        """Write a draft if its revision is still `revision` (None: no draft may exist yet)."""
        now = datetime.now(UTC)
        with Session(self.engine) as session:
            if revision is None:
                session.add(KbDraft(rule_id=rule_id, file=file, body=_dumps(body),
                                    updated_by=actor, updated_at=now))
                new_revision = 1
            else:
                result = session.exec(update(KbDraft).where(
                    KbDraft.rule_id == rule_id, KbDraft.revision == revision,
                ).values(file=file, body=_dumps(body), revision=revision + 1,
                         updated_by=actor, updated_at=now))
                if result.rowcount != 1:
                    raise Conflict(rule_id)
                new_revision = revision + 1
            session.add(audit)
            try:
                session.commit()
            except IntegrityError as exc:
                raise Conflict(rule_id) from exc
        return Draft(rule_id, file, body, new_revision, actor, now)

    def apply_drafts(self, changes: list["DraftChange"], actor: str) -> None:
        """Every change in one transaction: all of them land, or none does (Conflict when
        one draft moved meanwhile). An import of thousands of rules is one commit."""
        now = datetime.now(UTC)
        with Session(self.engine) as session:
            for change in changes:
                if change.discard:
                    done = session.exec(delete(KbDraft).where(
                        KbDraft.rule_id == change.rule_id, KbDraft.revision == change.revision)).rowcount
                elif change.revision is None:
                    session.add(KbDraft(rule_id=change.rule_id, file=change.file, body=_dumps(change.body),
                                        updated_by=actor, updated_at=now))
                    done = 1
                else:
                    done = session.exec(update(KbDraft).where(
                        KbDraft.rule_id == change.rule_id, KbDraft.revision == change.revision,
                    ).values(file=change.file, body=_dumps(change.body), revision=change.revision + 1,
                             updated_by=actor, updated_at=now)).rowcount
                if done != 1:
                    session.rollback()
                    raise Conflict(change.rule_id)
                session.add(change.audit)
            try:
                session.commit()
            except IntegrityError as exc:
                raise Conflict(exc.params[0] if isinstance(exc.params, tuple) and exc.params else "-") from exc

    def discard_draft(self, rule_id: str, revision: int, audit: AuditEntry) -> None:
        with Session(self.engine) as session:
            gone = session.exec(delete(KbDraft).where(
                KbDraft.rule_id == rule_id, KbDraft.revision == revision))
            if gone.rowcount != 1:
                raise Conflict(rule_id)
            session.add(audit)
            session.commit()

    # ------------------------------------------------------------------- audit

    def record(self, entry: AuditEntry) -> None:
        with Session(self.engine) as session:
            session.add(entry)
            session.commit()

    def audit(self, actor: str | None = None, rule_id: str | None = None, action: str | None = None,
              since: datetime | None = None, until: datetime | None = None,
              limit: int = 100, before_id: int | None = None) -> list[AuditEntry]:
        query = select(AuditEntry)
        for column, value in ((AuditEntry.actor, actor), (AuditEntry.rule_id, rule_id),
                              (AuditEntry.action, action)):
            if value is not None:
                query = query.where(column == value)
        if since is not None:
            query = query.where(AuditEntry.at >= since)
        if until is not None:
            query = query.where(AuditEntry.at < until)
        if before_id is not None:
            query = query.where(col(AuditEntry.id) < before_id)
        with Session(self.engine) as session:
            return list(session.exec(query.order_by(col(AuditEntry.id).desc()).limit(limit)).all())

    def dispose(self) -> None:
        self.engine.dispose()
