"""The support console at /console: browse rules, try payloads, see unmatched errors.

Server-rendered (Jinja2) over the admin API; see views.py for where the key lives.
"""

from . import board  # noqa: F401 - /console/board's routes, on the same blueprint
from .views import bp

__all__ = ["bp"]
