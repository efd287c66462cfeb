"""The console's client of the admin API: in-process calls with the caller's own key.

A console page does not read the store itself: it calls /admin/v1/... (and /diagnose)
through the app's own WSGI entry with the `Authorization` header the browser sent, so
the admin API's keys, roles, failure brake, validation and answers apply unchanged, and
a route the console knows only by its contract (GET /admin/v1/gaps) is used as soon as
it exists. Each call shows in the access log and metrics as the API request it is,
with the page's request id.
"""

import contextvars
import json
from dataclasses import dataclass, field
from typing import Any

from flask import current_app, g, request
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Response

from ..api.diagnose import CONSOLE_TRIAL


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any = None  # parsed JSON (a problem's fields on errors), None when not JSON
    headers: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def problem(self) -> dict:
        """title, detail and invalid-params of an error answer (empty when it had none)."""
        return self.body if isinstance(self.body, dict) and not self.ok else {}


def has_key() -> bool:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and bool(value.strip())


def call(method: str, path: str, *, query: dict | None = None, body: Any = None,
         lang: str | None = None, headers: dict | None = None) -> Answer:
    """Call one route of this app as the browser's key (plus `headers`, e.g. If-Match);
    the answer's status and JSON."""
    headers = {**(headers or {}), "X-Request-ID": g.get("request_id", "")}
    if has_key():
        headers["Authorization"] = request.headers["Authorization"]
    if lang:
        headers["Accept-Language"] = lang
    environ = EnvironBuilder(
        path=path, method=method, query_string={k: v for k, v in (query or {}).items() if v not in (None, "")},
        data=None if body is None else json.dumps(body, ensure_ascii=False).encode(),
        content_type=None if body is None else "application/json", headers=headers,
        # the failure brake counts the real caller; a staff member's trial is no production gap
        environ_base={"REMOTE_ADDR": request.remote_addr or "-", CONSOLE_TRIAL: True},
    ).get_environ()
    app = current_app._get_current_object()
    # An empty context: the inner request gets its own app context and `g`, not the page's.
    response = contextvars.Context().run(Response.from_app, app, environ, buffered=True)
    try:
        parsed = json.loads(response.get_data()) if "json" in (response.mimetype or "") else None
    except ValueError:
        parsed = None
    return Answer(response.status_code, parsed, dict(response.headers))
