"""The request field a validation error is about, named as the platform names it.

Platforms name the field in their own ways: TikTok Shop "param body.x.y is missing",
SP-API "Value null at 'marketplaceIds' failed to satisfy constraint" or "Missing or
invalid request parameters: [marketplaceIds]", Lazada's "The input parameter “x” that
is mandatory ... is not supplied", OAuth "The request has an invalid parameter : scope",
JSON Schema "$.a.b: is missing", or a `field` / `parameter` key next to the message. A
rule's own regex group `(?P<field>...)` wins; these patterns are the general reading.
When the request body was posted too, `as_sent` says what was sent at that path.
"""

import re
from typing import Any

from .normalize import Fact

# snake_case, camelCase or PascalCase with a hump, or a dotted path: shapes English words do not take
IDENTIFIER = (r"(?-i:[A-Za-z][A-Za-z0-9]{0,63}(?:\.[A-Za-z_][\w]{0,63}){1,8}"
              r"|[a-z][a-z0-9]{0,63}(?:_[a-z0-9]{1,63}){1,8}|[a-z]{1,63}(?:[A-Z][a-z0-9]{0,63}){1,8}"
              r"|[A-Z][a-z0-9]{1,63}(?:[A-Z][a-z0-9]{1,63}){1,8}|[A-Z][a-z0-9]{1,63}(?:[A-Z][a-z0-9]{1,63}){0,8}[A-Z]{2,8})")
NAME = r"[A-Za-z_$][\w$\-]{0,63}(?:(?:\.|->)[A-Za-z_$][\w$\-]{0,63}|\[\d{0,9}\]){0,12}"
# The ways messages name a field; the earliest hit in the message names it.
PATTERNS = (
    rf"\bparam(?:eter)?s?\s+['\"`“]?(?P<field>{NAME})['\"`”]?\s+(?:is|are)\s+(?:missing|required|invalid|empty|not)",
    rf"\b(?:value|values)\s+.{{0,40}}?\s+at\s+'(?P<field>{NAME})'",
    rf"\b(?:missing|invalid)\s+(?:or\s+invalid\s+)?(?:request\s+)?param(?:eter)?s?\s*:?\s*\[(?P<field>{NAME})",
    rf"\b(?:missing|required|invalid|unknown)\s+(?:required\s+)?(?:field|param(?:eter)?|property|attribute|argument|key)(?:s\b|\(s\)|\b)"
    rf"\s*[:=]?\s*['\"`“\[]?(?P<field>{NAME})",
    rf"\binvalid\s+(?:grant\s+)?param(?:eter)?\s*:\s*(?P<field>{NAME})",
    rf"\bvalue\s+(?:for|of)\s+(?:the\s+)?(?:param(?:eter)?|field|property|attribute|argument)\s*:?\s*['\"`“]?(?P<field>{NAME})",
    rf"\bparam(?:eter)?\s+['\"`“](?P<field>{NAME})['\"`”]",
    rf"['\"`“](?P<field>{NAME})['\"`”]\s+(?:is|are)\s+(?:a\s+)?(?:required|missing|mandatory|invalid|not\s+valid|empty|too\s+long)",
    rf"\b(?:the\s+)?(?P<field>{NAME})\s+(?:field\s+)?(?:is|are)\s+(?:a\s+)?(?:required|mandatory)\s+(?:field|param)",
    rf"\b(?:the\s+)?(?P<field>{NAME})\s+field\s+(?:is|are)\s+(?:required|missing|invalid)",
    rf"^\s*\$\.(?P<field>{NAME})\s*:",
    rf"\b(?:missing|required)\s*[:=]\s*['\"`]?(?P<field>{NAME})",
    rf"\binvalid\s+['\"`“](?P<field>{NAME})['\"`”]",
    # an unquoted identifier (snake_case, camelCase or a dotted path) is a field even in running text
    rf"\b(?:invalid|missing|illegal|unknown)\s+(?:value\s+(?:for|of)\s+)?(?P<field>{IDENTIFIER})\b",
    rf"\b(?P<field>{IDENTIFIER})\s*(?:[:=]\s*)?(?:is|are|must|should|cannot|can\s?not|may\s+not)\s+"
    rf"(?:not\s+)?(?:be\s+)?(?:required|missing|mandatory|invalid|empty|blank|null|valid|a\b|an\b|one\b|between|less|greater|at)",
)
# Words joined as a name ("Invalid category ID") read as its snake_case field: category_id.
ID_PHRASE = re.compile(r"\b(?:invalid|missing|illegal|unknown|wrong)\s+((?:[a-z]+\s){0,2}?[a-z]+)\s+id\b|"
                       r"\b((?:[a-z]+\s){0,2}?[a-z]+)\s+id\s+(?:is\s+)?(?:invalid|missing|required|illegal)",
                       re.IGNORECASE)
