"""compose.yaml, the Dockerfile and .dockerignore, checked as data (no Docker here)."""

import re

import yaml

from tests.conftest import ROOT

COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())
DOCKERFILE = (ROOT / "Dockerfile").read_text()


def test_compose_runs_the_app_on_postgresql():
    services = COMPOSE["services"]
    assert set(services) == {"db", "app", "proxy"}
    db, app = services["db"], services["app"]
    assert db["image"].startswith("postgres:")
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    assert app["depends_on"]["db"]["condition"] == "service_healthy"
    url = app["environment"]["DATABASE_URL"]
    assert re.fullmatch(r"postgresql\+psycopg://opsdiag:[^@]+@db:5432/opsdiag", url)
    assert db["environment"]["POSTGRES_DB"] == "opsdiag" and db["environment"]["POSTGRES_USER"] == "opsdiag"
    assert app["environment"]["OPSDIAG_BIND"] == "0.0.0.0:8080"


def test_compose_seeds_the_store_before_serving_and_checks_readiness():
    app = COMPOSE["services"]["app"]
    command = app["command"][-1]
    served = command.index("exec gunicorn -c python:service.web.gunicorn_conf")
    assert command.index("opsdiag kb load --if-empty") < served
    check = " ".join(app["healthcheck"]["test"])
    assert "http://127.0.0.1:8080/readyz" in check


def test_compose_puts_the_buffering_proxy_in_front_and_publishes_only_it():
    """Probe item 3: gunicorn's sync workers must not meet slow clients (SECURITY.md)."""
    app, proxy = COMPOSE["services"]["app"], COMPOSE["services"]["proxy"]
    assert "ports" not in app and app["expose"] == ["8080"]
    assert proxy["ports"] == ["127.0.0.1:8080:8080"] and proxy["environment"]["UPSTREAM"] == "app:8080"
    assert proxy["volumes"] == ["./deploy/nginx.conf:/etc/opsdiag/nginx.conf.template:ro"]
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    assert "proxy_request_buffering on" in conf and "client_body_timeout" in conf


def test_dockerfile_builds_a_slim_non_root_image():
    stages = re.findall(r"^FROM (\S+)", DOCKERFILE, re.M)
    assert stages and all(image == "python:3.11-slim" for image in stages)
    final = DOCKERFILE.rsplit("\nFROM ", 1)[-1]
    user = re.findall(r"^USER (\S+)", final, re.M)
    assert user and user[-1] not in ("root", "0")
    assert "build-essential" not in final, "no compiler in the image that runs"
    assert "--no-cache-dir" in DOCKERFILE or "PIP_NO_CACHE_DIR=1" in DOCKERFILE
    assert re.search(r'^CMD .*opsdiag kb load --if-empty && exec gunicorn', final, re.M)
    assert "/readyz" in final  # HEALTHCHECK
    # installed, not editable: the data it needs is named by settings (tests/system/test_install.py)
    assert re.search(r"^RUN pip install [^\n]*--no-compile \.$", DOCKERFILE, re.M) and " -e " not in DOCKERFILE
    assert "OPSDIAG_KB_DIR=/app/kb_content" in final and "OPSDIAG_OPENAPI=/app/openapi.yaml" in final


def test_dockerignore_keeps_the_venv_tests_and_caches_out():
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".venv", ".git", "tests", "__pycache__", "*.db"} <= ignored


WSGI_KEYS = {"REQUEST_METHOD", "PATH_INFO", "QUERY_STRING", "CONTENT_TYPE", "CONTENT_LENGTH", "REMOTE_ADDR"}


def test_every_environment_variable_read_by_the_code_is_in_the_documented_table():
    operating = (ROOT / "docs" / "operating.md").read_text()
    start = operating.index("\n## Running it (operators)")
    table = operating[start:operating.index("\n**", start)]
    documented = set(re.findall(r"^\| `([A-Z0-9_]+)` \|", table, re.M))
    read = set()
    for path in [*(ROOT / "service").rglob("*.py"), *(ROOT / "rules").rglob("*.py")]:
        read |= set(re.findall(r"""(?:environ(?:\.get)?[(\[]|getenv\()\s*["']([A-Z][A-Z0-9_]+)["']""",
                               path.read_text()))
    assert {"DATABASE_URL", "OPSDIAG_BIND", "PROMETHEUS_MULTIPROC_DIR"} <= read  # the scan finds them
    read = {name for name in read if name not in WSGI_KEYS and not name.startswith("HTTP_")}  # a request's
    assert read - documented == set(), "document these in docs/operating.md, 'Running it (operators)'"
