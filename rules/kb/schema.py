"""Validation of rule documents (the YAML of kb_content) into Rule objects.

marshmallow does the structural checks and reports each problem with its field path;
the semantic checks (taxonomy, regex syntax, JMESPath syntax, placeholders) are done
here too, so that a rule that loads is a rule that compiles.
"""

import re
import string
from typing import Any

import jmespath
import jmespath.exceptions
import re2
from marshmallow import (
    EXCLUDE,
    RAISE,
    Schema,
    ValidationError,
    fields,
    post_load,
    validate,
    validates_schema,
)

from ..engine.compiler import compile_regex
from ..model import DOMAINS, PLATFORMS, Condition, Rule, Text
from ..taxonomy import OWNERS, categories

SCALAR_FIELDS = ("status", "method", "code", "message", "error_type", "body_format", "host", "path")
MAP_FIELDS = ("headers", "request_headers", "query", "body", "request_body", "context", "derived")
CONTEXT_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")  # any key an ERP sends (service/schemas.py)
DERIVED_KEYS = ("clock_skew_seconds", "host_environment", "environment_mismatch", "api_region", "direction")
COMPARE_OPS = ("gt", "gte", "lt", "lte")
OPS = ("eq", "ne", "in", "not_in", *COMPARE_OPS, "exists", "regex", "not_regex", "type")
JSON_TYPES = ("string", "number", "integer", "boolean", "object", "array", "null")
PLACEHOLDERS = frozenset({
    "status", "code", "message", "platform", "region", "domain", "host", "path", "method",
    "request_id", "clock_skew_seconds", "retry_after", "ratelimit_remaining", "ratelimit_limit", "field",
})
MAX_REGEX_LENGTH = 512
RULE_ID = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_-]+)+$")
REGION = re.compile(r"^[A-Z]{2}$")


def _scalar(value: Any) -> bool:
    """Not cached: an operand may be a list or mapping (unhashable), which must be refused by name."""
    return value is None or isinstance(value, str | int | float | bool)


def parse_ops(spec: Any, where: str) -> tuple[tuple[str, Any], ...]:
    """Turn a condition's YAML form into (operator, operand) pairs."""
    if isinstance(spec, list):
        spec = {"in": spec}
    elif not isinstance(spec, dict):
        spec = {"eq": spec}
    if not spec:
        raise ValidationError("empty condition", where)
    ops = []
    for op, operand in spec.items():
        if op not in OPS:
            raise ValidationError(f"unknown operator {op!r}; use one of {', '.join(OPS)}", where)
        if op in ("in", "not_in"):
            if not isinstance(operand, list) or not operand or not all(map(_scalar, operand)):
                raise ValidationError(f"{op} needs a non-empty list of scalars", where)
            operand = tuple(operand)
        elif op in COMPARE_OPS:
            if isinstance(operand, bool) or not isinstance(operand, int | float):
                raise ValidationError(f"{op} needs a number", where)
        elif op == "exists":
            if not isinstance(operand, bool):
                raise ValidationError("exists needs true or false", where)
        elif op in ("regex", "not_regex"):
            if not isinstance(operand, str) or not operand:
                raise ValidationError(f"{op} needs a pattern", where)
            if len(operand) > MAX_REGEX_LENGTH:
                raise ValidationError(f"{op} pattern longer than {MAX_REGEX_LENGTH}", where)
            try:
                compile_regex(operand)
            except re2.error as exc:  # RE2 has no backreferences or lookarounds: linear time
                why = exc.args[0].decode(errors="replace") if exc.args and isinstance(exc.args[0], bytes) else exc
                raise ValidationError(f"bad regular expression {operand!r}: {why}", where) from exc
        elif op == "type":
            if operand not in JSON_TYPES:
                raise ValidationError(f"type must be one of {', '.join(JSON_TYPES)}", where)
        elif not _scalar(operand):
            raise ValidationError(f"{op} needs a scalar", where)
        ops.append((op, operand))
    return tuple(ops)


def parse_when(when: dict, root: str = "when") -> tuple[Condition, ...]:
    conditions = []
    for source, spec in when.items():
        where = f"{root}.{source}"
        if source in SCALAR_FIELDS:
            conditions.append(Condition(source, "", _coerce(source, parse_ops(spec, where))))
            continue
        if source not in MAP_FIELDS:
            raise ValidationError(
                f"unknown field; use one of {', '.join(SCALAR_FIELDS + MAP_FIELDS)}", where)
        if not isinstance(spec, dict) or not spec:
            raise ValidationError("needs a mapping of name: condition", where)
        for name, sub in spec.items():
            key = f"{where}.{name}"
            name = str(name)
            if source == "context" and not CONTEXT_KEY.match(name):
                raise ValidationError("not a context key (letters, digits, _ . -)", key)
            if source == "derived" and name not in DERIVED_KEYS:
                raise ValidationError(f"unknown derived fact; use {', '.join(DERIVED_KEYS)}", key)
            if source in ("body", "request_body"):
                try:
                    jmespath.compile(name)
                except jmespath.exceptions.JMESPathError as exc:
                    raise ValidationError(f"bad JMESPath: {exc}", key) from exc
            if source in ("headers", "request_headers"):
                name = name.lower()
            ops = parse_ops(sub, key)
            if any(op == "type" for op, _ in ops) and source not in ("body", "request_body"):
                raise ValidationError("type applies to body and request_body paths only", key)
            conditions.append(Condition(source, name, _coerce(source, ops)))
    if not conditions:
        raise ValidationError("a rule needs at least one condition", root)
    return tuple(conditions)