# One pass over the message for all of them (group f<i> is pattern i's field).
_ANY = re.compile("|".join(f"(?:{p.replace('(?P<field>', f'(?P<f{i}>')})" for i, p in enumerate(PATTERNS)),
                  re.IGNORECASE)
MAX_SCAN = 1000  # a message names its field early; repetition bounds keep each try short

# Words that these patterns can catch but that name no field.
NOT_FIELDS = frozenset({
    "a", "an", "the", "this", "that", "it", "one", "or", "and", "field", "fields", "param", "params",
    "parameter", "parameters", "value", "values", "request", "input", "data", "argument", "arguments",
    "property", "attribute", "key", "is", "are", "required", "missing", "invalid", "not", "body",
    "format", "json", "credentials", "type", "null", "none", "some", "all", "any", "following",
})
BODY_KEYS = ("field", "parameter", "param", "property", "attribute", "path", "attributeNames", "fieldName")
# A rule of these categories is about one field; others never name one.
FIELD_CATEGORIES = ("validation.", "region.category_unavailable")


def _clean(name: str) -> str | None:
    name = name.strip("'\"`“”[]., ").replace("->", ".")
    if name.startswith("$."):
        name = name[2:]
    if not name or name.lower() in NOT_FIELDS or len(name) > 120:
        return None
    return name


def _from_body(body: Any) -> str | None:
    """A `field`-like key beside the error in a JSON body (errors[0].field, ...)."""
    candidates = [body] if isinstance(body, dict) else []
    if isinstance(body, dict):
        for key in ("errors", "error", "issues", "detail", "details"):
            inner = body.get(key)
            if isinstance(inner, list) and inner and isinstance(inner[0], dict):
                candidates.append(inner[0])
            elif isinstance(inner, dict):
                candidates.append(inner)
    for candidate in candidates:
        for key in BODY_KEYS:
            value = candidate.get(key)
            if isinstance(value, list) and value and isinstance(value[0], str):
                value = value[0]
            if isinstance(value, str) and (name := _clean(value)):
                return name
    return None


def from_message(message: str | None) -> str | None:
    if not message:
        return None
    for match in _ANY.finditer(message[:MAX_SCAN]):
        name = _clean(next(value for value in match.groups() if value is not None))
        if name:
            return name
    phrase = ID_PHRASE.search(message[:MAX_SCAN])
    if phrase:
        words = (phrase.group(1) or phrase.group(2)).lower().split()
        words = words[words.index("the") + 1:] if "the" in words else words
        if words and not set(words) & NOT_FIELDS:
            return "_".join(words + ["id"])
    return None


class FieldFinder:
    """The field of one fact's diagnoses: the error's own reading is worked out at most
    once, however many diagnoses of a validation category the answer holds."""

    _UNREAD = object()

    def __init__(self, fact: Fact):
        self.fact = fact
        self._general = self._UNREAD

    def named(self, category: str, captured: dict[str, str], fixed: str | None = None) -> str | None:
        """The field a diagnosis of this category is about, if the error names one: what the
        rule's regex captured, else the field the rule names, else the error's own reading."""
        if "field" in captured and (name := _clean(captured["field"])):
            return name
        if fixed:
            return fixed
        if not category.startswith(FIELD_CATEGORIES):
            return None
        if self._general is self._UNREAD:
            self._general = _from_body(self.fact.body) or from_message(self.fact.message)
        return self._general


def _walk(doc: Any, path: str) -> tuple[bool, Any]:
    """(found, value) at a dotted path, trying it with and without a leading `body.`."""
    steps = [s for s in re.split(r"\.|\[(\d*)\]", path) if s]
    if steps and steps[0].lower() in ("body", "request", "data") and not (isinstance(doc, dict) and steps[0] in doc):
        steps = steps[1:]
    for step in steps:
        if isinstance(doc, list):
            if not step.isdigit():
                doc = doc[0] if doc else None
                if doc is None:
                    return False, None
            else:
                index = int(step)
                if index >= len(doc):
                    return False, None
                doc = doc[index]
                continue
        if not isinstance(doc, dict):
            return False, None
        match = next((k for k in doc if k == step), None) or next(
            (k for k in doc if k.lower().replace("_", "") == step.lower().replace("_", "")), None)
        if match is None:
            return False, None
        doc = doc[match]
    return True, doc


def as_sent(fact: Fact, field: str) -> str | None:
    """What the posted request body held at the field: absent, null, empty, or its JSON type."""
    body = fact.request_body
    if not isinstance(body, dict | list):
        return None
    found, value = _walk(body, field)
    if not found:
        return "absent"
    if value is None:
        return "null"
    if value == "" or value == [] or value == {}:
        return "empty"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"
