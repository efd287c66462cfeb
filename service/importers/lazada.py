"""Lazada Open Platform request schemas from the parameter tables of Lazada's API reference
(open.lazada.com). Lazada's SDKs are generic clients that encode no API's parameters; the
tables are read from a public, dated scrape of the reference that keeps each API's JSON as
the documentation site serves it (`apiList[].parameters`: name, type, required), named in
`source` with its commit.

Lazada takes every application parameter as a query or form parameter (a product's content
travels as the `payload` parameter's string), so an operation has query parameters only;
the common parameters (app_key, timestamp, sign_method, sign, access_token) are checked as
the envelope (rules/reqcheck/validate.py).
"""

import json
from urllib.parse import quote

from rules.engine.infer import domain_of

from . import scraped

NOTE = ("from the reference's parameter tables: application parameters with types and required-ness; the "
        "content of a `payload` parameter (product XML/JSON) is not described there and is not checked")
REPOSITORY = scraped.REPOSITORY
FOLDERS = ("product-api", "order-api", "fulfillment-api", "logistics-api")
REFERENCE = "https://open.lazada.com/apps/doc/api?path="
TYPES = {"string": "string", "number": "number", "long": "integer", "boolean": "boolean", "payload": "string",
         "double": "number", "float": "number", "object": "object"}


def param_schema(param: dict) -> dict:
    kind = (param.get("type") or "").strip().lower()
    if kind.endswith("[]"):
        return {"type": "array", "items": param_schema({**param, "type": kind[:-2]})}
    return {"type": TYPES[kind]} if kind in TYPES else {}


def operation(api: dict, folder: str) -> dict:
    params = [p for p in api.get("parameters", {}).get("data", []) if p.get("name")]
    entry = {"method": api["method"].upper(), "path": api["path"], "api": folder.removesuffix("-api"),
             "domain": domain_of(api["path"]), "doc": REFERENCE + quote(api["path"], safe="")}
    if params:
        query = {"type": "object", "properties": {p["name"]: param_schema(p) for p in params}}
        required = sorted({p["name"] for p in params if p.get("required") is True})
        if required:
            query["required"] = required
        entry["query"] = query
    return entry


def load(git_dir, commit: str = "HEAD") -> list[dict]:
    return scraped.load(
        git_dir, commit, FOLDERS, "data/raw/lazada/apis/{}/",
        lambda text, folder: ((api.get("title") or api["path"], operation(api, folder))
                              for api in json.loads(text).get("data", {}).get("apiList", [])
                              if api.get("path", "").startswith("/") and api.get("method")),
        lambda folder: ("lazada", folder.removesuffix("-api"), "rest", folder.replace("-", "_")),
        NOTE, "open.lazada.com API reference, as scraped JSON")
