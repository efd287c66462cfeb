"""Request schemas as data: the platforms' published operations in opsdiag's compact form.

kb_content/schemas/<platform>/<name>.json holds one imported document per API and version
(service/importers/ writes them): each operation's method, path template, path / query /
header parameters and body as JSON Schema (draft 4 keywords, as Swagger 2.0 writes them), its
doc link, and the definitions its body reaches; `source` names the file and commit it came
from. JSON rather than YAML so that the rule loader's *.yaml walk leaves them alone; written
with sorted keys and one key a line, so that two imports differ line by line.
"""

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from .. import DEFAULT_KB_DIR

FORMAT = 1
SCHEMA_DIR = DEFAULT_KB_DIR / "schemas"
# The JSON Schema keywords a check needs; descriptions, examples and vendor keys are dropped.
KEPT = frozenset((
    "type", "properties", "required", "items", "enum", "format", "minimum", "maximum",
    "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength", "pattern", "minItems",
    "maxItems", "uniqueItems", "minProperties", "maxProperties", "additionalProperties",
    "allOf", "oneOf", "anyOf", "$ref",
))


def compact(schema):
    """A schema with only the KEPT keywords, all the way down."""
    if isinstance(schema, list):
        return [compact(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {}
    for key, value in schema.items():
        if key not in KEPT:
            continue
        if key == "properties":
            out[key] = {name: compact(sub) for name, sub in value.items()}
        elif key in ("items", "additionalProperties", "allOf", "oneOf", "anyOf"):
            out[key] = compact(value)
        else:
            out[key] = value
    return out


def _refs(schema, found: set[str]) -> None:
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/definitions/"):
            found.add(ref.removeprefix("#/definitions/"))
        for value in schema.values():
            _refs(value, found)
    elif isinstance(schema, list):
        for value in schema:
            _refs(value, found)


def reachable(operations: dict, definitions: dict) -> dict:
    """The definitions the operations' parameters reach, transitively."""
    todo: set[str] = set()
    _refs(list(operations.values()), todo)
    kept: dict = {}
    while todo:
        name = todo.pop()
        if name in kept or name not in definitions:
            continue
        kept[name] = definitions[name]
        _refs(definitions[name], todo)
    return dict(sorted(kept.items()))


def dumps(document: dict) -> str:
    return json.dumps({"format": FORMAT, **document}, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


@dataclass(frozen=True)
class Operation:
    platform: str
    name: str            # operationId (SP-API) or the SDK's method name
    method: str
    path: str
    api: str
    version: str
    domain: str
    doc: str | None
    spec: dict           # the operation's entry: path / query / header / body schemas
    definitions: dict    # of its document, for $ref
    source: dict

    @property
    def literal_segments(self) -> int:
        return sum(1 for part in self.path.split("/") if part and "{" not in part)


def _group(placeholder: str) -> str:
    return re.sub(r"\W", "_", placeholder[1:-1])


def _pattern(template: str) -> re.Pattern:
    parts = re.split(r"(\{[^}/]+\})", template)
    regex = "".join(f"(?P<{_group(p)}>[^/]+)" if p.startswith("{") else re.escape(p) for p in parts)
    return re.compile(f"^{regex}/?$")


class Catalog:
    """Every imported operation, found by platform, method and path."""

    def __init__(self, directory: Path = SCHEMA_DIR):
        self.documents: list[dict] = []
        self.operations: list[Operation] = []
        self._by_platform: dict[str, list[tuple[re.Pattern, Operation]]] = {}
        for file in sorted(directory.glob("*/*.json")):
            document = json.loads(file.read_text(encoding="utf-8"))
            self.documents.append(document)
            for name, spec in document["operations"].items():
                op = Operation(document["platform"], name, spec["method"], spec["path"], spec["api"],
                               document["version"], spec["domain"], spec.get("doc"), spec,
                               document.get("definitions", {}), document["source"])
                self.operations.append(op)
                self._by_platform.setdefault(op.platform, []).append((_pattern(op.path), op))
        for entries in self._by_platform.values():  # /items/search before /items/{id}
            entries.sort(key=lambda entry: -entry[1].literal_segments)

    def find(self, platform: str, method: str | None, path: str) -> tuple[Operation | None, dict]:
        """The operation at this method and path, and the path parameters' values."""
        same_path = None
        for pattern, op in self._by_platform.get(platform, ()):
            match = pattern.match(path)
            if match:
                if method is None or op.method == method.upper():
                    return op, match.groupdict()
                same_path = same_path or (op, match.groupdict())
        return (same_path if method is None else None) or (None, {})

    def methods_at(self, platform: str, path: str) -> list[str]:
        return sorted({op.method for pattern, op in self._by_platform.get(platform, ()) if pattern.match(path)})


def coverage(cat: Catalog) -> dict:
    """Operations per platform, API and domain, and each platform's sources with what they leave out."""
    out: dict = {}
    for op in cat.operations:
        entry = out.setdefault(op.platform, {"operations": 0, "apis": {}, "domains": {}, "sources": {}})
        entry["operations"] += 1
        entry["apis"][op.api] = entry["apis"].get(op.api, 0) + 1
        entry["domains"][op.domain] = entry["domains"].get(op.domain, 0) + 1
        entry["sources"][op.source["repository"] + "@" + op.source["commit"][:12]] = op.source.get("note", "")
    return out


@cache
def catalog() -> Catalog:
    """The catalog of kb_content/schemas, read once per process."""
    return Catalog()
