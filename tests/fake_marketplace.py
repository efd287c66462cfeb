"""A small fake Lazada-style marketplace and ERP callback, served for real on a loopback port,
and an ERP client whose every call is captured as HAR 1.2 - the closed loop of a sandbox
joint debugging session (token -> order -> inventory -> ship -> tracking pushed back).

Signing is Lazada's own: both sides sign with the official SDK's `lazop_sdk.base.sign`
(PyPI lazop-sdk), not with opsdiag's code. Every error the fake answers is the envelope
of a kb_content rule's own example (`rule_example`), whose `source:` says where it comes
from; the fake invents no code. Hosts are the ones the SDK names (api.lazada.sg, .co.th,
auth.lazada.com); a transport adapter routes them to the loopback server, as a hosts
file would, and the HAR records the URL the ERP meant.
"""

import base64
import gzip
import importlib
import json
import os
import tempfile
import time
import uuid
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlencode, urlsplit

import requests
from requests.adapters import HTTPAdapter
from werkzeug.wrappers import Request, Response

from rules.kb.loader import DEFAULT_KB_DIR, load_directory

APP_KEY, APP_SECRET = "100240", "fake-app-secret-for-tests"
GOOD_TOKEN, EXPIRED_TOKEN = "50000000a11cegoodtokenforthefakeshop", "50000000a11ceexpiredtokenofthefakeshop"
HOSTS = ("auth.lazada.com", "api.lazada.sg", "api.lazada.co.th", "erp.example.com")
SHOP_HOST = "api.lazada.sg"
SKEW_LIMIT_MS = 5 * 60 * 1000  # the fake's own window
BREAKS = ("expired_token", "clock_skew", "missing_field", "gzip_body", "wrong_region", "webhook_500")


def lazop_sign():
    """The official SDK's sign(); its module opens a log file under ~/logs on import."""
    home = os.environ.get("HOME")
    os.environ["HOME"] = tempfile.mkdtemp(prefix="lazop-home-")
    try:
        return importlib.import_module("lazop_sdk.base").sign
    finally:
        if home is None:
            os.environ.pop("HOME", None)
        else:
            os.environ["HOME"] = home


_EXAMPLES: dict[str, dict] = {}


def rule_example(rule_id: str) -> dict:
    """The first example payload of a kb_content rule: the error envelope to answer with."""
    if not _EXAMPLES:
        for rule in load_directory(DEFAULT_KB_DIR)[1]:
            if rule.examples_match:
                _EXAMPLES[rule.id] = rule.examples_match[0]
    return _EXAMPLES[rule_id]


def _request_id() -> str:
    return uuid.uuid4().hex[:25]


class Marketplace:
    """The WSGI app of every host: the Lazada-style API and the ERP's webhook receiver."""

    def __init__(self):
        self.sign = lazop_sign()
        self.webhook_status = 200

    def __call__(self, environ, start_response):
        return self.respond(Request(environ))(environ, start_response)

    def _error(self, rule_id: str, status: int | None = None) -> Response:
        example = rule_example(rule_id)
        body = example["body"]
        return Response(json.dumps(body) if not isinstance(body, str) else body,
                        status=status or example["status"], mimetype="application/json")

    def respond(self, request: Request) -> Response:
        host = request.host.split(":")[0]
        length = int(request.environ.get("CONTENT_LENGTH") or 0)  # as sent: werkzeug would wait for the
        raw = request.environ["wsgi.input"].read(length)         # end of a Content-Encoding body
        if host == "erp.example.com":  # the ERP's webhook receiver
            if self.webhook_status >= 500:
                return Response("Internal Server Error", status=self.webhook_status)
            return Response(json.dumps({"ok": True}), mimetype="application/json")
        if request.headers.get("Content-Encoding"):  # the gateway reads plain form bodies only
            return self._error("lazada.common.invalid_request_format")
        params = dict(parse_qsl(urlsplit(request.url).query, keep_blank_values=True))
        params.update(dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True)))
        api = request.path.removeprefix("/rest")
        if api.startswith("/auth/") and host != "auth.lazada.com":
            return self._error("lazada.auth.token_api_wrong_host")
        sent = params.pop("sign", "")
        if sent != self.sign(APP_SECRET, api, params):
            return self._error("lazada.auth.timestamp_out_of_range")  # IncompleteSignature
        if abs(time.time() * 1000 - int(params.get("timestamp", "0"))) > SKEW_LIMIT_MS:
            return self._error("lazada.auth.timestamp_out_of_range")
        if not api.startswith("/auth/") and params.get("access_token") != GOOD_TOKEN:
            return self._error("lazada.auth.illegal_access_token")
        if api == "/product/update":
            payload = json.loads(params.get("payload") or "{}")
            skus = payload.get("Request", {}).get("Product", {}).get("Skus", {}).get("Sku", [])
            if not skus or any("SkuId" not in sku for sku in skus):
                return self._error("lazada.products.update_sku_id_mandatory")
        data = {"access_token": GOOD_TOKEN, "expires_in": 604800} if api == "/auth/token/create" else {}
        if api == "/orders/get":
            data = {"count": 1, "orders": [{"order_id": 16090, "statuses": ["pending"]}]}
        return Response(json.dumps({"code": "0", "data": data, "request_id": _request_id()}),
                        mimetype="application/json")


