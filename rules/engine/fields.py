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
    rf"\b(?:param(?:eter)?|field|property|attribute|argument)\s+['\"`“](?P<field>{NAME})['\"`”]",
    # "Invalid enumerated value 'x' for attribute 'merchant_shipping_group'", "... in field \"sku\""
    rf"\b(?:for|of|in|on)\s+(?:the\s+)?(?:field|param(?:eter)?|property|attribute|argument|key|column)\s*:?\s*"
    rf"['\"`“](?P<field>{NAME})['\"`”]",
    rf"(?<!value )['\"`“](?P<field>{NAME})['\"`”]\s+(?:is|are)\s+(?:a\s+)?"
    rf"(?:required|missing|mandatory|invalid|not\s+valid|empty|too\s+long)",
    # Joi and JSON-schema validators: '"price" must be a number', "'sku' should not be empty", "'x' is not allowed"
    rf"(?<!value )['\"`“](?P<field>{NAME})['\"`”]\s+(?:must|should|cannot|can\s?not|may\s+not|is\s+not\s+allowed"
    rf"|has\s+an?\s+invalid|does\s+not\s+match|exceeds)\b",
    # Go's validator "Field validation for 'Sku' failed"; ASP.NET "The value 'x' is not valid for Quantity."
    rf"\bfield\s+validation\s+for\s+['\"`“](?P<field>{NAME})['\"`”]",
    rf"\bvalue\s+['\"`“][^'\"`”]{{0,100}}['\"`”]\s+is\s+not\s+(?:a\s+)?valid\s+for\s+(?:the\s+)?(?:field\s+)?"
    rf"['\"`“]?(?P<field>{NAME})",
    # Laravel "The selected status is invalid.", Rails "Title can't be blank"
    rf"\bthe\s+selected\s+(?P<field>{NAME})\s+is\s+invalid",
    rf"^\W*(?P<field>{NAME})\s+(?:can['’]?t\s+be\s+(?:blank|empty|nil)|is\s+not\s+a\s+number|is\s+not\s+included\s+in\s+the\s+list"
    rf"|must\s+exist|is\s+too\s+(?:long|short))\b",
    rf"\b(?:the\s+)?(?P<field>{NAME})\s+(?:field\s+)?(?:is|are)\s+(?:a\s+)?(?:required|mandatory)\s+(?:field|param)",
    rf"\b(?:the\s+)?(?P<field>{NAME})\s+field\s+(?:is|are)\s+(?:required|missing|invalid)",
    rf"^\s*\$\.(?P<field>{NAME})\s*:",
    # ajv's "instancePath message": "/items/0/sku must be string", "/status must be equal to one of ..."
    r"^\s*(?P<field>(?:/[\w$\-]{1,64}){1,12})\s+must\b",
    rf"\b(?:missing|required)\s*[:=]\s*['\"`]?(?P<field>{NAME})",
    rf"\binvalid\s+['\"`“](?P<field>{NAME})['\"`”]",
    # an unquoted identifier (snake_case, camelCase or a dotted path) is a field even in running text
    rf"\b(?:invalid|missing|illegal|unknown)\s+(?:value\s+(?:for|of)\s+)?(?P<field>{IDENTIFIER})\b",
    rf"\b(?P<field>{IDENTIFIER})\s*(?:[:=]\s*)?(?:is|are|must|should|cannot|can\s?not|may\s+not)\s+"
    rf"(?:not\s+)?(?:be\s+)?(?:required|missing|mandatory|invalid|empty|blank|null|valid|a\b|an\b|one\b|between|less|greater|at|match"
    rf"|allowed|permitted|supported|accepted|recogni[sz]ed|of\s+type|too\s+(?:long|short|large|small|big)|longer|shorter)",
    # a plain word opening the message and stating a bound: "Price must be greater than 0", "Stock cannot be negative"
    r"^\W*(?:the\s+)?(?P<field>[A-Za-z][a-z0-9_]{1,40})\s+(?:must|should|cannot|can\s?not|may\s+not)\s+(?:not\s+)?"
    r"(?:be|exceed|have)\b",
    # Json.NET "... Path 'items[0].sku', line 1"; ASP.NET "The field quantity must be a number."
    rf"\bpath\s+'(?P<field>{NAME})'",
    rf"\bthe\s+field\s+(?P<field>{NAME})\s+(?:must|is|should)\b",
    # DRF/marshmallow "quantity: A valid integer is required."
    r"^\W*(?P<field>[A-Za-z_][\w.]{0,63})\s*:\s+(?:a\s+valid|this\s+field|ensure\s+this|not\s+a\s+valid)\b",
    # WordPress "regular_price is not of type string", Rails "email has already been taken"
    rf"^\W*(?P<field>{NAME})\s+(?:is\s+not\s+of\s+type|has\s+already\s+been\s+taken|is\s+not\s+one\s+of)\b",
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
BODY_KEYS = ("field", "parameter", "param", "property", "attribute", "path", "attributeNames", "fieldName",
             "attributeName", "attribute_name", "field_name", "fieldPath", "propertyPath", "property_path",
             "parameterName", "paramName", "pointer", "instancePath", "dataPath", "loc")
