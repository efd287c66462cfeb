"""Shopee Open Platform v2 request schemas from the parameter tables of Shopee's API reference
(open.shopee.com). Shopee publishes no machine-readable spec and no official SDK that encodes
its parameters; the tables are read from a public, dated scrape of the reference that keeps
each API's JSON as the documentation site serves it (`params.request_params`: name, type,
required, children), named in `source` with its commit.

Query parameters of a GET and the JSON body of a POST are imported with their types and
required-ness; the common parameters (partner_id, timestamp, sign, access_token, shop_id)
are the envelope's business (rules/reqcheck/validate.py), not the schema's.
"""

import json

from rules.engine.infer import domain_of

from . import scraped

NOTE = ("from the reference's parameter tables: types and required-ness, no enums or limits; Shopee "
        "publishes no machine-readable spec or parameter-encoding SDK")
REPOSITORY = scraped.REPOSITORY
MODULES = ("product", "order", "logistics", "returns")
REFERENCE = "https://open.shopee.com/documents/v2/{name}?module={module}&type=1"
# Shopee's types -> JSON Schema (int/int32/int64 are integers; timestamp is Unix seconds)
SCALARS = {"string": "string", "int": "integer", "int32": "integer", "int64": "integer", "float": "number",
           "boolean": "boolean", "timestamp": "integer", "object": "object"}


YES = ("true", "yes")  # the tables write True / False, once yes


def param_schema(param: dict) -> dict:
    kind = (param.get("type") or "").strip()
    if kind.endswith("[]"):
        return {"type": "array", "items": param_schema({**param, "type": kind[:-2]})}
    if kind == "object":
        return object_schema(param.get("children") or [])
    return {"type": SCALARS[kind]} if kind in SCALARS else {}


def object_schema(params: list[dict]) -> dict:
    out = {"type": "object", "properties": {p["name"]: param_schema(p) for p in params if p.get("name")}}
    required = sorted({p["name"] for p in params if p.get("name") and str(p.get("required")).lower() in YES})
    if required:
        out["required"] = required
    return out


def operation(api: dict) -> dict:
    params = api["params"] if isinstance(api["params"], dict) else json.loads(api["params"] or "{}")
    request = params.get("request_params") or []
    method = "GET" if api["method"] == 2 else "POST"
    entry = {"method": method, "path": api["path"], "api": api["module_name"].lower(),
             "domain": domain_of(api["path"]),
             "doc": REFERENCE.format(name=api["api_name"], module=api["module_id"])}
    if request:
        schema = object_schema(request)
        if method == "GET":
            for prop in schema["properties"].values():
                if prop.get("type") == "array":
                    prop["x-split"] = ","
            entry["query"] = schema
        else:
            entry["body"] = schema
            entry["body_required"] = "required" in schema
    return entry


def load(git_dir, commit: str = "HEAD") -> list[dict]:
    return scraped.load(
        git_dir, commit, MODULES, "data/raw/shopee/apis/{}/",
        lambda text, _module: ((api["api_name"], operation(api)) for api in (json.loads(text),)
                               if api.get("path", "").startswith("/api/v2/")),
        lambda module: ("shopee", module, "v2", f"{module}_v2"),
        NOTE, "open.shopee.com API reference (v2), as scraped JSON")
