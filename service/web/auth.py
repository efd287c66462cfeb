"""Who is calling: bearer keys, roles, and a brake on guessing.

401 means "we do not know you" (no key, or a key that is not live); 403 means "we know
you, and your role may not do this". Failed attempts are counted per address, and an
address that keeps failing gets 429 for a while, whichever key it tries next.
"""

import threading
import time
from collections import deque
from functools import wraps

from flask import current_app, g, request
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import Forbidden, ServiceUnavailable, TooManyRequests, Unauthorized

from .keys import allows, verify


class FailureBrake:
    """At most `limit` failed authentications per address per `window` seconds (per process)."""

    def __init__(self, limit: int = 10, window: float = 60.0):
        self.limit, self.window = limit, window
        self._failures: dict[str, deque] = {}
        self._lock = threading.Lock()

    def _recent(self, address: str, now: float) -> deque:
        failures = self._failures.setdefault(address, deque())
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        return failures

    def blocked(self, address: str) -> bool:
        with self._lock:
            return len(self._recent(address, time.monotonic())) >= self.limit

    def fail(self, address: str) -> None:
        with self._lock:
            now = time.monotonic()
            self._recent(address, now).append(now)
            if len(self._failures) > 10_000:  # forget quiet addresses, bound memory
                for key in [k for k, v in self._failures.items() if not v]:
                    del self._failures[key]


class StoreUnavailable(ServiceUnavailable):
    """The rule store, which holds the keys, does not answer: 503 with Retry-After, never a 500."""

    name = "Rule store unavailable"  # the title the admin API's own 503 uses

    def __init__(self):
        super().__init__("API keys live in the rule store, which cannot be reached now; /diagnose "
                         "without keys keeps answering from the version it holds", retry_after=5)


class NotAuthenticated(Unauthorized):
    def get_headers(self, environ=None, scope=None):
        return [*super().get_headers(environ, scope), ("WWW-Authenticate", 'Bearer realm="opsdiag"')]


def authenticate(needed: str):
    """The calling key, if its role allows `needed`; else 401, 403 or 429."""
    address = request.remote_addr or "-"
    brake: FailureBrake = current_app.extensions.setdefault("opsdiag.auth_brake", FailureBrake())
    if brake.blocked(address):
        raise TooManyRequests("too many failed authentications from this address; wait a minute")
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not presented.strip():
        raise NotAuthenticated("send an API key as 'Authorization: Bearer <key>'")
    store = current_app.extensions.get("opsdiag.store")
    if store is None:
        raise ServiceUnavailable("API keys live in the rule store, and this instance has none")
    prepare = current_app.extensions.get("opsdiag.prepare_store")
    if prepare is not None and not prepare():  # tables and bootstrap key, if the store was down at start
        raise StoreUnavailable()
    try:
        key = verify(store, presented.strip())
    except SQLAlchemyError as exc:  # /diagnose with OPSDIAG_DIAGNOSE_AUTH=on as well as /admin
        current_app.logger.error("rule store unavailable, API keys cannot be checked: %s", exc.__class__.__name__)
        raise StoreUnavailable() from exc
    if key is None:
        brake.fail(address)
        raise NotAuthenticated("the API key is unknown or revoked")
    if not allows(key.role, needed):
        raise Forbidden(f"role '{key.role}' may not do this; it needs '{needed}' or higher")
    g.api_key = key
    return key


def requires(role: str):
    def decorate(view):
        view.required_role = role  # read by the test that walks every route with every role

        @wraps(view)
        def guarded(*args, **kwargs):
            authenticate(role)
            return view(*args, **kwargs)
        return guarded
    return decorate
