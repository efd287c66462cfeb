"""The admin API: keys and roles, drafts with ETags, tests, the publish gate, versions,
rollback, audit, export/import, and a store that goes away."""

import copy
import io
import json
import zipfile

import pytest
import yaml

from rules.kb.loader import read_directory
from rules.kb.store import Store
from rules.runtime import KnowledgeBase
from service.web.app import create_app
from service.web.keys import create_key
from tests.conftest import KB_DIR, contract_checked

BOOTSTRAP = "bootstrap-admin-key-for-tests-0123456789"
RULE = "tiktok_shop.common.sign_invalid"
SIGN_ERROR = {
    "status": 401, "platform": "tiktok_shop",
    "endpoint": "https://open-api.tiktokglobalshop.com/authorization/202309/shops",
    "body": {"code": 106001, "message": "Invalid credentials. The 'sign' query parameter is invalid."},
}


@pytest.fixture
def env(tmp_path):
    """A store holding kb_content as version 1, the app over it, and a key per role."""
    store = Store(f"sqlite:///{tmp_path / 'kb.db'}")
    store.create_schema()
    store.publish(read_directory(KB_DIR), author="test")
    kb = KnowledgeBase(store, KB_DIR)
    app = contract_checked(create_app({"TESTING": True, "BOOTSTRAP_ADMIN_KEY": BOOTSTRAP}, kb=kb))
    keys = {role: create_key(store, role)[1] for role in ("client", "viewer", "editor", "publisher", "admin")}
    yield app, kb, store, keys
    assert app.extensions["contract_violations"] == [], "responses that break openapi.yaml"
    kb.engine.close()
    store.dispose()


def auth(key: str, **headers) -> dict:
    return {"Authorization": f"Bearer {key}", **headers}


def read_rule(client, key, rule_id=RULE):
    response = client.get(f"/admin/v1/rules/{rule_id}", headers=auth(key))
    assert response.status_code == 200
    return response.get_json()["rule"], response.headers["ETag"]


def retitled(body: dict, title: str) -> dict:
    body = copy.deepcopy(body)
    body["then"]["en"]["title"] = title
    return body


def diagnose(client, payload=SIGN_ERROR, **kw):
    response = client.post("/diagnose", json=payload, **kw)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


# ------------------------------------------------------------------ access


ROLE_ORDER = ["client", "viewer", "editor", "publisher", "admin"]


def admin_routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("admin."):
            view = app.view_functions[rule.endpoint]
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                path = (rule.rule.replace("<rule_id>", RULE).replace("<key_id>", "nokey")
                        .replace("<int(max=2147483647):v>", "1").replace("<int(max=2147483647):w>", "1"))
                yield method, path, view.required_role


def test_every_admin_route_tells_401_from_403_for_every_role(env):
    app, _kb, _store, keys = env
    client = app.test_client()
    routes = list(admin_routes(app))
    assert len(routes) >= 15
    for n, (method, path, needed) in enumerate(routes):
        anonymous = client.open(path, method=method)
        assert anonymous.status_code == 401, (method, path)
        assert anonymous.headers["WWW-Authenticate"].startswith("Bearer")
        forged = client.open(path, method=method, headers=auth("odk_0000_nope"),
                             environ_base={"REMOTE_ADDR": f"10.9.{n // 200}.{n % 200}"})
        assert forged.status_code == 401, (method, path)
        for role in ROLE_ORDER:
            response = client.open(path, method=method, headers=auth(keys[role]), json={})
            allowed = role != "client" and ROLE_ORDER.index(role) >= ROLE_ORDER.index(needed)
            if allowed:
                assert response.status_code not in (401, 403), (method, path, role, response.get_json())
            else:
                assert response.status_code == 403, (method, path, role)
                assert needed in response.get_json()["detail"]


