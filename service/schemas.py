"""marshmallow schemas of the public contract (see openapi.yaml)."""

import re
from datetime import UTC, datetime

from marshmallow import EXCLUDE, INCLUDE, RAISE, Schema, ValidationError, fields, pre_load, validate, validates_schema

from rules.kb.schema import CONTEXT_KEY
from rules.model import DOMAINS, PLATFORMS

from . import limits

# The limits themselves live in service/limits.py (OPSDIAG_MAX_*); these names stay for
# the code that reads them at import (the batch log readers).
MAX_HEADERS = limits.LIMITS.payload_headers
MAX_JSON_DEPTH = limits.LIMITS.json_depth
MAX_STRING = limits.LIMITS.string_chars
HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}$")


def out_of_bounds(value, max_depth: int, max_chars: int) -> str | None:
    """Why a JSON array or object is out of bounds (nested too deep, or holding a key or
    string too long), else None. One walk, without recursion: the value may be deep."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > max_depth:
            return f"nested deeper than {max_depth} levels"
        if isinstance(item, dict):
            if any(len(key) > max_chars for key in item):
                return f"holds a string longer than {max_chars} characters"
            item = item.values()
        for child in item:
            if isinstance(child, str):
                if len(child) > max_chars:
                    return f"holds a string longer than {max_chars} characters"
            elif isinstance(child, dict | list):
                stack.append((child, depth + 1))
    return None


class JsonBody(fields.Field):
    """A body as received: object, array, string or null, bounded in depth and size."""

    def _deserialize(self, value, attr, data, **kwargs):
        bounds = limits.LIMITS
        if isinstance(value, str):
            if len(value) > bounds.string_chars:
                raise ValidationError(f"longer than {bounds.string_chars} characters")
            return value
        if value is None:
            return value
        if isinstance(value, dict | list):
            problem = out_of_bounds(value, bounds.json_depth, bounds.string_chars)
            if problem:
                raise ValidationError(problem)
            return value
        raise ValidationError("must be an object, an array, a string or null")


class Headers(fields.Field):
    """Header name -> value (a string, or a list of strings for repeated headers)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, dict):
            raise ValidationError("must be an object of header name: value")
        bounds = limits.LIMITS
        if len(value) > bounds.payload_headers:
            raise ValidationError(f"more than {bounds.payload_headers} headers")
        out = {}
        for name, item in value.items():
            if not HEADER_NAME.match(name):
                raise ValidationError(f"{name[:64]!r} is not a valid header name")
            if isinstance(item, int | float) and not isinstance(item, bool):
                item = str(item)
            if isinstance(item, list) and len(item) > bounds.payload_headers:
                raise ValidationError(f"more than {bounds.payload_headers} values of {name!r}")
            values = item if isinstance(item, list) else [item]
            if not all(isinstance(v, str) for v in values):
                raise ValidationError(f"value of {name!r} must be a string or a list of strings")
            if any(len(v) > bounds.header_value_chars for v in values):
                raise ValidationError(f"value of {name!r} longer than {bounds.header_value_chars} characters")
            out[name] = ", ".join(values)
        return out


MAX_EPOCH_MS = 253402300799999  # 9999-12-31T23:59:59.999Z


class Timestamp(fields.Field):
    """ISO 8601 date-time, or Unix epoch seconds/milliseconds."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, datetime):  # YAML examples arrive already parsed
            return value if value.tzinfo else value.replace(tzinfo=UTC)
        if isinstance(value, int | float) and not isinstance(value, bool):
            if not 0 <= value <= MAX_EPOCH_MS:
                raise ValidationError(f"epoch time must be between 0 and {MAX_EPOCH_MS}")
            seconds = value / 1000 if value > 10**11 else value
            try:
                return datetime.fromtimestamp(seconds, UTC)
            except (OverflowError, OSError, ValueError) as exc:
                raise ValidationError("not a valid epoch time") from exc
        if isinstance(value, str) and len(value) <= 64:
            try:
                parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                pass
            else:
                return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        raise ValidationError("must be an ISO 8601 date-time or epoch seconds")


class WholeNumber(fields.Integer):
    """An integer, also when JSON spells it 400.0 (JSON Schema counts that as an integer);
    never a string or a boolean."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.make_error("invalid")
        return value  # what Integer would return, without its generic number conversion


class Strict(Schema):
    class Meta:
        unknown = RAISE


class SentRequestSchema(Strict):
    headers = Headers()
    body = JsonBody(allow_none=True)


MAX_CONTEXT_KEYS = 32


