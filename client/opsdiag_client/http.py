"""A typed Python client of the opsdiag API, for ERP and integration developers.

    from opsdiag_client import OpsdiagClient, ProblemError

    client = OpsdiagClient("http://127.0.0.1:8080", timeout=5, retries=3)
    result = client.diagnose(status=429, endpoint="https://sellingpartnerapi-na.amazon.com/orders/v0/orders")
    print(result["diagnoses"][0]["category"], result["diagnoses"][0]["repair_steps"])

Calls time out after `timeout` seconds. Connection errors, time-outs and 502/503/504
answers are retried `retries` times with exponential backoff (honouring a short
Retry-After); /diagnose has no side effect, so retrying it is safe. A 4xx answer raises
ProblemError carrying the RFC 9457 problem details (`invalid_params` names each bad
field); a 5xx answer still failing after the retries raises ServerError.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Any

import requests

from .answer import Result

RETRY_STATUSES = frozenset({502, 503, 504})


class OpsdiagError(Exception):
    """Any failure of a call to opsdiag."""


class OpsdiagConnectionError(OpsdiagError):
    """No answer: the connection failed or timed out on every attempt."""


@dataclass(frozen=True)
class InvalidParam:
    name: str
    reason: str


class ProblemError(OpsdiagError):
    """An error answer (application/problem+json, RFC 9457)."""

    def __init__(self, status: int, title: str, detail: str | None = None, type_: str = "about:blank",
                 invalid_params: list[InvalidParam] | None = None, request_id: str | None = None):
        self.status = status
        self.title = title
        self.detail = detail
        self.type = type_
        self.invalid_params = invalid_params or []
        self.request_id = request_id
        super().__init__(f"{status} {title}" + (f": {detail}" if detail else ""))

    @classmethod
    def from_response(cls, response: requests.Response) -> ProblemError:
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            body = {"title": response.reason or "error", "detail": response.text[:500] or None}
        params = [InvalidParam(str(p.get("name", "")), str(p.get("reason", "")))
                  for p in body.get("invalid-params") or [] if isinstance(p, dict)]
        return cls(response.status_code, str(body.get("title") or response.reason or "error"),
                   body.get("detail"), str(body.get("type") or "about:blank"), params,
                   response.headers.get("X-Request-ID"))


class ServerError(ProblemError):
    """A 5xx answer, after the retries for 502/503/504 ran out."""


class OpsdiagClient:
    """Calls one opsdiag deployment. Thread-safe enough for one thread per client
    (it keeps a requests.Session for connection reuse); use it as a context manager
    or call close()."""

    def __init__(self, base_url: str, timeout: float = 10.0, retries: int = 3, api_key: str | None = None,
                 *, backoff: float = 0.2, max_backoff: float = 5.0, session: requests.Session | None = None):
        if retries < 0:
            raise ValueError("retries must be 0 or more")
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = "opsdiag-python-client"
        if api_key:
            self.session.headers["Authorization"] = f"Bearer {api_key}"

    def __enter__(self) -> OpsdiagClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.session.close()

    def diagnose(self, status: int, endpoint: str, *, method: str | None = None,
                 headers: dict[str, Any] | None = None, body: Any = None, request: dict | None = None,
                 platform: str | None = None, region: str | None = None, domain: str | None = None,
                 context: dict | None = None, language: str = "en",
                 request_id: str | None = None) -> Result:
        """Diagnose one failed API call. `body` is what the API answered (object, array or
        text); `request` is what was sent ({"headers": ..., "body": ...}); `context` may hold
        environment, retry_count, shop_id, occurred_at, sent_at. `language` is en or zh-CN."""
        payload: dict[str, Any] = {"status": status, "endpoint": endpoint}
        optional = {"method": method, "headers": headers, "request": request, "platform": platform,
                    "region": region, "domain": domain, "context": context}
        payload.update({k: v for k, v in optional.items() if v is not None})
        if body is not None:
            payload["body"] = body
        extra = {"Accept-Language": language}
        if request_id:
            extra["X-Request-ID"] = request_id
        response = self._send("POST", "/diagnose", json=payload, headers=extra)
        return response.json()

    def ready(self) -> dict:
        """GET /readyz: the knowledge-base version served and the store's state."""
        return self._send("GET", "/readyz").json()

    def _send(self, method: str, path: str, **kwargs) -> requests.Response:
        url = self.base_url + path
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            try:
                response = self.session.request(method, url, timeout=self.timeout, **kwargs)
            except (requests.ConnectionError, requests.Timeout) as exc:
                if last:
                    raise OpsdiagConnectionError(f"{method} {url}: no answer after "
                                                 f"{attempt + 1} attempt(s): {exc}") from exc
                self._sleep(attempt, None)
                continue
            if response.status_code in RETRY_STATUSES and not last:
                self._sleep(attempt, response.headers.get("Retry-After"))
                response.close()
                continue
            if response.status_code >= 500:
                raise ServerError.from_response(response)
            if response.status_code >= 400:
                raise ProblemError.from_response(response)
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def _sleep(self, attempt: int, retry_after: str | None) -> None:
        delay = min(self.max_backoff, self.backoff * 2 ** attempt) * (0.5 + random.random() / 2)
        if retry_after and retry_after.strip().isdigit():
            delay = max(delay, min(float(retry_after), self.max_backoff))
        time.sleep(delay)