def test_bootstrap_key_is_an_admin_and_keys_are_stored_hashed(env, tmp_path):
    app, _kb, store, _keys = env
    client = app.test_client()
    created = client.post("/admin/v1/keys", headers=auth(BOOTSTRAP), json={"role": "editor", "label": "ops"})
    assert created.status_code == 201
    new_key = created.get_json()["key"]
    assert client.get("/admin/v1/rules", headers=auth(new_key)).status_code == 200
    listed = client.get("/admin/v1/keys", headers=auth(BOOTSTRAP)).get_json()["keys"]
    assert {"id": created.get_json()["id"], "role": "editor"}.items() <= next(
        k for k in listed if k["id"] == created.get_json()["id"]).items()
    store.dispose()
    raw = (tmp_path / "kb.db").read_bytes()
    assert new_key.encode() not in raw and new_key.split("_", 2)[2].encode() not in raw
    assert BOOTSTRAP.encode() not in raw
    revoked = client.delete(f"/admin/v1/keys/{created.get_json()['id']}", headers=auth(BOOTSTRAP))
    assert revoked.status_code == 200 and revoked.get_json()["revoked_at"]
    assert client.get("/admin/v1/rules", headers=auth(new_key)).status_code == 401


def test_repeated_failed_authentication_is_braked_per_address(env):
    app, _kb, _store, keys = env
    client = app.test_client()
    attacker = {"REMOTE_ADDR": "203.0.113.9"}
    codes = [client.get("/admin/v1/rules", headers=auth(f"guess-{i}-xxxxxxxxxxxxxxxxxxxx"),
                        environ_base=attacker).status_code for i in range(12)]
    assert codes[:10] == [401] * 10 and codes[10:] == [429, 429]
    # even the right key waits, from that address; other addresses are not affected
    assert client.get("/admin/v1/rules", headers=auth(keys["viewer"]), environ_base=attacker).status_code == 429
    assert client.get("/admin/v1/rules", headers=auth(keys["viewer"])).status_code == 200


def test_diagnose_can_require_a_client_key(env):
    app, _kb, _store, keys = env
    app.config["DIAGNOSE_AUTH"] = True
    client = app.test_client()
    try:
        assert client.post("/diagnose", json=SIGN_ERROR).status_code == 401
        assert client.post("/diagnose", json=SIGN_ERROR, headers=auth(keys["client"])).status_code == 200
        assert client.get("/admin/v1/rules", headers=auth(keys["client"])).status_code == 403
    finally:
        app.config["DIAGNOSE_AUTH"] = False


# ------------------------------------------------------------------ drafts


def test_draft_edit_needs_the_current_etag_and_goes_live_only_when_published(env):
    app, kb, _store, keys = env
    client = app.test_client()
    body, etag = read_rule(client, keys["viewer"])
    changed = retitled(body, "Signature mismatch (edited)")

    assert client.put(f"/admin/v1/rules/{RULE}", headers=auth(keys["editor"]), json=changed).status_code == 428
    stale = client.put(f"/admin/v1/rules/{RULE}", headers=auth(keys["editor"], **{"If-Match": '"0ld"'}),
                       json=changed)
    assert stale.status_code == 412 and stale.headers["ETag"] == etag
    saved = client.put(f"/admin/v1/rules/{RULE}", headers=auth(keys["editor"], **{"If-Match": etag}), json=changed)
    assert saved.status_code == 200
    assert saved.get_json()["status"] == "modified" and saved.headers["ETag"] != etag
    # the same ETag cannot win twice: the second writer is told, not overwritten
    again = client.put(f"/admin/v1/rules/{RULE}", headers=auth(keys["editor"], **{"If-Match": etag}),
                       json=retitled(body, "someone else"))
    assert again.status_code == 412

    assert diagnose(client)["diagnoses"][0]["title"] == body["then"]["en"]["title"]  # drafts are not live
    published = client.post("/admin/v1/publish", headers=auth(keys["publisher"]), json={"note": "retitle"})
    assert published.status_code == 201 and published.get_json() == {"version": 2, "created": True}
    assert kb.refresh()
    answer = diagnose(client)
    assert answer["kb_version"] == "2" and answer["diagnoses"][0]["title"] == "Signature mismatch (edited)"
    assert client.get(f"/admin/v1/rules/{RULE}", headers=auth(keys["viewer"])).get_json()["status"] == "published"


