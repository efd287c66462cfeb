"""Importers of the platforms' published request schemas into kb_content/schemas/ (rules/reqcheck/schemas.py
describes the form). Each importer reads one published source at one commit; `opsdiag schemas
import` writes what it returns and prints the changelog against the files it replaces - above
all the required fields a platform added, which is what ERP mapping tables miss."""

import json
from pathlib import Path

from rules.reqcheck.schemas import SCHEMA_DIR, dumps

from . import lazada, shopee, sp_api, tiktok_shop

# platform -> (importer, where its published source lives)
IMPORTERS = {
    "amazon_sp": (sp_api.load, sp_api.REPOSITORY),
    "tiktok_shop": (tiktok_shop.load, tiktok_shop.REPOSITORY),
    "shopee": (shopee.load, shopee.REPOSITORY),
    "lazada": (lazada.load, lazada.REPOSITORY),
}


def write(documents: list[dict], directory: Path = SCHEMA_DIR) -> list[str]:
    """Write the documents of one platform (replacing its old files); the changelog lines."""
    if not documents:
        return []
    folder = directory / documents[0]["platform"]
    old = {f.stem: json.loads(f.read_text(encoding="utf-8")) for f in sorted(folder.glob("*.json"))}
    folder.mkdir(parents=True, exist_ok=True)
    for file in folder.glob("*.json"):
        file.unlink()
    lines = []
    new_names = set()
    for document in documents:
        new_names.add(document["name"])
        (folder / f"{document['name']}.json").write_text(dumps(document), encoding="utf-8")
        lines += changelog(old.get(document["name"]), json.loads(dumps(document)))
    lines += [f"{name}: removed (no longer imported)" for name in sorted(set(old) - new_names)]
    return lines


def _required(spec: dict, definitions: dict) -> set[str]:
    """JSON paths of the required fields of an operation (parameters and body, through $ref)."""
    found: set[str] = set()
    for where in ("path_params", "query", "headers"):
        found |= {f"{where}.{name}" for name in spec.get(where, {}).get("required", ())}
    if "body" in spec:
        _walk_required(spec["body"], definitions, "$", found, set())
    return found


def _walk_required(schema: dict, definitions: dict, at: str, found: set[str], seen: set[str]) -> None:
    ref = schema.get("$ref", "")
    if ref:
        name = ref.removeprefix("#/definitions/")
        if name in seen or name not in definitions:
            return
        seen = seen | {name}
        schema = definitions[name]
    for name in schema.get("required", ()):
        found.add(f"{at}.{name}")
    for name, sub in schema.get("properties", {}).items():
        _walk_required(sub, definitions, f"{at}.{name}", found, seen)
    if isinstance(schema.get("items"), dict):
        _walk_required(schema["items"], definitions, f"{at}[]", found, seen)
    for part in schema.get("allOf", ()):
        _walk_required(part, definitions, at, found, seen)


def changelog(old: dict | None, new: dict) -> list[str]:
    """What changed in one document: operations added or removed, required fields added or
    no longer required, the source commit."""
    name = new["name"]
    if old is None:
        return [f"{name}: new, {len(new['operations'])} operations"]
    lines = []
    before, after = old["source"].get("commit", "?")[:12], new["source"].get("commit", "?")[:12]
    if before != after:
        lines.append(f"{name}: source commit {before} -> {after}")
    for op in sorted(set(new["operations"]) - set(old["operations"])):
        lines.append(f"{name}: operation added: {op}")
    for op in sorted(set(old["operations"]) - set(new["operations"])):
        lines.append(f"{name}: operation removed: {op}")
    for op in sorted(set(new["operations"]) & set(old["operations"])):
        before = _required(old["operations"][op], old.get("definitions", {}))
        after = _required(new["operations"][op], new.get("definitions", {}))
        lines += [f"{name}: {op}: required field added: {path}" for path in sorted(after - before)]
        lines += [f"{name}: {op}: no longer required: {path}" for path in sorted(before - after)]
    return lines
