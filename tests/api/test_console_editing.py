"""/console as a curator's tool: the editor (new, copy, a gap's draft; checked as you type
with the admin API's error names; examples and a payload tried before saving; saved with
the ETag, a conflict shown and never overwritten), publish with the gate's result,
rollback, a rule's changes and history, and every control only for a role that may use it.
The same walk in a real browser is in test_console_browser.py."""

import copy
import html as htmllib
from html.parser import HTMLParser

import pytest
from werkzeug.datastructures import MultiDict

from rules.kb.loader import read_directory
from rules.kb.store import Store
from rules.runtime import KnowledgeBase
from service.web.app import create_app
from service.web.keys import create_key
from tests.api.test_console import MATCHING, RULE, bearer, html, seed_gap
from tests.conftest import KB_DIR, contract_checked

NEW_TITLE = "Order {code} belongs to another shop (edited)"


class EditorForm(HTMLParser):
    """The values the editor form holds, as a browser would submit them (no button)."""

    def __init__(self):
        super().__init__()
        self.fields: list[tuple[str, str]] = []
        self._in_form = False
        self._textarea: str | None = None
        self._select: str | None = None
        self._text = ""
        self.invalid: set[str] = set()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and a.get("id") == "editor":
            self._in_form = True
        if not self._in_form or "name" not in a:
            return
        if a.get("aria-invalid") == "true":
            self.invalid.add(a["name"])
        if tag == "input" and a.get("type") != "checkbox" or (tag == "input" and "checked" in a):
            self.fields.append((a["name"], a.get("value") or ""))
        elif tag == "textarea":
            self._textarea, self._text = a["name"], ""
        elif tag == "select":
            self._select = a["name"]
        if tag == "fieldset" and a.get("aria-invalid") == "true":
            self.invalid.add(a["name"])

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)

    def handle_data(self, data):
        if self._textarea is not None:
            self._text += data

    def handle_endtag(self, tag):
        if tag == "textarea" and self._textarea is not None:
            self.fields.append((self._textarea, self._text.removeprefix("\n")))
            self._textarea = None
        if tag == "form":
            self._in_form = False


def editor_fields(page: str) -> tuple[dict, set[str]]:
    parser = EditorForm()
    parser.feed(page)
    fields: dict = {}
    for name, value in parser.fields:
        fields.setdefault(name, []).append(value)
    # selects: the selected option (parsed apart: HTMLParser gives no select context)
    for name in ("then.category", "then.owner"):
        start = page.find(f'name="{name}"')
        chunk = page[start:page.find("</select>", start)]
        options = chunk.split("<option value=")[1:]
        selected = [part.split('"')[1] for part in options if "selected" in part.split(">")[0]]
        fields[name] = [htmllib.unescape(selected[0])] if selected else [""]
    return {k: v if k == "platforms" else v[0] for k, v in fields.items()}, parser.invalid


@pytest.fixture
def env(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'kb.db'}")
    store.create_schema()
    store.publish(read_directory(KB_DIR), author="test")
    kb = KnowledgeBase(store, KB_DIR)
    app = contract_checked(create_app({"TESTING": True}, kb=kb))
    keys = {role: create_key(store, role)[1] for role in ("viewer", "editor", "publisher")}
    keys["editor2"] = create_key(store, "editor", "second editor")[1]
    app.extensions["test.kb"] = kb
    yield app.test_client(), keys, store
    assert app.extensions["contract_violations"] == [], "responses that break openapi.yaml"
    kb.engine.close()
    store.dispose()


def open_editor(client, key, rule_id=RULE) -> dict:
    page = html(client.get(f"/console/rules/{rule_id}/edit?lang=en", headers=bearer(key)))
    assert 'id="editor"' in page
    return editor_fields(page)[0]


def post(client, key, fields: dict, do: str, rule_id=RULE, new=False):
    path = "/console/rules/new?lang=en" if new else f"/console/rules/{rule_id}/edit?lang=en"
    data = [(k, v) for k, values in fields.items() for v in (values if isinstance(values, list) else [values])]
    data.append(("do", do))
    return client.post(path, data=MultiDict(data), headers=bearer(key))


def admin_rule(client, key, rule_id=RULE) -> dict:
    return client.get(f"/admin/v1/rules/{rule_id}", headers=bearer(key)).get_json()