def test_merge_patch_create_and_delete(env):
    app, _kb, _store, keys = env
    client = app.test_client()
    _body, etag = read_rule(client, keys["viewer"])
    patched = client.patch(f"/admin/v1/rules/{RULE}", data=json.dumps({"priority": 71}),
                           content_type="application/merge-patch+json",
                           headers=auth(keys["editor"], **{"If-Match": etag}))
    assert patched.status_code == 200 and patched.get_json()["rule"]["priority"] == 71

    new = copy.deepcopy(patched.get_json()["rule"])
    new["id"] = "tiktok_shop.common.sign_invalid_copy"
    created = client.post("/admin/v1/rules", headers=auth(keys["editor"]), json=new)
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["status"] == "new" and created.headers["Location"].endswith(new["id"])
    assert created.get_json()["file"] == "tiktok_shop/common.yaml"
    assert client.post("/admin/v1/rules", headers=auth(keys["editor"]), json=new).status_code == 412

    gone = client.delete(f"/admin/v1/rules/{new['id']}",
                         headers=auth(keys["editor"], **{"If-Match": created.headers["ETag"]}))
    assert gone.status_code == 204
    assert client.get(f"/admin/v1/rules/{new['id']}", headers=auth(keys["viewer"])).status_code == 404


def test_an_invalid_rule_is_refused_with_the_field_and_why(env):
    app, _kb, _store, keys = env
    client = app.test_client()
    body, etag = read_rule(client, keys["viewer"])
    for field, broken in (("then.category", {**body, "then": {**body["then"], "category": "auth.made_up"}}),
                          ("when.message", {**body, "when": {"message": {"regex": "(unclosed"}}}),
                          ("priority", {**body, "priority": "high"})):
        response = client.put(f"/admin/v1/rules/{RULE}", headers=auth(keys["editor"], **{"If-Match": etag}),
                              json=broken)
        assert response.status_code == 422
        assert field in {p["name"] for p in response.get_json()["invalid-params"]}, response.get_json()

    own_example_broken = copy.deepcopy(body)
    own_example_broken["when"]["code"] = "999999"
    response = client.put(f"/admin/v1/rules/{RULE}", headers=auth(keys["editor"], **{"If-Match": etag}),
                          json=own_example_broken)
    assert response.status_code == 422
    assert any(p["name"].startswith("examples.match.0") for p in response.get_json()["invalid-params"])


@pytest.mark.parametrize(("when", "field"), [
    ({"code": {"eq": {"a": 1}}}, "when.code"),
    ({"code": {"not_in": [["E1"]]}}, "when.code"),
    ({"body": {"data": {"ne": ["x"]}}}, "when.body.data"),
])
def test_a_structure_where_a_scalar_belongs_is_a_422_naming_the_field(env, when, field):
    """An unhashable operand once escaped the schema as a TypeError (a 500)."""
    app, _kb, store, keys = env
    client = app.test_client()
    body, etag = read_rule(client, keys["viewer"])
    broken = {**body, "when": when}
    for response in (
        client.post(f"/admin/v1/rules/{RULE}/check", headers=auth(keys["editor"]), json=broken),
        client.put(f"/admin/v1/rules/{RULE}", headers=auth(keys["editor"], **{"If-Match": etag}), json=broken),
        client.post("/admin/v1/rules", headers=auth(keys["editor"]), json={**broken, "id": RULE + "_copy"}),
    ):
        assert response.status_code == 422, response.get_data(as_text=True)
        assert response.mimetype == "application/problem+json"
        assert field in {p["name"] for p in response.get_json()["invalid-params"]}
    assert store.drafts() == []


def test_a_draft_is_tried_against_a_payload_with_a_trace(env):
    app, _kb, _store, keys = env
    client = app.test_client()
    response = client.post(f"/admin/v1/rules/{RULE}/test", headers=auth(keys["editor"]),
                           json={"payload": SIGN_ERROR, "lang": "zh-CN"})
    assert response.status_code == 200
    result = response.get_json()
    assert result["matched"] and result["top"]
    assert result["trace"] == [{"condition": "code", "operator": "eq", "expected": "106001",
                                "actual": "106001", "passed": True}]
    assert result["diagnosis"]["diagnoses"][0]["rule_id"] == RULE
    assert "签名" in result["diagnosis"]["diagnoses"][0]["title"]
    miss = client.post(f"/admin/v1/rules/{RULE}/test", headers=auth(keys["editor"]),
                       json={"payload": {**SIGN_ERROR, "body": {"code": 105002, "message": "expired"}}})
    assert miss.get_json()["matched"] is False
    assert miss.get_json()["trace"][0]["passed"] is False
    bad = client.post(f"/admin/v1/rules/{RULE}/test", headers=auth(keys["editor"]), json={"payload": {"status": 1}})
    assert bad.status_code == 422 and "payload.endpoint" in {p["name"] for p in bad.get_json()["invalid-params"]}


