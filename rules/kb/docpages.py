"""Which documentation pages exist, per platform: the list `kb lint` checks doc_url against.

A rule's doc_url must be a page its sources link or name, so the list is read from the
sources themselves (`python -m rules.kb.docpages build`) and kept as data in
`rules/kb/doc_pages.yaml`: lint needs no network, and a page a source never mentions stands
out. Pages are compared without their fragment and without query parameters that do not
pick the page (`module=`, `nodeId=`, ...).
"""

import json
import re
import subprocess
import sys
from functools import cache
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import yaml

PAGES_FILE = Path(__file__).with_name("doc_pages.yaml")

# Query parameters that name the page rather than decorate it (Lazada's doc pages).
PAGE_PARAMS = ("docId", "path")

# How each platform's pages are spelled in its sources.
PAGE_PATTERNS = {
    "tiktok_shop": r"https://partner(?:\.us)?\.tiktokshop\.com/docv2/page/[0-9a-f]{24}",
    "shopee": r"https://open\.shopee\.(?:com|cn)/(?:developer-guide/\d+|documents/v2/v2\.[a-z_.]+)",
    "lazada": r"https://open\.lazada\.com/(?:doc/doc\?docId=\d+|apps/doc/api\?path=[%0-9A-Za-z_/]+)",
    "amazon_sp": r"https://developer-docs\.amazon\.com/sp-api/(?:docs|reference|changelog)/[a-z0-9-]+",
}


def page_key(url: str) -> str:
    """A URL reduced to what picks the page: host, path and PAGE_PARAMS, no fragment."""
    parts = urlsplit(url.strip())
    params = sorted((k, v) for k, v in parse_qsl(parts.query) if k in PAGE_PARAMS)
    query = f"?{urlencode(params, quote_via=quote, safe='')}" if params else ""
    return f"{(parts.hostname or '').lower()}{parts.path.rstrip('/')}{query}"


@cache
def known_pages() -> dict[str, frozenset[str]]:
    """Platform -> the page keys of its known pages."""
    data = yaml.safe_load(PAGES_FILE.read_text(encoding="utf-8"))
    return {platform: frozenset(page_key(url) for url in entry["pages"])
            for platform, entry in data.items()}


def is_known(url: str, platforms) -> bool:
    key = page_key(url)
    pages = known_pages()
    return any(key in pages.get(p, ()) for p in platforms)


def _git_files(repo: Path):
    """(path, text) of every file at HEAD of a git directory (a mirror without a work tree);
    files the mirror lists but does not hold are left out."""
    listing = subprocess.run(["git", "-C", str(repo), "ls-tree", "-r", "-z", "HEAD"],
                             capture_output=True, check=True).stdout.decode("utf-8", "replace")
    for entry in filter(None, listing.split("\0")):
        meta, name = entry.split("\t", 1)
        blob = subprocess.run(["git", "-C", str(repo), "cat-file", "blob", meta.split()[2]],
                              capture_output=True, check=False)
        if blob.returncode == 0:
            yield name, blob.stdout.decode("utf-8", "replace")


def scan(repo: Path) -> dict[str, set[str]]:
    """The pages a source tree links or names: URLs in its text, and for the lazykern copy
    of the TikTok, Shopee and Lazada references, the page of each document or API it holds."""
    found: dict[str, set[str]] = {p: set() for p in PAGE_PATTERNS}
    for name, text in _git_files(repo):
        for platform, pattern in PAGE_PATTERNS.items():
            found[platform].update(re.findall(pattern, text))
        if name.startswith("data/raw/tiktok/") and name.endswith(".doc.json"):
            doc = json.loads(text).get("document_id")
            if doc:
                found["tiktok_shop"].add(f"https://partner.tiktokshop.com/docv2/page/{doc}")
        if name.startswith("data/raw/shopee/apis/") and name.endswith(".json"):
            api = json.loads(text).get("api_name")
            if api:
                found["shopee"].add(f"https://open.shopee.com/documents/v2/{api}")
        if name.startswith("data/raw/lazada/apis/") and name.endswith(".json"):
            for api in (json.loads(text).get("data") or {}).get("apiList") or ():
                if api.get("path"):
                    found["lazada"].add("https://open.lazada.com/apps/doc/api?"
                                        + urlencode({"path": api["path"]}, quote_via=quote, safe=""))
    return found


def build(repos: list[Path]) -> None:
    """Rewrite the scanned part of doc_pages.yaml from git mirrors of the sources, keeping
    each platform's `confirmed` pages (seen in a source that is not a git tree)."""
    old = yaml.safe_load(PAGES_FILE.read_text(encoding="utf-8")) if PAGES_FILE.exists() else {}
    pages: dict[str, set[str]] = {p: set() for p in (*PAGE_PATTERNS, "generic")}
    scanned: dict[str, set[str]] = {p: set() for p in pages}
    for repo in repos:
        for platform, urls in scan(repo).items():
            pages[platform] |= urls
            if urls:
                scanned[platform].add(repo.parent.name.replace("+", "/"))
    data = {}
    for platform, urls in pages.items():
        confirmed = (old.get(platform) or {}).get("confirmed") or {}
        data[platform] = {
            "scanned_from": sorted(scanned[platform]),
            "confirmed": confirmed,
            "pages": sorted(urls | set(confirmed)),
        }
    PAGES_FILE.write_text("# Generated by `python -m rules.kb.docpages build MIRROR...`; add pages seen\n"
                          "# elsewhere under `confirmed` (url: where it was seen) and rebuild.\n"
                          + yaml.safe_dump(data, sort_keys=False, width=200), encoding="utf-8")


if __name__ == "__main__":
    if sys.argv[1:2] != ["build"] or len(sys.argv) < 3:
        sys.exit("usage: python -m rules.kb.docpages build GIT_DIR...")
    build([Path(p) for p in sys.argv[2:]])