# ------------------------------------------------------------------ roles


def test_a_viewer_sees_no_edit_control_and_cannot_edit(env):
    client, keys, store = env
    seed_gap(store)
    viewer = bearer(keys["viewer"])
    for path, control in ((f"/console/rules/{RULE}", 'id="edit-rule"'), ("/console", 'id="new-rule"'),
                          ("/console/gaps", 'class="from-gap"'), ("/console/publish", 'id="publish-form"')):
        page = html(client.get(path, headers=viewer))
        assert control not in page and 'data-role="viewer"' in page, path
    page = html(client.get("/console/publish", headers=viewer))
    assert "rollback" not in page
    for path in (f"/console/rules/{RULE}/edit", "/console/rules/new"):
        response = client.get(path, headers=viewer)
        assert response.status_code == 403 and 'id="editor"' not in html(response)
        assert "editor or higher" in html(response)
    fields = open_editor(client, keys["editor"])
    fields["then.en.title"] = NEW_TITLE
    assert post(client, keys["viewer"], fields, "save").status_code == 403
    assert admin_rule(client, keys["viewer"])["status"] == "published"


def test_an_editor_edits_but_cannot_publish_or_roll_back(env):
    client, keys, _store = env
    editor = bearer(keys["editor"])
    assert 'id="edit-rule"' in html(client.get(f"/console/rules/{RULE}", headers=editor))
    page = html(client.get("/console/publish", headers=editor))
    assert 'id="publish-form"' not in page and 'class="rollback"' not in page and 'id="versions"' in page
    refused = client.post("/console/publish", data={"note": "x"}, headers=editor)
    assert refused.status_code == 403 and "publisher or higher" in html(refused)
    assert client.post("/console/rollback/1", headers=editor).status_code == 403
    assert client.get("/admin/v1/versions", headers=editor).get_json()["current"] == 1


# ------------------------------------------------------------------ the editor


def test_the_check_names_fields_as_the_admin_api_does_and_marks_their_inputs(env):
    client, keys, _store = env
    fields = open_editor(client, keys["editor"])
    assert fields["id"] == RULE and fields["then.category"] == "resource.not_found"
    assert "code: '21008111'" in fields["when"] and fields["platforms"] == ["tiktok_shop"]
    fields["then.en.title"] = "x"  # too short
    fields["then.doc_url"] = "not a link"
    page = html(post(client, keys["editor"], fields, "check"))
    api = client.put(f"/admin/v1/rules/{RULE}", json=_body_with(client, keys, {"title": "x"}),
                     headers=bearer(keys["editor"], **{"If-Match": admin_rule(client, keys["editor"])["etag"]}))
    names = {p["name"] for p in api.get_json()["invalid-params"]}
    assert "then.en.title" in names
    for name in names:
        assert f'data-name="{name}"' in page  # the API's own names, listed
    _fields, invalid = editor_fields(page)
    assert {"then.en.title", "then.doc_url"} <= invalid
    assert 'id="check-ok"' not in page
    # a YAML slip is named too, and the text stays as typed
    fields = open_editor(client, keys["editor"])
    fields["when"] = "code: [unclosed"
    page = html(post(client, keys["editor"], fields, "check"))
    assert 'data-name="when"' in page and "not valid YAML" in page and "code: [unclosed" in page
    assert admin_rule(client, keys["editor"])["status"] == "published"  # nothing saved


def _body_with(client, keys, en: dict) -> dict:
    body = copy.deepcopy(admin_rule(client, keys["editor"])["rule"])
    body["then"]["en"].update(en)
    return body