def test_publish_is_refused_while_any_example_would_change_its_answer(env):
    app, kb, store, keys = env
    client = app.test_client()
    greedy = {
        "id": "generic.test.every_401_is_a_bad_token", "platforms": ["generic"], "regions": "*",
        "domains": "*", "priority": 100,  # evidence ranks: greed needs a code and a message, not priority
        "when": {"status": 401, "code": {"exists": True}, "message": {"regex": "."}},
        "then": {"category": "auth.token_invalid", "doc_url": "https://www.rfc-editor.org/rfc/rfc6750#section-3.1",
                 "en": {"title": "Every 401 means a bad token", "explanation": "A greedy rule for the test.",
                        "repair_steps": ["Refresh the token."]},
                 "zh-CN": {"title": "所有 401 都是令牌无效",
                           "explanation": "这是测试用的贪婪规则，它把每个 401 都归为令牌无效。",
                           "repair_steps": ["刷新令牌。"]}},
        "source": "RFC 6750 section 3.1",
        "examples": {"match": [{"status": 401, "endpoint": "/api/x", "body": {"code": "x", "message": "y"}}],
                     "no_match": [{"status": 403, "endpoint": "/api/x"}]},
    }
    created = client.post("/admin/v1/rules", headers=auth(keys["editor"]), json=greedy)
    assert created.status_code == 201, created.get_json()
    refused = client.post("/admin/v1/publish", headers=auth(keys["publisher"]))
    assert refused.status_code == 409
    broken = refused.get_json()["broken-examples"]
    assert RULE in {b["rule_id"] for b in broken}
    assert all("generic.test.every_401_is_a_bad_token" in b["reason"] for b in broken if b["rule_id"] == RULE)
    assert store.current_version() == 1 and not kb.refresh()


def test_versions_diff_rollback_and_audit(env):
    app, kb, store, keys = env
    client = app.test_client()
    body, etag = read_rule(client, keys["viewer"])
    client.put(f"/admin/v1/rules/{RULE}", headers=auth(keys["editor"], **{"If-Match": etag}),
               json=retitled(body, "v2 title"))
    assert client.post("/admin/v1/publish", headers=auth(keys["publisher"]), json={"note": "n"}).status_code == 201
    assert kb.refresh() and diagnose(client)["kb_version"] == "2"
    assert client.post("/admin/v1/publish", headers=auth(keys["publisher"])).get_json() == {
        "version": 2, "created": False}

    listed = client.get("/admin/v1/versions", headers=auth(keys["viewer"])).get_json()
    assert [v["id"] for v in listed["versions"]] == [2, 1] and listed["current"] == 2
    diff = client.get("/admin/v1/versions/1/diff/2", headers=auth(keys["viewer"])).get_json()
    assert (diff["added"], diff["removed"]) == ([], [])
    assert [c["id"] for c in diff["changed"]] == [RULE]
    assert diff["changed"][0]["after"]["then"]["en"]["title"] == "v2 title"
    assert client.get("/admin/v1/versions/1/diff/9", headers=auth(keys["viewer"])).status_code == 404

    assert client.post("/admin/v1/rollback/1", headers=auth(keys["publisher"])).status_code == 200
    assert kb.refresh() and diagnose(client)["kb_version"] == "1"
    assert client.post("/admin/v1/rollback/7", headers=auth(keys["publisher"])).status_code == 404

    entries = client.get("/admin/v1/audit", headers=auth(keys["viewer"])).get_json()["entries"]
    assert [e["action"] for e in entries][:4] == ["rollback", "publish", "publish", "update"]
    update = entries[3]
    editor_id = keys["editor"].split("_")[1]
    assert (update["actor"], update["rule_id"], update["address"]) == (editor_id, RULE, "127.0.0.1")
    assert update["before"]["then"]["en"]["title"] == body["then"]["en"]["title"]
    assert update["after"]["then"]["en"]["title"] == "v2 title"
    only = client.get(f"/admin/v1/audit?action=update&actor={editor_id}", headers=auth(keys["viewer"]))
    assert [e["id"] for e in only.get_json()["entries"]] == [update["id"]]
    assert client.get("/admin/v1/audit?limit=0", headers=auth(keys["viewer"])).status_code == 422


