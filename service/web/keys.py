"""API keys: shown once at creation, stored only as a SHA-256 of their secret part.

A key reads `odk_<id>_<secret>`: the id finds the row without a scan, the 256-bit
random secret makes a plain SHA-256 as good as a slow hash (nothing to brute-force),
and the comparison is constant-time. The operator's bootstrap key may have any form,
that one included: a presented key whose id names no issued key is checked, whole,
against the bootstrap row.
"""

import hashlib
import hmac
import secrets
from datetime import UTC, datetime

from sqlmodel import Field, Session, SQLModel, select

from rules.kb.store import Store

ROLES = ("viewer", "editor", "publisher", "admin")  # each includes the ones before it
CLIENT = "client"  # may call /diagnose when OPSDIAG_DIAGNOSE_AUTH=on, nothing else
ALL_ROLES = (CLIENT, *ROLES)
PREFIX = "odk"
BOOTSTRAP_ID = "bootstrap"  # never an issued id: those are 12 hex digits
MIN_CHOSEN_KEY = 24


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_key"

    id: str = Field(primary_key=True)
    secret_sha256: str
    role: str
    label: str = ""
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    created_by: str = ""
    revoked_at: datetime | None = None


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def allows(role: str, needed: str) -> bool:
    if needed == CLIENT:
        return role in ALL_ROLES
    return role in ROLES and ROLES.index(role) >= ROLES.index(needed)


def create_key(store: Store, role: str, label: str = "", created_by: str = "cli") -> tuple[ApiKey, str]:
    """A new key and its clear text, which is never stored and cannot be shown again."""
    if role not in ALL_ROLES:
        raise ValueError(f"role must be one of {', '.join(ALL_ROLES)}")
    key_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    row = ApiKey(id=key_id, secret_sha256=_digest(secret), role=role, label=label, created_by=created_by)
    with Session(store.engine) as session:
        session.add(row)
        session.commit()
        session.refresh(row)
    return row, f"{PREFIX}_{key_id}_{secret}"


def chosen_key_problem(key: str) -> str | None:
    """Why a key chosen by the operator cannot work, or None: what a client can send as
    `Authorization: Bearer <key>` and what auth.py reads back must be the same text."""
    if len(key) < MIN_CHOSEN_KEY:
        return f"it has {len(key)} characters; at least {MIN_CHOSEN_KEY} are needed"
    if key != key.strip() or any(c.isspace() for c in key):
        return "it contains white space, which an Authorization header does not carry intact"
    if not key.isascii() or not key.isprintable():
        return "it contains characters other than printable ASCII, which an HTTP header cannot carry"
    return None


def ensure_bootstrap_key(store: Store, key: str) -> None:
    """OPSDIAG_BOOTSTRAP_ADMIN_KEY: the operator's chosen key becomes an admin key."""
    problem = chosen_key_problem(key)
    if problem:
        raise ValueError(f"OPSDIAG_BOOTSTRAP_ADMIN_KEY refused: {problem}")
    with Session(store.engine) as session:
        row = session.get(ApiKey, BOOTSTRAP_ID)
        if row is None:
            session.add(ApiKey(id=BOOTSTRAP_ID, secret_sha256=_digest(key), role="admin",
                               label="OPSDIAG_BOOTSTRAP_ADMIN_KEY", created_by="environment"))
        elif not hmac.compare_digest(row.secret_sha256, _digest(key)):
            row.secret_sha256 = _digest(key)  # the operator rotated the variable
            session.add(row)
        session.commit()


def verify(store: Store, presented: str) -> ApiKey | None:
    """The live key `presented` stands for, or None. Both candidate rows are read in one
    query and one digest is compared, whichever the key turns out to be."""
    key_id, secret = BOOTSTRAP_ID, presented
    if presented.startswith(f"{PREFIX}_") and presented.count("_") >= 2:
        key_id, secret = presented[len(PREFIX) + 1:].split("_", 1)
    with Session(store.engine) as session:
        rows = {r.id: r for r in session.exec(select(ApiKey).where(ApiKey.id.in_({key_id, BOOTSTRAP_ID})))}
    row = rows.get(key_id) if key_id != BOOTSTRAP_ID else None
    if row is None:  # not an issued key: the operator's bootstrap key, in whatever form it was chosen
        row, secret = rows.get(BOOTSTRAP_ID), presented
    expected = row.secret_sha256 if row else _digest("")
    if not hmac.compare_digest(expected, _digest(secret)) or row is None or row.revoked_at:
        return None
    return row


def list_keys(store: Store) -> list[ApiKey]:
    with Session(store.engine) as session:
        return list(session.exec(select(ApiKey).order_by(ApiKey.created_at)).all())


def revoke(store: Store, key_id: str) -> ApiKey | None:
    with Session(store.engine) as session:
        row = session.get(ApiKey, key_id)
        if row is None:
            return None
        if row.revoked_at is None:
            row.revoked_at = datetime.now(UTC)
            session.add(row)
            session.commit()
            session.refresh(row)
        return row
