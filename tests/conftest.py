import contextlib
import json
import os
import shutil
import uuid
from pathlib import Path

import pytest
from flask import request
from openapi_core import Config, OpenAPI
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIResponse
from openapi_core.datatypes import RequestParameters
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from rules.kb.loader import DEFAULT_KB_DIR, load_directory
from rules.runtime import KnowledgeBase
from service.web.app import create_app

ROOT = Path(__file__).resolve().parent.parent
KB_DIR = Path(os.environ.get("OPSDIAG_KB_DIR") or DEFAULT_KB_DIR)
OPENAPI = OpenAPI.from_file_path(
    str(ROOT / "openapi.yaml"),
    config=Config(extra_media_type_deserializers={
        "application/problem+json": json.loads,
        "application/zip": lambda data: data.decode("latin-1"),  # bytes as a lossless string
        "text/markdown": lambda data: data.decode("utf-8"),  # POST /debug/report?format=md
    }),
)


class RouteOnly:
    """What openapi-core needs to find the operation, without re-reading the body
    (which may be the very thing that was refused, e.g. for being too large)."""

    def __init__(self, req):
        self.host_url = req.host_url
        self.path = req.path
        self.method = req.method.lower()
        self.parameters = RequestParameters(header=req.headers)
        self.content_type = "application/json"
        self.body = None


@pytest.fixture(scope="session")
def kb_rules():
    return load_directory(KB_DIR)[1]


@pytest.fixture(scope="session")
def local_kb():
    """The knowledge base compiled from kb_content, without a store."""
    return KnowledgeBase(None, KB_DIR)


@pytest.fixture(scope="session")
def app(local_kb):
    """The app, with every response checked against openapi.yaml as it is sent."""
    return contract_checked(create_app({"TESTING": True}, kb=local_kb))


def contract_checked(app):
    app.extensions["contract_violations"] = violations = []

    @app.after_request
    def conforms(response):
        if request.url_rule is None or request.path == "/openapi.yaml":
            return response  # not an operation of the contract
        try:
            OPENAPI.validate_response(RouteOnly(request), WerkzeugOpenAPIResponse(response))
        except Exception as exc:  # noqa: BLE001 - collected and asserted per test
            violations.append(f"{request.method} {request.path} {response.status}: {exc!r}")
        return response

    return app


@pytest.fixture
def client(app):
    violations = app.extensions["contract_violations"]
    violations.clear()
    yield app.test_client()
    assert violations == [], "responses that break openapi.yaml"


def tool(name: str, target: str) -> str:
    """The path of a program a test runs, which `make <target>` installs: under CI its absence
    fails the test (nothing may skip there), elsewhere the test skips and says how to get it."""
    found = shutil.which(name)
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail(f"{name} is missing: `make {target}` installs it (make test does)", pytrace=False)
    pytest.skip(f"{name} is not installed (`make {target}` installs it as root)")



@contextlib.contextmanager
def chromium():
    """Debian's chromium (`make browser`) driven by playwright, closed afterwards."""
    executable = tool("chromium", "browser")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=["--disable-gpu"])
        try:
            yield launched
        finally:
            launched.close()

def pg_url() -> str | None:
    """PostgreSQL for the store tests: required under CI, optional elsewhere."""
    url = os.environ.get("OPSDIAG_TEST_PG_URL")
    if not url and not os.environ.get("CI"):
        return None
    return url or "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@contextlib.contextmanager
def pg_schema_url(prefix: str):
    """A SQLAlchemy URL into a fresh PostgreSQL schema of the caller's own (search_path),
    dropped afterwards; skips where PostgreSQL tests do not run."""
    url = pg_url()
    if url is None:
        pytest.skip("PostgreSQL tests run under CI or with OPSDIAG_TEST_PG_URL")
    schema = f"{prefix}_{uuid.uuid4().hex[:10]}"
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
    finally:
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


def pytest_collection_modifyitems(config, items):
    """Everything under tests/system/ is marked `system` (`make check` runs the rest)."""
    for item in items:
        if "tests/system/" in item.path.as_posix():
            item.add_marker(pytest.mark.system)


def pytest_sessionstart(session):
    """Under `make mutate` (tests/mutate.py), each mutant's tests run in a process forked from
    mutmut's, which ran the tests once already to see which call what: the functools caches of
    rules/ and service/ (extractor, compile_regex, redact._classify...) still hold the unmutated
    code's answers, and a mutant of a function they call would not be run at all. Empty them."""
    if "MUTANT_UNDER_TEST" not in os.environ:
        return
    import sys

    for name, module in list(sys.modules.items()):
        if name.split(".")[0] in ("rules", "service"):
            for value in list(vars(module).values()):
                if callable(getattr(type(value), "cache_clear", None)):  # not the value: flask.request
                    value.cache_clear()
