"""GET /docs: Swagger UI over /openapi.yaml, every asset served from this app (no CDN).

The Swagger UI files come from the swagger-ui-bundle-v2 package; the initializer is
service/web/api/static/docs.js, so the page needs no inline script and runs under a
Content-Security-Policy that allows only this origin.
"""

from pathlib import Path

from flask import Blueprint, render_template_string
from swagger_ui_bundle import swagger_ui_path

from ..assets import send_asset

bp = Blueprint("docs", __name__)

OWN_STATIC = Path(__file__).resolve().parent / "static"
# name -> (directory, content type): only these files are served.
ASSETS = {
    "swagger-ui.css": (Path(swagger_ui_path), "text/css; charset=utf-8"),
    "index.css": (Path(swagger_ui_path), "text/css; charset=utf-8"),
    "swagger-ui-bundle.js": (Path(swagger_ui_path), "text/javascript; charset=utf-8"),
    "favicon-32x32.png": (Path(swagger_ui_path), "image/png"),
    "docs.js": (OWN_STATIC, "text/javascript; charset=utf-8"),
}
DOCS_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>opsdiag API</title>
<link rel="icon" type="image/png" href="{{ url_for('docs.asset', name='favicon-32x32.png') }}">
<link rel="stylesheet" href="{{ url_for('docs.asset', name='index.css') }}">
<link rel="stylesheet" href="{{ url_for('docs.asset', name='swagger-ui.css') }}">
</head>
<body>
<div id="swagger-ui" data-spec-url="{{ url_for('health.openapi') }}"></div>
<script src="{{ url_for('docs.asset', name='swagger-ui-bundle.js') }}"></script>
<script src="{{ url_for('docs.asset', name='docs.js') }}"></script>
</body>
</html>
"""


@bp.after_request
def docs_policy(response):
    """The app's default policy (default-src 'none') would stop the page; this one
    allows scripts, styles, images and fetches from this origin only."""
    response.headers["Content-Security-Policy"] = DOCS_CSP
    return response


@bp.get("/docs")
def page():
    return render_template_string(PAGE)


@bp.get("/docs/assets/<name>")
def asset(name: str):
    return send_asset(ASSETS, name)
