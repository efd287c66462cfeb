"""The shared rule store: immutable knowledge-base versions and a pointer to the current one.

SQLite by default, PostgreSQL in production (any SQLAlchemy URL). Workers never read
rules per request: they read the tiny `kb_pointer` row to learn whether a new version
exists, and load a version's rules only when it changes.
"""

import json
import os
from datetime import UTC, datetime

from sqlalchemy import Column, Text
from sqlalchemy.engine import Engine as SqlEngine
from sqlmodel import Field, Session, SQLModel, create_engine, select

from .loader import RuleDocument, checksum

DEFAULT_URL = "sqlite:///opsdiag.db"


def database_url() -> str:
    return os.environ.get("DATABASE_URL") or DEFAULT_URL


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


class Store:
    def __init__(self, url: str | None = None):
        self.url = url or database_url()
        connect_args = {"timeout": 5} if self.url.startswith("sqlite") else {"connect_timeout": 3}
        self.engine: SqlEngine = create_engine(
            self.url, connect_args=connect_args, pool_pre_ping=True)

    def create_schema(self) -> None:
        SQLModel.metadata.create_all(self.engine)

    def current_version(self) -> int | None:
        with Session(self.engine) as session:
            pointer = session.get(KbPointer, "current")
            return pointer.version_id if pointer else None

    def documents(self, version_id: int) -> list[RuleDocument]:
        with Session(self.engine) as session:
            rows = session.exec(
                select(KbRule).where(KbRule.version_id == version_id).order_by(KbRule.id)
            ).all()
            return [RuleDocument(row.file, json.loads(row.body)) for row in rows]

    def publish(self, docs: list[RuleDocument], author: str, note: str = "") -> tuple[int, bool]:
        """Store `docs` as a new current version unless they equal the current one.

        Returns (version id, whether a new version was created).
        """
        digest = checksum(docs)
        with Session(self.engine) as session:
            pointer = session.get(KbPointer, "current")
            if pointer:
                current = session.get(KbVersion, pointer.version_id)
                if current and current.checksum == digest:
                    return current.id, False
            version = KbVersion(author=author, note=note, checksum=digest, rule_count=len(docs))
            session.add(version)
            session.flush()
            session.add_all(
                KbRule(version_id=version.id, rule_id=doc.rule_id, file=doc.file,
                       body=json.dumps(doc.body, ensure_ascii=False, default=str))
                for doc in docs
            )
            if pointer:
                pointer.version_id = version.id
            else:
                session.add(KbPointer(name="current", version_id=version.id))
            session.commit()
            return version.id, True

    def dispose(self) -> None:
        self.engine.dispose()
