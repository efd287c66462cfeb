"""The known documentation pages lint holds every doc_url to, and how they are read from sources."""

import dataclasses
import json
import subprocess

import yaml

from rules.kb import docpages
from rules.kb.docpages import PAGES_FILE, is_known, page_key, scan
from rules.kb.lint import check_doc_url
from rules.kb.loader import load_directory
from tests.conftest import KB_DIR

RULES = load_directory(KB_DIR)[1]


def test_a_page_is_compared_without_fragment_or_decoration():
    assert page_key("https://www.rfc-editor.org/rfc/rfc9110#section-15.5.4") == "www.rfc-editor.org/rfc/rfc9110"
    assert (page_key("https://open.lazada.com/doc/doc?docId=108068&nodeId=10400")
            == page_key("https://open.lazada.com/doc/doc?nodeId=1&docId=108068"))
    assert (page_key("https://open.lazada.com/apps/doc/api?path=%2Forder%2Fget")
            != page_key("https://open.lazada.com/apps/doc/api?path=%2Forders%2Fget"))
    assert (page_key("https://open.shopee.com/documents/v2/v2.product.add_item?module=89&type=1")
            == "open.shopee.com/documents/v2/v2.product.add_item")


def test_every_doc_url_of_the_knowledge_base_is_a_known_page():
    assert [r.id for r in RULES if not is_known(r.doc_url, r.platforms)] == []


def test_a_page_is_known_only_for_its_own_platform():
    assert is_known("https://developer-docs.amazon.com/sp-api/docs/authorization-errors", {"amazon_sp"})
    assert not is_known("https://developer-docs.amazon.com/sp-api/docs/authorization-errors", {"shopee"})


def test_lint_refuses_a_page_no_source_names_on_a_documentation_host():
    rule = next(r for r in RULES if r.id == "amazon_sp.auth.unauthorized_access_denied")
    made_up = dataclasses.replace(rule, doc_url="https://developer-docs.amazon.com/sp-api/docs/no-such-page")
    [problem] = check_doc_url(made_up)
    assert problem.level == "error" and "no-such-page" in problem.reason


def test_every_confirmed_page_says_where_it_was_seen_and_is_listed():
    data = yaml.safe_load(PAGES_FILE.read_text(encoding="utf-8"))
    for platform, entry in data.items():
        assert all(isinstance(seen, str) and seen for seen in entry["confirmed"].values()), platform
        assert set(entry["confirmed"]) <= set(entry["pages"]), platform


def _git_repo(path, files: dict[str, str]):
    for name, text in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text, encoding="utf-8")
    git = ["git", "-C", str(path), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "sources"], check=True)
    return path / ".git"


def test_scan_reads_linked_pages_and_the_pages_of_documents_it_holds(tmp_path):
    repo = _git_repo(tmp_path, {
        "guide.md": "See https://partner.tiktokshop.com/docv2/page/678e3a45786253031531b942 and "
                    "https://open.shopee.com/developer-guide/16.",
        "data/raw/tiktok/api-reference/products/update-inventory.doc.json":
            json.dumps({"document_id": "6503068fc20ad60284b38858"}),
        "data/raw/shopee/apis/product/v2.product.add_item.json": json.dumps({"api_name": "v2.product.add_item"}),
        "data/raw/lazada/apis/order-api/getdocument.json":
            json.dumps({"data": {"apiList": [{"path": "/order/document/get"}]}}),
    })
    found = scan(repo)
    assert found["tiktok_shop"] == {"https://partner.tiktokshop.com/docv2/page/678e3a45786253031531b942",
                                    "https://partner.tiktokshop.com/docv2/page/6503068fc20ad60284b38858"}
    assert found["shopee"] == {"https://open.shopee.com/developer-guide/16",
                               "https://open.shopee.com/documents/v2/v2.product.add_item"}
    assert found["lazada"] == {"https://open.lazada.com/apps/doc/api?path=%2Forder%2Fdocument%2Fget"}


def test_build_keeps_confirmed_pages_and_records_what_was_scanned(tmp_path, monkeypatch):
    pages = tmp_path / "doc_pages.yaml"
    pages.write_text(yaml.safe_dump({"generic": {"scanned_from": [], "pages": [], "confirmed": {
        "https://www.rfc-editor.org/rfc/rfc9110": "RFC 9110 itself"}}}), encoding="utf-8")
    monkeypatch.setattr(docpages, "PAGES_FILE", pages)
    repo = _git_repo(tmp_path / "owner+name", {"a.md": "https://open.shopee.com/developer-guide/20"})
    docpages.build([repo])
    data = yaml.safe_load(pages.read_text(encoding="utf-8"))
    assert data["generic"]["pages"] == ["https://www.rfc-editor.org/rfc/rfc9110"]
    assert data["shopee"] == {"scanned_from": ["owner/name"], "confirmed": {},
                              "pages": ["https://open.shopee.com/developer-guide/20"]}
