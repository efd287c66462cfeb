"""The support console at /console: browse rules, try payloads, see unmatched errors, and
edit, publish and roll back rules (editing.py) as the key's role allows.

Server-rendered (Jinja2) over the admin API; see views.py for where the key lives.
"""

from . import board  # noqa: F401 - /console/board's routes, on the same blueprint
from . import editing  # noqa: F401 - its routes register on bp
from .views import bp

__all__ = ["bp"]
