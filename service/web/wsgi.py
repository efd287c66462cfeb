"""WSGI entry point for gunicorn: `gunicorn service.web.wsgi:app`."""

from ..settings import current
from .app import create_app

app = create_app(settings=current())  # the process's settings, limits applied