def test_export_and_import_round_trip_as_kb_content_yaml(env):
    app, _kb, _store, keys = env
    client = app.test_client()
    exported = client.get("/admin/v1/export", headers=auth(keys["viewer"]))
    assert exported.status_code == 200 and exported.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(exported.data))
    assert "tiktok_shop/common.yaml" in archive.namelist()
    assert set(archive.namelist()) == {p.relative_to(KB_DIR).as_posix() for p in KB_DIR.rglob("*.yaml")}

    def upload(files):
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as z:
            for name, text in files.items():
                z.writestr(name, text)
        return client.post("/admin/v1/import", data=out.getvalue(), content_type="application/zip",
                           headers=auth(keys["editor"]))

    files = {name: archive.read(name).decode() for name in archive.namelist()}
    same = upload(files)
    assert same.status_code == 200 and same.get_json()["unchanged"] == len(read_directory(KB_DIR))
    assert same.get_json()["updated"] == same.get_json()["created"] == same.get_json()["deleted"] == 0

    doc = yaml.safe_load(files["tiktok_shop/common.yaml"])
    next(r for r in doc["rules"] if r["id"] == RULE)["then"]["en"]["title"] = "imported title"
    removed = doc["rules"].pop(-1 if doc["rules"][-1]["id"] != RULE else 0)["id"]
    changed = upload({**files, "tiktok_shop/common.yaml": yaml.safe_dump(doc, allow_unicode=True)})
    assert changed.get_json() | {"unchanged": 0} == {"created": 0, "updated": 1, "deleted": 1,
                                                     "unchanged": 0}
    listed = client.get("/admin/v1/rules", headers=auth(keys["viewer"])).get_json()["rules"]
    states = {r["id"]: r["status"] for r in listed}
    assert states[RULE] == "modified" and states[removed] == "deleted"
    assert upload({"x.yaml": "rules: [{id: 1}]"}).status_code == 422
    assert client.post("/admin/v1/import", data=b"not a zip", content_type="application/zip",
                       headers=auth(keys["editor"])).status_code == 422


def test_store_down_admin_answers_503_and_diagnose_keeps_answering(tmp_path):
    store = Store("postgresql+psycopg://nobody@127.0.0.1:1/none")
    kb = KnowledgeBase(store, KB_DIR)
    app = contract_checked(create_app({"TESTING": True}, kb=kb))
    client = app.test_client()
    response = client.get("/admin/v1/rules", headers=auth(BOOTSTRAP))
    assert response.status_code == 503 and "rule store" in response.get_json()["title"].lower()
    assert diagnose(client)["matched"]
    assert client.get("/readyz").get_json()["store"] == "unavailable"
    assert app.extensions["contract_violations"] == []
    kb.engine.close()


def test_a_rollback_made_while_a_publish_runs_is_not_undone(env, monkeypatch):
    """Probe item 8: rollback to v1 answered 200, then the running publish made v7 from v6."""
    app, kb, store, keys = env
    client = app.test_client()
    body, etag = read_rule(client, keys["viewer"])
    assert client.put(f"/admin/v1/rules/{RULE}", json=retitled(body, "v2 title"),
                      headers=auth(keys["editor"], **{"If-Match": etag})).status_code == 200
    assert client.post("/admin/v1/publish", headers=auth(keys["publisher"])).status_code == 201  # v2
    body, etag = read_rule(client, keys["viewer"])
    assert client.put(f"/admin/v1/rules/{RULE}", json=retitled(body, "v3 title"),
                      headers=auth(keys["editor"], **{"If-Match": etag})).status_code == 200
    drafts = store.drafts

    def rollback_lands_meanwhile():
        assert client.post("/admin/v1/rollback/1", headers=auth(keys["publisher"])).status_code == 200
        return drafts()

    monkeypatch.setattr(store, "drafts", rollback_lands_meanwhile)
    response = client.post("/admin/v1/publish", headers=auth(keys["publisher"]))
    assert response.status_code == 409 and response.get_json()["title"] == "Current version changed"
    monkeypatch.undo()
    assert store.current_version() == 1, "the rollback stands"
    assert [d.rule_id for d in store.drafts()] == [RULE], "the draft waits for the next publish"