# Lists of per-field failures beside (or instead of) the message: Spring's fieldErrors, Zalando's and
# Symfony's violations, RFC 7807's invalid-params ({"name", "reason"}), JSON:API's source.pointer.
ERROR_LISTS = ("errors", "error", "issues", "detail", "details", "fieldErrors", "field_errors", "violations",
               "invalid-params", "invalid_params", "validation_errors", "validationErrors")
# A rule of these categories is about one field (a value, a carrier, an id, a key sent twice, a
# field an API version dropped); others (auth, quotas, outages) never name one.
FIELD_CATEGORIES = ("validation.", "region.", "logistics.", "resource.not_found", "conflict.duplicate_request",
                    "platform.api_deprecated")


def _clean(name: str) -> str | None:
    name = name.strip("'\"`“”[]., ").replace("->", ".")
    if name.startswith(("$.", ".")) and len(name) > 2:  # JSONPath $.a.b, ajv's dataPath .a.b
        name = name[2:] if name.startswith("$.") else name[1:]
    elif name.startswith("/") and re.fullmatch(r"(?:/[\w$\-]+)+", name):  # a JSON pointer: /items/0/sku
        name = ".".join(name[1:].split("/"))
    if " " in name and re.fullmatch(r"[A-Za-z][A-Za-z0-9]*(?: [A-Za-z][A-Za-z0-9]*){1,3}", name):
        name = "_".join(name.split())  # words naming one ("grant type", "External Product Information")
    if not name or name.lower() in NOT_FIELDS or len(name) > 120:
        return None
    return name


def _from_body(body: Any) -> str | None:
    """A `field`-like key beside the error in a JSON body (errors[0].field, ...), or the one key of a
    field -> messages map (Rails, Laravel, ASP.NET ModelState: {"errors": {"email": ["..."]}})."""
    if isinstance(body, list):  # a bare list of errors
        body = next((item for item in body if isinstance(item, dict)), None)
    if not isinstance(body, dict):
        return None
    if any(isinstance(v, list) for v in body.values()) and (named := _field_map(body)):
        return named  # Django REST framework: the body itself maps fields to messages
    candidates = [body]
    for key in ERROR_LISTS:
        inner = body.get(key)
        if isinstance(inner, list) and inner and isinstance(inner[0], dict):
            candidates.append(inner[0])
        elif isinstance(inner, dict):
            if key in ("errors", "error") and (named := _field_map(inner)):
                return named
            candidates.append(inner)
    for candidate in candidates:
        for key in BODY_KEYS:
            value = candidate.get(key)
            if key == "loc" and isinstance(value, list):  # FastAPI/pydantic ["body", "items", 0, "sku"]
                value = ".".join(str(v) for v in value if v not in ("body", "query", "path", "header"))
            elif isinstance(value, list) and value and isinstance(value[0], str):
                value = value[0]
            if isinstance(value, str) and (name := _clean(value)):
                return name
        source = candidate.get("source")
        if isinstance(source, dict):  # JSON:API {"source": {"pointer": "/data/attributes/title"}}
            for key in ("pointer", "parameter"):
                if isinstance(source.get(key), str) and (name := _clean(source[key])):
                    return name
        if (candidate is not body and isinstance(candidate.get("name"), str)  # RFC 7807 invalid-params
                and ("reason" in candidate or "message" in candidate) and (name := _clean(candidate["name"]))):
            return name
    return None


