"""The shared store: versions, no-op reloads, followers that swap, and a store that goes away."""

import time

import pytest
from sqlmodel import SQLModel

from rules.kb.loader import RuleDocument, read_directory
from rules.kb.store import Store
from rules.runtime import KnowledgeBase
from tests.conftest import KB_DIR, pg_url


def sqlite_store(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'kb.db'}")
    store.create_schema()
    return store


def postgres_store():
    url = pg_url()
    if url is None:
        pytest.skip("PostgreSQL tests run under CI or with OPSDIAG_TEST_PG_URL")
    store = Store(url)
    SQLModel.metadata.drop_all(store.engine)
    store.create_schema()
    return store


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request, tmp_path):
    store = sqlite_store(tmp_path) if request.param == "sqlite" else postgres_store()
    yield store
    store.dispose()


def changed(docs: list[RuleDocument]) -> list[RuleDocument]:
    first = docs[0]
    return [RuleDocument(first.file, {**first.body, "priority": first.body["priority"] - 1}), *docs[1:]]


def test_publishing_the_same_content_is_a_no_op(store):
    docs = read_directory(KB_DIR)
    version, created = store.publish(docs, author="t")
    assert created
    assert store.publish(docs, author="t") == (version, False)
    assert store.current_version() == version
    assert store.documents(version) == docs


def test_a_change_makes_a_new_current_version(store):
    docs = read_directory(KB_DIR)
    first, _ = store.publish(docs, author="t")
    second, created = store.publish(changed(docs), author="t")
    assert created and second != first
    assert store.current_version() == second
    assert store.documents(first) == docs  # versions are immutable


def test_followers_swap_to_a_published_version(store):
    docs = read_directory(KB_DIR)
    first, _ = store.publish(docs, author="t")
    kb = KnowledgeBase(store, KB_DIR, poll_seconds=0.1)
    assert kb.status().kb_version == str(first)
    assert kb.status().source == "store"
    old_engine = kb.engine
    kb.start_polling()
    try:
        second, _ = store.publish(changed(docs), author="t")
        deadline = time.monotonic() + 5
        while kb.status().kb_version != str(second) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert kb.status().kb_version == str(second)
        assert kb.status().reloads == 1
        assert kb.diagnose({"status": 503, "endpoint": "/x"})["kb_version"] == str(second)
        assert old_engine.matcher._closed  # the replaced version's rulesets were freed
    finally:
        kb.stop()


def test_unreachable_store_at_start_serves_kb_content():
    kb = KnowledgeBase(Store("postgresql+psycopg://nobody@127.0.0.1:9/none"), KB_DIR)
    status = kb.status()
    assert (status.store_ok, status.source) == (False, "kb_content")
    assert status.kb_version.startswith("local-")
    assert kb.diagnose({"status": 503, "endpoint": "/x"})["diagnoses"]


def test_store_lost_while_running_keeps_the_held_version(tmp_path):
    store = sqlite_store(tmp_path)
    version, _ = store.publish(read_directory(KB_DIR), author="t")
    kb = KnowledgeBase(store, KB_DIR)
    SQLModel.metadata.drop_all(store.engine)  # the store no longer answers
    assert kb.refresh() is False
    status = kb.status()
    assert (status.store_ok, status.kb_version) == (False, str(version))
    assert kb.diagnose({"status": 503, "endpoint": "/x"})["kb_version"] == str(version)


def test_the_audit_log_refuses_updates_and_deletes(store):
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    from rules.kb.store import AuditEntry

    store.record(AuditEntry(actor="k1", action="update", rule_id="r", after='{"a": 1}'))
    for statement in ("UPDATE audit_log SET actor = 'someone else'", "DELETE FROM audit_log"):
        with store.engine.connect() as conn, pytest.raises(DBAPIError, match="append-only"):
            conn.execute(text(statement))
            conn.commit()
    assert [e.actor for e in store.audit()] == ["k1"]


def test_a_publish_built_on_a_version_that_is_no_longer_current_is_refused(store):
    """Probe item 8: a rollback made while a publish runs must not be silently undone."""
    from rules.kb.store import AuditEntry, CurrentMoved

    docs = read_directory(KB_DIR)
    v1, _ = store.publish(docs, author="t")
    v2, _ = store.publish(changed(docs), author="t")
    store.set_current(v1, AuditEntry(actor="t", action="rollback"))  # lands while the publish below runs
    with pytest.raises(CurrentMoved):
        store.publish(changed(changed(docs)), author="t", based_on=v2)
    assert store.current_version() == v1, "the rollback stands"
    v3, created = store.publish(changed(changed(docs)), author="t", based_on=v1)
    assert created and store.current_version() == v3 and v3 > v2


def test_a_publish_built_from_a_draft_edited_since_it_was_read_is_refused(store):
    """The older draft must not be published while the newer one is left behind."""
    from rules.kb.store import AuditEntry, Conflict

    docs = read_directory(KB_DIR)
    v1, _ = store.publish(docs, author="t")
    edited = changed(docs)
    first = edited[0]

    def save(revision):
        return store.save_draft(first.rule_id, first.file, first.body, revision, "k1",
                                AuditEntry(actor="k1", action="draft", rule_id=first.rule_id))

    read = save(None)
    newer = save(read.revision)  # someone edits the draft after the publisher read it
    with pytest.raises(Conflict):
        store.publish(edited, author="t", drafts=[read], audit=[AuditEntry(actor="t", action="publish")])
    assert store.current_version() == v1
    assert store.draft(first.rule_id).revision == newer.revision == 2, "the newer draft stays"
    assert [e.action for e in store.audit()].count("publish") == 0
    v2, created = store.publish(edited, author="t", drafts=[newer], audit=[AuditEntry(actor="t", action="publish")])
    assert created and store.current_version() == v2 and store.draft(first.rule_id) is None


def test_a_first_publish_on_an_empty_store_records_who_why_and_which_drafts(store):
    """based_on=None on an empty store makes the first version current; only the drafts
    named are removed, and the audit entries point at the new version."""
    from rules.kb.store import AuditEntry, Conflict

    docs = read_directory(KB_DIR)
    first, second = docs[0], docs[1]
    drafts = [store.save_draft(d.rule_id, d.file, d.body, None, "k1", AuditEntry(actor="k1", action="draft"))
              for d in (first, second)]
    version, created = store.publish(docs, author="ana", note="first", drafts=drafts[:1], based_on=None,
                                     audit=[AuditEntry(actor="ana", action="publish")])
    assert created and store.current_version() == version
    stored = store.version(version)
    assert (stored.author, stored.note, stored.rule_count) == ("ana", "first", len(docs))
    assert store.draft(first.rule_id) is None and store.draft(second.rule_id).revision == 1
    assert [e.version_id for e in store.audit(action="publish")] == [version]
    with pytest.raises(Conflict) as refused:
        store.publish(changed(docs), author="ana", drafts=drafts[:1])
    assert refused.value.args == (first.rule_id,)