def test_examples_and_a_payload_run_before_saving_and_the_yaml_view_shows_the_unsaved_rule(env):
    client, keys, _store = env
    fields = open_editor(client, keys["editor"])
    fields["then.en.title"] = NEW_TITLE
    page = html(post(client, keys["editor"], fields, "examples"))
    assert 'id="check-ok"' in page
    assert page.count('data-state="passed"') == 2 and 'data-state="failed"' not in page
    assert "title: Order {code} belongs to another shop (edited)" in htmllib.unescape(page)  # the YAML view
    assert "+    title: Order {code} belongs to another shop (edited)" in htmllib.unescape(page)  # the diff
    fields["payload"] = __import__("json").dumps(MATCHING)
    page = html(post(client, keys["editor"], fields, "test"))
    assert 'data-matched="true"' in page and "Order 21008111 belongs to another shop (edited)" in page
    # one of its own examples, by its button
    page = html(post(client, keys["editor"], fields, "test:no_match.0"))
    assert 'data-matched="false"' in page
    # a condition that no longer fits its examples: the rows say which break, and why
    fields["when"] = "code: '21008112'\n"
    page = html(post(client, keys["editor"], fields, "examples"))
    assert 'data-example="match.0" data-state="failed"' in page and "does not match" in page
    assert admin_rule(client, keys["editor"])["status"] == "published"  # still nothing saved


def test_saving_makes_a_draft_whose_page_shows_the_change_and_the_history(env):
    client, keys, _store = env
    fields = open_editor(client, keys["editor"])
    fields["then.en.title"] = NEW_TITLE
    saved = post(client, keys["editor"], fields, "save")
    assert saved.status_code == 303 and saved.headers["Location"].endswith(f"/console/rules/{RULE}?lang=en&saved=1")
    state = admin_rule(client, keys["editor"])
    assert state["status"] == "modified" and state["rule"]["then"]["en"]["title"] == NEW_TITLE
    assert state["rule"]["examples"] == state["published"]["examples"]  # what the form did not touch stays
    page = html(client.get(saved.headers["Location"], headers=bearer(keys["viewer"])))
    assert 'id="saved"' in page and 'id="rule-diff"' in page
    assert "+    title: Order {code} belongs" in htmllib.unescape(page)
    assert 'data-action="update"' in page  # the history, on the rule's page
    assert keys["editor"] not in page and keys["viewer"] not in page


def test_two_editors_on_one_rule_see_the_conflict_never_a_silent_overwrite(env):
    client, keys, _store = env
    first, second = open_editor(client, keys["editor"]), open_editor(client, keys["editor2"])
    first["then.en.title"] = "Order {code}: saved first"
    assert post(client, keys["editor"], first, "save").status_code == 303
    second["then.en.title"] = "Order {code}: saved second"
    clash = post(client, keys["editor2"], second, "save")
    page = html(clash)
    assert clash.status_code == 412 and 'id="conflict"' in page
    diff = htmllib.unescape(page[page.index('id="conflict-diff"'):])
    assert "-    title: 'Order {code}: saved first'" in diff and "+    title: 'Order {code}: saved second'" in diff
    assert 'id="conflict-by"' in page and 'data-name' not in page
    assert admin_rule(client, keys["editor"])["rule"]["then"]["en"]["title"] == "Order {code}: saved first"
    # the form kept the second editor's text and now carries the first one's ETag: saving again is a choice
    kept, _invalid = editor_fields(page)
    assert kept["then.en.title"] == "Order {code}: saved second"
    assert kept["etag"] == admin_rule(client, keys["editor"])["etag"]
    assert post(client, keys["editor2"], kept, "save").status_code == 303
    assert admin_rule(client, keys["editor"])["rule"]["then"]["en"]["title"] == "Order {code}: saved second"


def test_new_rules_blank_from_a_copy_or_from_a_gap_draft(env):
    client, keys, store = env
    seed_gap(store)
    editor = bearer(keys["editor"])
    blank, _ = editor_fields(html(client.get("/console/rules/new", headers=editor)))
    assert blank["id"] == "" and blank["regions"] == "*" and "platforms" not in blank
    copied, _ = editor_fields(html(client.get(f"/console/rules/new?from={RULE}", headers=editor)))
    assert copied["id"] == f"{RULE}_copy" and copied["then.category"] == "resource.not_found"
    gaps = client.get("/admin/v1/gaps", headers=editor).get_json()["gaps"]
    page = html(client.get("/console/gaps", headers=editor))
    assert 'class="from-gap"' in page
    drafted = client.post("/console/rules/new", data={"do": "draft", "draft": gaps[0]["draft_rule"]}, headers=editor)
    fields, _ = editor_fields(html(drafted))
    assert fields["id"].startswith("tiktok_shop.orders.draft_") and "99990001" in fields["when"]
    assert "The teapot refused order" in fields["examples"]
    # the draft's TODOs are what the check refuses, by name
    page = html(post(client, keys["editor"], fields, "check", new=True))
    assert 'data-name="then.doc_url"' in page and 'id="check-ok"' not in page
    # an id that exists: refused, shown, not overwritten
    copied["id"] = RULE
    clash = post(client, keys["editor"], copied, "save", new=True)
    assert clash.status_code == 412 and "exists already" in html(clash)


