"""TikTok Shop request schemas (202309 and later APIs) from TikTok Shop's official Node.js SDK,
which Partner Center generates with OpenAPI Generator from its API definitions.

What the SDK encodes, and so what is imported: each operation's method, path, query and header
parameters with their types and which of them the SDK requires, and the body model's fields
with their types (string / number / boolean / arrays / nested models). The SDK marks no body
field as required and carries no enums or limits, so neither does the import: a check of a
TikTok Shop body finds mistyped and misplaced fields, not missing ones.

No SDK repository of TikTok's own is public; the source is a copy of the SDK committed
unchanged (its generator's FILES list and VERSION 7.15.0 included) in a public repository,
named in `source` with its commit.
"""

import re
from collections import defaultdict

from rules.infer import domain_of
from rules.reqschema import reachable

from .git_source import GitSource

NOTE = ("the SDK marks no body field required and carries no enums or limits: bodies are checked for types "
        "and unknown fields only; the SDK links no reference page (doc is null)")
REPOSITORY = "https://github.com/yangyiqian0312/super-succotash"
SDK_COMMIT = "ce365d3e8d883a20d2a290a81d1a0c6855840109"
# product (inventory is part of it), order, fulfillment and logistics, every published version
API_FILE = re.compile(r"^api/(product|order|fulfillment|logistics)V(\d{6})Api\.ts$")

METHOD = re.compile(r"public async (\w+) \(")
SUMMARY = re.compile(r"@summary (\w+)")
PATH = re.compile(r"localVarPath = this\.basePath \+ '([^']+)'")
VERB = re.compile(r"method: '(\w+)'")
REQUIRED = re.compile(r"Required parameter (\w+) was null")
QUERY = re.compile(r"localVarQueryParameters\['([^']+)'\] = ObjectSerializer\.serialize\((\w+), \"([^\"]+)\"\)")
HEADER = re.compile(r"localVarHeaderParams\['([^']+)'\] = ObjectSerializer\.serialize\((\w+), \"([^\"]+)\"\)")
BODY = re.compile(r"body: ObjectSerializer\.serialize\(\w+, \"(\w+)\"\)")
CLASS = re.compile(r"export class (\w+)")
ATTRIBUTE = re.compile(r'"baseName": "([^"]+)",\s*"type": "([^"]+)"')


def type_schema(ts_type: str, models: set[str]) -> dict:
    """The JSON Schema of a type as the SDK's ObjectSerializer names it."""
    if ts_type.startswith("Array<") and ts_type.endswith(">"):
        return {"type": "array", "items": type_schema(ts_type[6:-1], models)}
    if ts_type in ("string", "number", "boolean"):
        return {"type": ts_type}
    if ts_type == "object" or ts_type.startswith("{"):
        return {"type": "object"}
    if ts_type in models:
        return {"$ref": f"#/definitions/{ts_type}"}
    return {}  # "any"


def _model(text: str, models: set[str]) -> dict:
    return {"type": "object",
            "properties": {name: type_schema(kind, models) for name, kind in ATTRIBUTE.findall(text)}}


def _operations(text: str, family: str, models: set[str]) -> dict:
    ops = {}
    for block in text.split("    /**")[1:]:
        method = METHOD.search(block)
        if not method:
            continue
        summary = SUMMARY.search(block)
        path = PATH.search(block).group(1)
        required = set(REQUIRED.findall(block))
        entry = {"method": VERB.search(block).group(1), "path": path, "api": family,
                 "domain": domain_of(path), "doc": None}
        for where, pattern in (("query", QUERY), ("headers", HEADER)):
            found = pattern.findall(block)
            if found:
                key = str.lower if where == "headers" else str
                entry[where] = {"type": "object",
                                "properties": {key(n): type_schema(t, models) for n, _v, t in found}}
                needed = sorted(key(n) for n, var, _t in found if var in required)
                if needed:
                    entry[where]["required"] = needed
        placeholders = re.findall(r"\{(\w+)\}", path)
        if placeholders:
            entry["path_params"] = {"type": "object", "properties": {p: {"type": "string"} for p in placeholders},
                                    "required": placeholders}
        body = BODY.search(block)
        if body:
            entry["body"] = {"$ref": f"#/definitions/{body.group(1)}"}
        ops[(summary or method).group(1)] = entry
    return ops


def load(git_dir, commit: str = SDK_COMMIT) -> list[dict]:
    source = GitSource(git_dir, commit)
    paths = source.paths()
    model_texts = source.read_many([p for p in paths if p.startswith("model/") and p.endswith(".ts")])
    classes = {}
    for path, text in model_texts.items():
        for name in CLASS.findall(text):
            classes[name] = (path, text)
    models = set(classes)
    definitions = {name: _model(text, models) for name, (_path, text) in classes.items()}
    by_family = defaultdict(list)
    for path in paths:
        match = API_FILE.match(path)
        if match:
            by_family[match.group(1)].append((match.group(2), path))
    documents = []
    for family, versions in sorted(by_family.items()):
        for version, path in sorted(versions):
            ops = _operations(source.read(path), family, models)
            documents.append({
                "platform": "tiktok_shop", "api": family, "version": version,
                "name": f"{family}_{version}",
                "source": {"repository": REPOSITORY, "path": path, "commit": source.commit, "note": NOTE,
                           "what": "TikTok Shop's Node.js SDK (OpenAPI Generator 7.15.0), committed unchanged"},
                "operations": ops,
                "definitions": reachable(ops, definitions),
            })
    return documents