class Routed(HTTPAdapter):
    """Sends every marketplace host to the loopback server (a hosts-file entry, in code)."""

    def __init__(self, base_url: str):
        super().__init__()
        self.base_url = base_url

    def send(self, request, **kwargs):
        parts = urlsplit(request.url)
        request.headers["Host"] = parts.hostname
        request.meant_url = request.url
        request.url = self.base_url + parts.path + (f"?{parts.query}" if parts.query else "")
        return super().send(request, **kwargs)


def _har_headers(headers) -> list[dict]:
    return [{"name": k, "value": v} for k, v in headers.items()]


class Recorder:
    """An ERP-side HTTP client whose calls are kept as HAR entries."""

    def __init__(self, base_url: str):
        self.session = requests.Session()
        adapter = Routed(base_url)
        for host in HOSTS:
            self.session.mount(f"https://{host}", adapter)
        self.entries: list[dict] = []

    def call(self, method: str, url: str, *, data: bytes | None = None, headers: dict | None = None):
        started = datetime.now(UTC)
        response = self.session.request(method, url, data=data, headers=headers, timeout=10)
        sent = response.request
        body = sent.body if isinstance(sent.body, bytes) else (sent.body or "").encode()
        post = None
        if body:
            try:
                post = {"mimeType": sent.headers.get("Content-Type", ""), "text": body.decode("utf-8")}
            except UnicodeDecodeError:  # a compressed body: kept as bytes, as proxies export them
                post = {"mimeType": sent.headers.get("Content-Type", ""), "encoding": "base64",
                        "text": base64.b64encode(body).decode("ascii")}
        meant = sent.meant_url
        self.entries.append({
            "startedDateTime": started.isoformat().replace("+00:00", "Z"),
            "time": round(response.elapsed.total_seconds() * 1000, 1),
            "request": {"method": method, "url": meant, "httpVersion": "HTTP/1.1",
                        "headers": _har_headers(sent.headers),
                        "queryString": [{"name": k, "value": v} for k, v in parse_qsl(urlsplit(meant).query)],
                        **({"postData": post} if post else {}), "bodySize": len(body), "headersSize": -1},
            "response": {"status": response.status_code, "statusText": response.reason, "httpVersion": "HTTP/1.1",
                         "headers": _har_headers(response.headers),
                         "content": {"size": len(response.content),
                                     "mimeType": response.headers.get("Content-Type", ""), "text": response.text},
                         "redirectURL": "", "headersSize": -1, "bodySize": len(response.content)},
            "cache": {}, "timings": {"send": 0, "wait": round(response.elapsed.total_seconds() * 1000, 1),
                                     "receive": 0}})
        return response

    def har(self) -> dict:
        return {"log": {"version": "1.2", "creator": {"name": "opsdiag tests", "version": "1"},
                        "entries": self.entries}}


class Erp:
    """The ERP's side of the loop, signing as the lazop SDK does; `broken` is one of BREAKS."""

    def __init__(self, recorder: Recorder, broken: str | None = None):
        self.http, self.broken, self.sign = recorder, broken, lazop_sign()
        self.token = EXPIRED_TOKEN if broken == "expired_token" else GOOD_TOKEN

    def _params(self, api: str, extra: dict, token: bool = True) -> dict:
        now = time.time() - (1200 if self.broken == "clock_skew" else 0)
        params = {"app_key": APP_KEY, "sign_method": "sha256", "timestamp": str(int(now * 1000)), **extra}
        if token:
            params["access_token"] = self.token
        params["sign"] = self.sign(APP_SECRET, api, params)
        return params

    def get(self, host: str, api: str, extra: dict):
        return self.http.call("GET", f"https://{host}/rest{api}?{urlencode(self._params(api, extra))}")

    def post(self, host: str, api: str, extra: dict, token: bool = True):
        body = urlencode(self._params(api, extra, token)).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded;charset=utf-8"}
        if self.broken == "gzip_body" and api == "/product/update":
            body, headers["Content-Encoding"] = gzip.compress(body), "gzip"
        return self.http.call("POST", f"https://{host}/rest{api}", data=body, headers=headers)

    def run_loop(self, marketplace: Marketplace) -> None:
        """token -> order -> inventory -> ship -> tracking pushed to the ERP's callback."""
        auth_host = "api.lazada.co.th" if self.broken == "wrong_region" else "auth.lazada.com"
        self.post(auth_host, "/auth/token/create", {"code": "0_100240_fakeauthcode"}, token=False)
        self.get(SHOP_HOST, "/orders/get", {"created_after": "2026-12-01T00:00:00+08:00", "status": "pending"})
        sku = {"SellerSku": "FAKE-SKU-1", "quantity": "10"}
        if self.broken != "missing_field":
            sku["SkuId"] = "1001"
        payload = {"Request": {"Product": {"ItemId": "2001", "Skus": {"Sku": [sku]}}}}
        self.post(SHOP_HOST, "/product/update", {"payload": json.dumps(payload)})
        self.post(SHOP_HOST, "/order/rts", {"delivery_type": "dropship", "order_item_ids": "[16091]",
                                            "shipment_provider": "LEX SG", "tracking_number": "FAKETRACK0001"})
        marketplace.webhook_status = 500 if self.broken == "webhook_500" else 200
        self.http.call("POST", "https://erp.example.com/webhooks/lazada",
                       data=json.dumps({"message_type": 0, "data": {"trade_order_id": "16090",
                                                                     "order_status": "ready_to_ship"}}).encode(),
                       headers={"Content-Type": "application/json"})