def _field_map(errors: dict) -> str | None:
    """{"title": ["can't be blank"]} or {"title": "is required"}: the first key, when every value
    is a message or a list of messages and the keys are names, not an envelope's own words."""
    if not errors or len(errors) > 50 or any(k in ENVELOPE_WORDS for k in errors):
        return None
    values = list(errors.values())
    if not all(isinstance(v, str) or (isinstance(v, list) and v and all(isinstance(m, str) for m in v))
               for v in values):
        return None
    return _clean(next(iter(errors)))


# Keys of an error object itself, never a field's name.
ENVELOPE_WORDS = frozenset({"code", "message", "msg", "detail", "details", "description", "error", "errors",
                            "error_description", "reason", "info", "help", "severity", "level", "userMessage"})


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
            found = _from_body(self.fact.body) or from_message(self.fact.message)
            self._general = as_requested(self.fact, found)
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


# Request keys that sign or authenticate a call: a message naming them is about the signature.
SIGNING_KEYS = frozenset({"sign", "signature", "timestamp", "access_token", "app_key", "app_secret", "partner_id",
                          "sign_method", "signmethod", "appkey", "accesstoken"})
MAX_KEYS = 200  # request keys compared, at most
_URLISH = re.compile(r"\S{0,2000}(?:://|[?&]\w{1,64}=)\S{0,2000}")


def _words(name: str) -> list[str]:
    return re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name).replace("_", " ").replace("-", " ").lower().split()


def _request_keys(fact: Fact) -> list[str]:
    """Names the request carried: query parameters and the body's keys (dotted paths)."""
    keys = list(fact.query)
    stack = [("", fact.request_body, 0)]
    while stack and len(keys) < MAX_KEYS:
        prefix, doc, depth = stack.pop()
        if isinstance(doc, list) and doc:
            doc = doc[0]
        if isinstance(doc, dict) and depth < 4:
            for key, value in doc.items():
                if isinstance(key, str):
                    keys.append(prefix + key)
                    stack.append((prefix + key + ".", value, depth + 1))
    return [k for k in keys[:MAX_KEYS] if k.rsplit(".", 1)[-1].lower() not in SIGNING_KEYS]


def as_requested(fact: Fact, found: str | None) -> str | None:
    """The field as the request spelled it: a name the error gave in words or another case
    ("Invalid Report Type" for the query's reportTypes) becomes the request's own key; an error
    that gave none but says the words of exactly one key the request carried names that key."""
    keys = _request_keys(fact)
    if not keys:
        return found
    if found:
        wanted = "".join(_words(found.rsplit(".", 1)[-1]))
        for key in keys:
            have = "".join(_words(key.rsplit(".", 1)[-1]))
            if have == wanted or (have.startswith(wanted) and have[len(wanted):] in ("s", "list", "ids", "id")):
                return key
        return found
    message = _URLISH.sub(" ", (fact.message or "")[:MAX_SCAN])  # a URL quoted in the message names no field
    named = []
    for key in keys:
        words = _words(key.rsplit(".", 1)[-1])
        if not words or (len(words) == 1 and len(words[0]) < 5):
            continue
        if len(words[-1]) > 3 and words[-1].endswith("s"):
            words[-1] = words[-1][:-1]  # reportTypes is named "Report Type"
        phrase = r"[\s_-]?".join(map(re.escape, words))
        if re.search(rf"(?<![A-Za-z0-9]){phrase}s?(?![A-Za-z0-9])", message, re.IGNORECASE):
            named.append(key)
    return named[0] if len(named) == 1 else found