class ContextSchema(Schema):
    """What the ERP knows around the error. The keys below are typed; any other key is
    kept as sent (a rule may name it), within the size limits of a body."""

    environment = fields.String(validate=validate.OneOf(["sandbox", "production"]))
    direction = fields.String(validate=validate.OneOf(["outbound", "inbound"]))
    retry_count = WholeNumber(validate=validate.Range(0, 1_000_000))
    shop_id = fields.String(validate=validate.Length(max=128))
    occurred_at = Timestamp()
    sent_at = Timestamp()

    class Meta:
        unknown = INCLUDE

    @validates_schema(pass_original=True)
    def bounded_extras(self, data, original, **kwargs):
        if not isinstance(original, dict):
            return
        extras = {k: v for k, v in original.items() if k not in self.fields}
        if len(original) > MAX_CONTEXT_KEYS:
            raise ValidationError(f"at most {MAX_CONTEXT_KEYS} keys", "_schema")
        bounds = limits.LIMITS
        for key, value in extras.items():
            if not CONTEXT_KEY.match(key):
                raise ValidationError("not a valid context key (letters, digits, _ . -; at most 64)", key[:64])
            if isinstance(value, dict | list):
                problem = out_of_bounds(value, bounds.json_depth, bounds.string_chars)
            else:
                long = isinstance(value, str) and len(value) > bounds.string_chars
                problem = f"longer than {bounds.string_chars} characters" if long else None
            if problem:
                raise ValidationError(problem, key)


class DiagnoseRequestSchema(Schema):
    """A /diagnose payload. Unknown top-level fields are left out (and named in the
    answer's `warnings`, see ignored_fields); wrong types of known ones are refused."""

    class Meta:
        unknown = EXCLUDE

    id = fields.String(validate=validate.Length(max=128))
    status = WholeNumber(required=True, validate=validate.Range(0, 599))
    endpoint = fields.String(required=True, validate=validate.Length(1, 4096))
    method = fields.String(validate=validate.Regexp(r"^[A-Za-z]{1,16}$"))
    headers = Headers()
    body = JsonBody(allow_none=True)
    request = fields.Nested(SentRequestSchema)
    platform = fields.String(validate=validate.OneOf(PLATFORMS))
    region = fields.String(validate=validate.Regexp(r"^[A-Z]{2}$", error="must be an ISO 3166-1 alpha-2 code"))
    domain = fields.String(validate=validate.OneOf(DOMAINS))
    context = fields.Nested(ContextSchema)

    def ignored_fields(self, data: dict) -> list[str]:
        """The top-level fields of a payload that are not part of the contract."""
        return sorted(str(k)[:64] for k in data if k not in self.fields)[:20]

    @pre_load
    def upper_region(self, data, **kwargs):
        """Accept `us`; Amazon and TikTok write the United Kingdom as UK, ISO as GB."""
        if isinstance(data, dict) and isinstance(data.get("region"), str):
            region = data["region"].upper()
            data = {**data, "region": "GB" if region == "UK" else region}
        return data


class QueryParams(fields.Field):
    """Query parameter name -> value (a string, number or boolean), as an ERP builds them."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, dict):
            raise ValidationError("must be an object of parameter name: value")
        bounds = limits.LIMITS
        if len(value) > bounds.payload_headers:
            raise ValidationError(f"more than {bounds.payload_headers} parameters")
        for name, item in value.items():
            if len(name) > 256:
                raise ValidationError(f"{name[:64]!r}... is longer than 256 characters")
            if isinstance(item, dict | list):
                problem = out_of_bounds(item, bounds.json_depth, bounds.string_chars)
            elif isinstance(item, str | int | float | bool) or item is None:
                long = isinstance(item, str) and len(item) > bounds.header_value_chars
                problem = f"longer than {bounds.header_value_chars} characters" if long else None
            else:
                problem = "must be a string, number, boolean, array or object"
            if problem:
                raise ValidationError(f"value of {name[:64]!r}: {problem}")
        return value


class CheckRequestSchema(Strict):
    """A /check payload: the request an ERP is about to send (or sent)."""

    method = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z]{1,16}$"))
    endpoint = fields.String(required=True, validate=validate.Length(1, 4096))
    headers = Headers()
    query = QueryParams()
    body = JsonBody(allow_none=True)
    platform = fields.String(validate=validate.OneOf(PLATFORMS))
    region = fields.String(validate=validate.Regexp(r"^[A-Z]{2}$", error="must be an ISO 3166-1 alpha-2 code"))
    sent_at = Timestamp()

    upper_region = DiagnoseRequestSchema.upper_region