def test_a_rule_is_checked_without_saving_with_the_names_a_write_gets(env):
    app, _kb, store, keys = env
    client = app.test_client()
    body, etag = read_rule(client, keys["viewer"])
    broken = {**body, "then": {**body["then"], "category": "auth.made_up"}}
    checked = client.post(f"/admin/v1/rules/{RULE}/check", headers=auth(keys["editor"]), json=broken)
    written = client.put(f"/admin/v1/rules/{RULE}", headers=auth(keys["editor"], **{"If-Match": etag}), json=broken)
    assert checked.status_code == written.status_code == 422
    assert checked.get_json()["invalid-params"] == written.get_json()["invalid-params"]
    fine = client.post(f"/admin/v1/rules/{RULE}/check", headers=auth(keys["editor"]),
                       json=retitled(body, "Sign {code}"))
    assert fine.status_code == 200 and fine.get_json()["file"] == "tiktok_shop/common.yaml"
    new = client.post("/admin/v1/rules/tiktok_shop.common.sign_invalid_copy/check", headers=auth(keys["editor"]),
                      json={**body, "id": "tiktok_shop.common.sign_invalid_copy"})
    assert new.status_code == 200 and new.get_json()["warnings"]  # it shadows the original: a warning
    mismatch = client.post(f"/admin/v1/rules/{RULE}/check", headers=auth(keys["editor"]), json={**body, "id": "x.y"})
    assert mismatch.status_code == 422
    assert store.drafts() == [] and read_rule(client, keys["viewer"])[1] == etag  # nothing saved


def test_an_unsaved_rule_is_tried_in_place_of_its_draft(env):
    app, _kb, store, keys = env
    client = app.test_client()
    body, _etag = read_rule(client, keys["viewer"])
    tried = client.post(f"/admin/v1/rules/{RULE}/test", headers=auth(keys["editor"]),
                        json={"payload": SIGN_ERROR, "rule": retitled(body, "Unsaved title {code}")})
    result = tried.get_json()
    assert tried.status_code == 200 and result["status"] == "unsaved" and result["top"]
    assert result["diagnosis"]["diagnoses"][0]["title"] == "Unsaved title 106001"
    elsewhere = {**body, "when": {"code": "999999"}}
    missed = client.post(f"/admin/v1/rules/{RULE}/test", headers=auth(keys["editor"]),
                         json={"payload": SIGN_ERROR, "rule": elsewhere})
    assert missed.status_code == 422  # its own examples no longer match: refused as a write would be
    assert store.drafts() == []
    assert diagnose(client)["diagnoses"][0]["title"] != "Unsaved title 106001"


def test_a_rule_read_carries_its_published_body_and_whoami_names_the_role(env):
    app, _kb, _store, keys = env
    client = app.test_client()
    body, etag = read_rule(client, keys["viewer"])
    client.put(f"/admin/v1/rules/{RULE}", headers=auth(keys["editor"], **{"If-Match": etag}),
               json=retitled(body, "New {code}"))
    state = client.get(f"/admin/v1/rules/{RULE}", headers=auth(keys["viewer"])).get_json()
    assert state["status"] == "modified" and state["published"] == body
    assert state["rule"]["then"]["en"]["title"] == "New {code}"
    for role in ("viewer", "editor", "publisher", "admin"):
        me = client.get("/admin/v1/whoami", headers=auth(keys[role])).get_json()
        assert me["role"] == role and keys[role].startswith(f"odk_{me['id']}_")