def _coerce(source: str, ops: tuple) -> tuple:
    """Codes are compared as strings whatever type a platform returns them in."""
    if source != "code":
        return ops
    return tuple(
        (op, tuple(map(str, v)) if isinstance(v, tuple) else (str(v) if op in ("eq", "ne") else v))
        for op, v in ops
    )


def regex_groups(conditions: tuple[Condition, ...]) -> set[str]:
    names: set[str] = set()
    for cond in conditions:
        for op, operand in cond.ops:
            if op == "regex":
                names.update(re.findall(r"\(\?P<(\w+)>", operand))
    return names


class TextSchema(Schema):
    class Meta:
        unknown = RAISE

    title = fields.String(required=True, validate=validate.Length(min=3, max=200))
    explanation = fields.String(required=True, validate=validate.Length(min=10, max=4000))
    repair_steps = fields.List(
        fields.String(validate=validate.Length(min=3, max=1000)),
        required=True, validate=validate.Length(min=1, max=12),
    )


class ThenSchema(Schema):
    class Meta:
        unknown = RAISE

    category = fields.String(required=True)
    owner = fields.String(validate=validate.OneOf(OWNERS))
    # the request field the error is about, where the code names it and the message does not
    field = fields.String(validate=validate.Regexp(r"^[A-Za-z_$][\w$.\[\]-]{0,119}$"))
    doc_url = fields.Url(required=True, schemes={"https", "http"})
    en = fields.Nested(TextSchema, required=True)
    zh_cn = fields.Nested(TextSchema, required=True, data_key="zh-CN")

    @validates_schema
    def known_category(self, data, **kwargs):
        if data.get("category") not in categories() or data.get("category") == "unknown":
            raise ValidationError("not a category of taxonomy.yaml", "category")


class ExamplesSchema(Schema):
    class Meta:
        unknown = RAISE

    match = fields.List(fields.Dict(), required=True, validate=validate.Length(min=1))
    no_match = fields.List(fields.Dict(), required=True, validate=validate.Length(min=1))


class RegionsField(fields.Field):
    """`"*"` or a list of ISO 3166-1 alpha-2 codes."""

    def _deserialize(self, value, attr, data, **kwargs):
        if value == "*":
            return None
        if not isinstance(value, list) or not value:
            raise ValidationError('use "*" or a non-empty list')
        bad = [v for v in value if not (isinstance(v, str) and REGION.match(v))]
        if bad:
            raise ValidationError(f"not ISO 3166-1 alpha-2 codes: {bad}")
        return frozenset(value)


class DomainsField(fields.Field):
    def _deserialize(self, value, attr, data, **kwargs):
        if value == "*":
            return None
        if not isinstance(value, list) or not value:
            raise ValidationError('use "*" or a non-empty list')
        bad = [v for v in value if v not in DOMAINS]
        if bad:
            raise ValidationError(f"unknown domains {bad}; use {', '.join(DOMAINS)}")
        return frozenset(value)


class RuleSchema(Schema):
    class Meta:
        unknown = RAISE

    id = fields.String(required=True, validate=validate.Regexp(RULE_ID, error="ids look like platform.domain.name"))
    platforms = fields.List(fields.String(validate=validate.OneOf(PLATFORMS)),
                            required=True, validate=validate.Length(min=1))
    regions = RegionsField(load_default=None)
    domains = DomainsField(load_default=None)
    priority = fields.Integer(required=True, strict=True, validate=validate.Range(0, 100))
    when = fields.Dict(required=True)
    unless = fields.Dict()  # evidence against the rule: lowers its score (rules/engine/score.py)
    then = fields.Nested(ThenSchema, required=True)
    source = fields.String(required=True, validate=validate.Length(min=10))
    examples = fields.Nested(ExamplesSchema, required=True)

    @post_load
    def build(self, data, **kwargs) -> Rule:
        conditions = parse_when(data["when"])
        then = data["then"]
        allowed = PLACEHOLDERS | regex_groups(conditions)
        texts = {}
        for lang, key in (("en", "en"), ("zh-CN", "zh_cn")):
            t = then[key]
            for part, value in (("title", t["title"]), ("explanation", t["explanation"]),
                                *((f"repair_steps.{i}", s) for i, s in enumerate(t["repair_steps"]))):
                check_placeholders(value, allowed, f"then.{lang}.{part}")
            texts[lang] = Text(t["title"], t["explanation"], tuple(t["repair_steps"]))
        return Rule(
            id=data["id"],
            platforms=frozenset(data["platforms"]),
            regions=data["regions"],
            domains=data["domains"],
            priority=data["priority"],
            conditions=conditions,
            category=then["category"],
            owner=then.get("owner") or categories()[then["category"]],
            doc_url=then["doc_url"],
            field=then.get("field"),
            texts=texts,
            source=data["source"].strip(),
            examples_match=tuple(data["examples"]["match"]),
            examples_no_match=tuple(data["examples"]["no_match"]),
            against=parse_when(data["unless"], "unless") if "unless" in data else (),
        )


def check_placeholders(template: str, allowed: set[str] | frozenset[str], where: str) -> None:
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    except ValueError as exc:
        raise ValidationError(f"bad template: {exc}", where) from exc
    unknown = sorted(n for n in names if n not in allowed)
    if unknown:
        raise ValidationError(f"unknown placeholders {unknown}; use {sorted(allowed)}", where)


class RuleFileSchema(Schema):
    """A kb_content file: a platform default and its rules (kept raw; each is checked apart)."""

    class Meta:
        unknown = EXCLUDE

    platform = fields.String(validate=validate.OneOf(PLATFORMS))
    rules = fields.List(fields.Dict(), required=True)