def test_publish_shows_the_gate_and_rollback_serves_the_earlier_version(env):
    client, keys, _store = env
    publisher = bearer(keys["publisher"])
    # a new rule that takes over another rule's examples with another category: the gate stops it
    fields, _ = editor_fields(html(client.get(f"/console/rules/new?from={RULE}", headers=publisher)))
    fields.update({"priority": "100", "then.category": "auth.permission_denied", "when": "code: '21008111'\n",
                   "examples": fields["examples"]})
    assert post(client, keys["publisher"], fields, "save", new=True).status_code == 303
    refused = client.post("/console/publish?lang=en", data={"note": "takes over"}, headers=publisher)
    page = html(refused)
    assert refused.status_code == 409 and 'id="broken"' in page and f'data-rule-id="{RULE}"' in page
    assert client.get("/admin/v1/versions", headers=publisher).get_json()["current"] == 1
    # without it, the edit is published; then the earlier version is served again
    state = admin_rule(client, keys["publisher"], f"{RULE}_copy")
    client.delete(f"/admin/v1/rules/{RULE}_copy", headers=bearer(keys["publisher"], **{"If-Match": state["etag"]}))
    edit = open_editor(client, keys["publisher"])
    edit["then.en.title"] = NEW_TITLE
    assert post(client, keys["publisher"], edit, "save").status_code == 303
    page = html(client.post("/console/publish?lang=en", data={"note": "edited title"}, headers=publisher))
    assert 'id="published"' in page and "Version 2 is now served" in page
    kb = client.application.extensions["test.kb"]
    assert kb.refresh()  # what each worker's follower thread does
    assert client.post("/diagnose", json=MATCHING).get_json()["diagnoses"][0]["title"].endswith("(edited)")
    page = html(client.post("/console/rollback/1?lang=en", headers=publisher))
    assert "Version 1 is served again" in page and 'data-version="1" data-current="true"' in page
    assert kb.refresh()
    assert not client.post("/diagnose", json=MATCHING).get_json()["diagnoses"][0]["title"].endswith("(edited)")


@pytest.mark.parametrize(("field", "text"), [
    ("when", "a: " + "[" * 5000 + "]" * 5000),
    ("examples", "match:\n- " + "{a: " * 100 + "1" + "}" * 100),
    ("when", "code: !!python/object/apply:os.system ['true']"),
    ("when", "- just\n- a list"),
])
def test_hostile_yaml_in_the_form_is_a_named_error_not_a_500(env, field, text):
    client, keys, _store = env
    fields = open_editor(client, keys["editor"])
    fields[field] = text
    for do in ("check", "save", "test"):
        response = post(client, keys["editor"], fields, do)
        assert response.status_code == 422 and f'data-name="{field}"' in html(response), do
    fields["base"] = "[" * 100_000
    assert post(client, keys["editor"], fields, "check").status_code == 422
    draft = client.post("/console/rules/new", data={"do": "draft", "draft": "[" * 100_000},
                        headers=bearer(keys["editor"]))
    assert draft.status_code == 200 and 'data-name="draft"' in html(draft)


def test_without_a_key_the_editor_and_publish_ask_for_one_and_change_nothing(env):
    client, keys, _store = env
    fields = open_editor(client, keys["editor"])
    for response in (client.post(f"/console/rules/{RULE}/edit", data=MultiDict({**fields, "do": "save"})),
                     client.post("/console/publish", data={"note": "x"}), client.post("/console/rollback/1"),
                     client.post("/console/rules/new", data={"do": "draft", "draft": "id: x"})):
        assert response.status_code == 401 and 'id="key-form"' in html(response)
    page = html(client.get(f"/console/rules/{RULE}/edit"))
    assert 'id="key-missing"' in page and 'id="editor"' not in page
    assert admin_rule(client, keys["viewer"])["status"] == "published"
