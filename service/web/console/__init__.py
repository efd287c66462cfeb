"""The support console at /console: browse rules, try payloads, see unmatched errors, and
edit, publish and roll back rules (editing.py) as the key's role allows.

Server-rendered (Jinja2) over the admin API; see views.py for where the key lives.
"""

from flask import Flask

from . import board, editing  # noqa: F401 - their routes (/console/board, the editor) register on bp
from .views import bp


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
