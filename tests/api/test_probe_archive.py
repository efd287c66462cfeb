"""Hostile probe, items 2 and 12: YAML from outside and the names of rule files.

A 484-byte archive of nested YAML aliases ("billion laughs") used to pin a worker at 100%
CPU until it was killed, and import accepted file names that the admin API refuses
(`..\\..\\evil.yaml`, `C:/evil.yaml`, a leading space), which export then shipped."""

import io
import zipfile

import pytest

from rules.kb.curation import read_zip
from rules.kb.loader import RuleSetError, load_yaml, read_directory
from rules.kb.store import AuditEntry, Conflict, DraftChange
from tests.api.test_admin import auth, env  # noqa: F401 - the admin fixture

LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(8)
) + "rules: *i\n"


def zipped(files: dict[str, str]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in files.items():
            z.writestr(name, text)
    return out.getvalue()


def test_aliases_are_refused_before_they_expand():
    with pytest.raises(Exception, match="aliases"):
        load_yaml(LAUGHS)
    with pytest.raises(Exception, match="aliases"):
        load_yaml("base: &b {x: 1}\nother:\n  <<: *b\n")
    assert load_yaml("a: &anchor 1\nb: 2\n") == {"a": 1, "b": 2}, "an anchor alone expands nothing"


def test_an_alias_bomb_in_an_archive_is_a_named_error_not_a_hung_worker():
    data = zipped({"generic/http.yaml": LAUGHS})
    assert len(data) < 1000
    with pytest.raises(RuleSetError) as caught:
        read_zip(data)
    assert caught.value.errors[0].file == "generic/http.yaml" and "aliases" in caught.value.errors[0].reason


def test_an_alias_bomb_in_kb_content_is_refused_by_kb_load(tmp_path):
    (tmp_path / "generic").mkdir()
    (tmp_path / "generic" / "http.yaml").write_text(LAUGHS)
    with pytest.raises(RuleSetError, match="aliases"):
        read_directory(tmp_path)


@pytest.mark.parametrize("name", ["..\\..\\evil.yaml", "C:/evil.yaml", " generic/http.yaml", "/etc/x.yaml",
                                  "generic/../x.yaml", "Generic/HTTP.yaml", "generic/sub/x.yaml"])
def test_import_refuses_the_file_names_the_api_refuses(env, name):  # noqa: F811
    app, _kb, _store, keys = env
    response = app.test_client().post("/admin/v1/import", data=zipped({name: "rules: []\n"}),
                                      content_type="application/zip", headers=auth(keys["editor"]))
    assert response.status_code == 422, response.get_json()
    assert "file name" in str(response.get_json())


def test_the_api_and_import_share_one_name_rule(env):  # noqa: F811
    app, _kb, _store, keys = env
    response = app.test_client().get("/admin/v1/rules?file=C:/evil.yaml", headers=auth(keys["viewer"]))
    assert response.status_code == 422


def many_rules(count: int, broken_at: int | None = None) -> dict[str, str]:
    from tests.unit.rules.kb.test_loader import GOOD, broken
    rules = []
    for n in range(count):
        rule = broken(id=f"generic.bulk.r{n}", when={"status": 400, "message": {"regex": f"bulk marker {n}\\b"}})
        rule["examples"]["match"][0]["body"] = {"message": f"bulk marker {n}"}
        rules.append(rule)
    if broken_at is not None:
        rules[broken_at]["then"]["category"] = "validation.nonsense"
    assert GOOD["id"] not in {r["id"] for r in rules}
    from rules.kb.loader import dump_yaml
    return {"generic/bulk.yaml": dump_yaml({"platform": "generic", "rules": rules})}


def test_an_import_lands_whole_or_leaves_nothing(env):  # noqa: F811
    """Probe item 7: 6,500 rules ran past the worker timeout and left 744 drafts behind."""
    app, _kb, store, keys = env
    client = app.test_client()

    def post(files):
        return client.post("/admin/v1/import", data=zipped(files), content_type="application/zip",
                           headers=auth(keys["editor"]))

    assert post(many_rules(300, broken_at=299)).status_code == 422 and store.drafts() == []
    changes = [DraftChange(f"generic.bulk.r{n}", "generic/bulk.yaml", {"id": f"generic.bulk.r{n}"}, None,
                           AuditEntry(actor="t", action="import")) for n in range(50)]
    changes.append(changes[0])  # the same new draft twice: the database refuses the second, at the end
    with pytest.raises(Conflict):
        store.apply_drafts(changes, "t")
    assert store.drafts() == [], "nothing of a failed import stays"
    response = post(many_rules(300))
    assert response.status_code == 200 and response.get_json()["created"] == 300
    assert len([d for d in store.drafts() if d.body is not None]) == 300


def test_an_import_too_large_for_one_request_is_refused_up_front(env):  # noqa: F811
    app, _kb, store, keys = env
    from rules.kb import curation
    response = app.test_client().post(
        "/admin/v1/import", data=zipped(many_rules(curation.MAX_IMPORT_RULES + 1)),
        content_type="application/zip", headers=auth(keys["editor"]))
    assert response.status_code == 422 and "split the archive" in str(response.get_json())
    assert store.drafts() == []
