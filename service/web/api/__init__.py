"""The public API: /diagnose, /check, health, docs and metrics. It imports nothing of the
admin API or the console, which build on it."""

from flask import Flask

from . import check, diagnose, docs, health, metrics


def init_app(app: Flask) -> None:
    for module in (diagnose, check, health, docs, metrics):
        app.register_blueprint(module.bp)
