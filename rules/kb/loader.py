"""Reads rule documents from kb_content (or the store) and validates them into Rules.

Every problem is reported with its file, rule id and reason, all at once, so a
curator fixes a broken file in one pass.
"""

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import yaml
from marshmallow import ValidationError

from .. import DEFAULT_KB_DIR
from ..model import Rule
from .schema import RuleFileSchema, RuleSchema

# The one rule for a rule file's name, however it comes in (kb_content, an import archive,
# the admin API) and goes out (export): no path tricks a Windows or POSIX unzip would follow.
FILE_NAME = re.compile(r"^[a-z0-9_]+/[a-z0-9_]+\.yaml$")
FILE_NAME_RULE = "must look like <platform>/<domain>.yaml"


class _NoAliasLoader(yaml.SafeLoader):
    """YAML without aliases: a few hundred bytes of nested aliases expand into gigabytes
    ("billion laughs"), and rule files have no use for them."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            raise yaml.composer.ComposerError(None, None, "aliases (*name) are not allowed in rule files",
                                              self.peek_event().start_mark)
        return super().compose_node(parent, index)


class _NoAliasDumper(yaml.SafeDumper):
    """Writes an object met twice in full, so that what we write, load_yaml reads."""

    def ignore_aliases(self, data):
        return True


def dump_yaml(data) -> str:
    """Rule files as export and the gap drafts write them (no aliases, Unicode kept)."""
    return yaml.dump(data, Dumper=_NoAliasDumper, allow_unicode=True, sort_keys=False, width=100)


def load_yaml(text: str):
    """A rule file's YAML, refusing aliases (yaml.YAMLError as safe_load raises)."""
    return yaml.load(text, Loader=_NoAliasLoader)  # noqa: S506 - a SafeLoader subclass


@dataclass(frozen=True)
class RuleDocument:
    """One rule as curated: the file it lives in and its raw mapping."""

    file: str
    body: dict

    @property
    def rule_id(self) -> str:
        return str(self.body.get("id", "?"))


@dataclass(frozen=True)
class RuleError:
    file: str
    rule_id: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}: {self.rule_id}: {self.reason}"


class RuleSetError(Exception):
    """The rule set was refused; `errors` lists every reason."""

    def __init__(self, errors: list[RuleError], documents: list[RuleDocument] = ()):
        self.errors = errors
        self.documents = list(documents)  # what could be read despite the errors
        super().__init__("\n".join(map(str, errors)))


def flatten_messages(messages, prefix: str = "") -> list[str]:
    """marshmallow's nested error dict -> ["field.path: message", ...]."""
    if isinstance(messages, dict):
        out = []
        for key, value in messages.items():
            path = key if key == "_schema" or not prefix else f"{prefix}.{key}"
            if key == "_schema":
                path = prefix
            out.extend(flatten_messages(value, str(path)))
        return out
    if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        return [f"{prefix}: {m}" if prefix else m for m in messages]
    if isinstance(messages, list):
        return [line for m in messages for line in flatten_messages(m, prefix)]
    return [f"{prefix}: {messages}" if prefix else str(messages)]


def load_directory(kb_dir: Path | str = DEFAULT_KB_DIR) -> tuple[list[RuleDocument], list[Rule]]:
    """Read and validate a kb_content tree; every bad file and rule is reported at once."""
    try:
        docs, errors = read_directory(kb_dir), []
    except RuleSetError as exc:
        docs, errors = exc.documents, exc.errors
    try:
        rules = build_rules(docs)
    except RuleSetError as exc:
        errors = errors + exc.errors
    if errors:
        raise RuleSetError(errors)
    return docs, rules


def read_directory(kb_dir: Path | str = DEFAULT_KB_DIR) -> list[RuleDocument]:
    """The rule documents of a tree, unvalidated; RuleSetError for unreadable files."""
    kb_dir = Path(kb_dir)
    if not kb_dir.is_dir():
        raise RuleSetError([RuleError(str(kb_dir), "-", "knowledge-base directory not found")])
    docs, errors = [], []
    for path in sorted(kb_dir.rglob("*.yaml")):
        rel = path.relative_to(kb_dir).as_posix()
        try:
            content = load_yaml(path.read_text(encoding="utf-8")) or {}
            docs.extend(parse_file(rel, content))
        except yaml.YAMLError as exc:
            errors.append(RuleError(rel, "-", f"not valid YAML: {exc}"))
        except RuleSetError as exc:
            errors.extend(exc.errors)
    if errors:
        raise RuleSetError(errors, docs)
    return docs


def parse_file(rel: str, content: object) -> list[RuleDocument]:
    try:
        data = RuleFileSchema().load(content if isinstance(content, dict) else {"rules": None})
    except ValidationError as exc:
        raise RuleSetError([RuleError(rel, "-", m) for m in flatten_messages(exc.messages)]) from exc
    docs = []
    for body in data["rules"]:
        if "platform" in data and "platforms" not in body:
            body = {"platforms": [data["platform"]], **body}
        docs.append(RuleDocument(rel, body))
    return docs


def build_rules(docs: Iterable[RuleDocument]) -> list[Rule]:
    """Validate every document; raise RuleSetError naming each bad rule."""
    rules, errors, seen = [], [], {}
    for doc in docs:
        try:
            rule = _validated(doc.file, json.dumps(doc.body, sort_keys=True, ensure_ascii=False, default=str))
        except RuleSetError as exc:
            errors.extend(exc.errors)
            continue
        if rule.id in seen:
            errors.append(RuleError(doc.file, rule.id, f"duplicate id (also in {seen[rule.id]})"))
            continue
        seen[rule.id] = doc.file
        rules.append(rule)
    if errors:
        raise RuleSetError(errors)
    return rules


@lru_cache(maxsize=16384)
def _validated(file: str, body_json: str) -> Rule:
    """Validating a rule costs milliseconds; a new version mostly repeats the last one's
    rules, so a worker that follows the store re-validates only what changed."""
    body = json.loads(body_json)
    try:
        rule = RuleSchema().load(body)
    except ValidationError as exc:
        rule_id = str(body.get("id", "?")) if isinstance(body, dict) else "?"
        raise RuleSetError([RuleError(file, rule_id, m) for m in flatten_messages(exc.messages)]) from exc
    return replace(rule, file=file, document=body)


def checksum(docs: Iterable[RuleDocument]) -> str:
    """Content hash of a rule set, independent of file order, to skip no-op loads."""
    canonical = sorted(
        json.dumps([d.file, d.body], sort_keys=True, ensure_ascii=False, default=str) for d in docs
    )
    return hashlib.sha256("\n".join(canonical).encode()).hexdigest()
