"""WSGI entry point for gunicorn: `gunicorn service.web.wsgi:app`."""

from .app import create_app

app = create_app()
