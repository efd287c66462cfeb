"""/docs: Swagger UI over /openapi.yaml, every asset from this origin, under a strict CSP."""

import os
import subprocess
from html.parser import HTMLParser

from tests.conftest import tool
from tests.live_server import serving

CONTENT_TYPES = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}


class References(HTMLParser):
    """Every URL the page references, and the text of any inline script or style."""

    def __init__(self):
        super().__init__()
        self.urls, self.inline, self._tag = [], [], None
        self.spec_url = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self._tag = tag
        for name in ("src", "href"):
            if attrs.get(name):
                self.urls.append(attrs[name])
        if "style" in attrs or any(name.startswith("on") for name in attrs):
            self.inline.append(f"{tag} attribute")
        if attrs.get("data-spec-url"):
            self.spec_url = attrs["data-spec-url"]

    def handle_data(self, data):
        if self._tag in ("script", "style") and data.strip():
            self.inline.append(data)

    def handle_endtag(self, tag):
        self._tag = None


def test_docs_page_references_only_same_origin_assets_that_exist(client):
    page = client.get("/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    refs = References()
    refs.feed(page.get_data(as_text=True))
    assert refs.inline == [], "no inline script or style: the CSP forbids them"
    assert refs.spec_url == "/openapi.yaml"
    assert {url.rsplit("/", 1)[-1] for url in refs.urls} >= {"swagger-ui-bundle.js", "docs.js", "swagger-ui.css"}
    for url in refs.urls:
        assert url.startswith("/") and not url.startswith("//"), f"{url} is not same-origin"
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert asset.mimetype == CONTENT_TYPES[os.path.splitext(url)[1]], url
        assert len(asset.data) > 0
    assert client.get(refs.spec_url).status_code == 200


def test_docs_csp_allows_self_only_and_no_inline_or_eval(client):
    policy = client.get("/docs").headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
    assert directives["connect-src"] == "'self'"
    assert "unsafe" not in policy and "http" not in policy
    # the API keeps its own, stricter policy
    assert client.get("/healthz").headers["Content-Security-Policy"].startswith("default-src 'none'")


def test_initializer_names_no_other_origin(client):
    script = client.get("/docs/assets/docs.js").get_data(as_text=True)
    assert "SwaggerUIBundle" in script and "validatorUrl: null" in script
    assert "http" not in script


def test_unknown_assets_are_problems(client):
    for name in ("swagger-ui-bundle.js.map", "..%2Fdocs.py", "oauth2-redirect.html"):
        response = client.get(f"/docs/assets/{name}")
        assert response.status_code == 404 and response.mimetype == "application/problem+json"


def test_swagger_ui_renders_in_a_browser_without_csp_violations(app):
    """A real browser loads /docs under its CSP and draws the operations of the contract."""
    chromium = tool("chromium", "browser")
    with serving(app) as base:
        run = subprocess.run(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0",
             "--virtual-time-budget=8000", "--dump-dom", f"{base}/docs"],
            capture_output=True, text=True, timeout=120)
    console = [line for line in run.stderr.splitlines() if "CONSOLE" in line]
    assert console == [], "the page logged errors (CSP violations show here)"
    assert 'data-path="/diagnose"' in run.stdout and 'data-path="/metrics"' in run.stdout
