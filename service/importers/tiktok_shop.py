"""TikTok Shop request schemas (202309 and later APIs) from TikTok Shop's API reference
(partner.tiktokshop.com/docv2): each API page's parameter tables - header, path, query and body
parameters with type and required-ness (Y/N), body fields nested by leading "^" marks - as the
documentation site serves them in JSON, read from a public, dated scrape of the reference that
keeps each page's JSON unchanged (`document_api_meta`), named in `source` with its commit.

The tables carry no enums and no limits (those are in the descriptions' prose), so neither does
the import; the doc link is the page's own slug (docv2/page/<document_path>).
"""

import json
import re

from rules.engine.infer import domain_of

from . import scraped

NOTE = ("from the reference's parameter tables: types and required-ness of header, path, query and body "
        "parameters; no enums or limits (the tables give them only in prose)")
REPOSITORY = scraped.REPOSITORY
FOLDERS = ("products", "orders", "fulfillment", "logistics")  # inventory is part of products
REFERENCE = "https://partner.tiktokshop.com/docv2/page/"
METHODS = {1: "POST", 2: "GET", 3: "PUT", 4: "DELETE"}
VERSIONED = re.compile(r"^/[a-z_]+/(20\d{4})/")
SCALARS = {"string": "string", "int": "integer", "bool": "boolean", "object": "object"}


def type_schema(kind: str) -> dict:
    if kind.startswith("[]"):
        return {"type": "array", "items": type_schema(kind[2:])}
    return {"type": SCALARS[kind]} if kind in SCALARS else {}


def _add(schema: dict, param: dict, name: str) -> dict:
    """Put one parameter into an object schema (or the object an array holds); its schema."""
    target = schema["items"] if schema.get("type") == "array" else schema
    target.setdefault("properties", {})[name] = child = type_schema(param["type"])
    if param.get("required") == "Y":
        target.setdefault("required", [])
        if name not in target["required"]:
            target["required"].append(name)
    return child


def nested(params: list[dict]) -> dict:
    """The object schema of a table whose rows nest by their leading "^" marks."""
    root = {"type": "object", "properties": {}}
    parents = [root]  # parents[d]: the schema that takes rows of depth d
    for param in params:
        name = param["name"].lstrip("^")
        depth = len(param["name"]) - len(name)
        if not name or depth >= len(parents):
            continue  # a row nested under nothing: the table is broken there, leave it out
        child = _add(parents[depth], param, name)
        del parents[depth + 1:]
        parents.append(child)
    return root


def operation(meta: dict, folder: str) -> dict:
    path = meta["interface_path"]
    entry = {"method": METHODS[meta["method"]], "path": path, "api": folder, "domain": domain_of(path),
             "doc": REFERENCE + meta["document_path"]}
    for table, slot in (("request_path_param", "path_params"), ("request_query_param", "query"),
                        ("request_header_param", "headers")):
        rows = [{**row, "name": row["name"].lower() if slot == "headers" else row["name"]}
                for row in meta.get(table) or [] if row.get("name")]
        if rows:
            entry[slot] = nested(rows)
    body = meta.get("request_body_param") or []
    if body:
        entry["body"] = nested(body)
        entry["body_required"] = any(row.get("required") == "Y" and not row["name"].startswith("^") for row in body)
    return entry


def load(git_dir, commit: str = "HEAD") -> list[dict]:
    return scraped.load(
        git_dir, commit, FOLDERS, "data/raw/tiktok/api-reference/{}/",
        lambda text, folder: ((meta["document_path"], operation(meta, folder))
                              for meta in (json.loads(text)["document_api_meta"],)
                              if VERSIONED.match(meta.get("interface_path", "")) and meta.get("method") in METHODS),
        lambda folder: ("tiktok_shop", folder, "202309+", folder),
        NOTE, "partner.tiktokshop.com API reference (docv2), as scraped JSON", suffix=".spec.json")
