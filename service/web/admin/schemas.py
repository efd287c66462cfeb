"""Request and response shapes of the admin API."""

from marshmallow import Schema, fields, validate

from rules.kb.loader import FILE_NAME, FILE_NAME_RULE

from ...schemas import DiagnoseRequestSchema, Strict, Timestamp
from ..keys import ALL_ROLES

FILE = validate.Regexp(FILE_NAME, error=FILE_NAME_RULE)


class RuleQuery(Strict):
    file = fields.String(validate=FILE)


class RuleListQuery(Strict):
    platform = fields.String()
    region = fields.String()
    domain = fields.String()
    status = fields.String(validate=validate.OneOf(["published", "new", "modified", "deleted"]))
    q = fields.String(validate=validate.Length(max=200))


class RuleTestRequest(Strict):
    payload = fields.Nested(DiagnoseRequestSchema, required=True)
    lang = fields.String(load_default="en", validate=validate.OneOf(["en", "zh-CN"]))
    rule = fields.Dict()  # an unsaved version of the rule to try instead of the draft


class PublishRequest(Strict):
    note = fields.String(load_default="", validate=validate.Length(max=500))


class AuditQuery(Strict):
    actor = fields.String(validate=validate.Length(max=64))
    rule_id = fields.String(validate=validate.Length(max=200))
    action = fields.String(validate=validate.OneOf(
        ["create", "update", "delete", "publish", "rollback", "import", "key_create", "key_revoke"]))
    since = Timestamp()
    until = Timestamp()
    limit = fields.Integer(load_default=100, validate=validate.Range(1, 1000))
    before_id = fields.Integer(validate=validate.Range(1, 2**31 - 1))


class KeyCreateRequest(Strict):
    role = fields.String(required=True, validate=validate.OneOf(ALL_ROLES))
    label = fields.String(load_default="", validate=validate.Length(max=200))


class ExportQuery(Strict):
    version = fields.Integer(validate=validate.Range(1, 2**31 - 1))


class KeyOut(Schema):
    id = fields.String()
    role = fields.String()
    label = fields.String()
    created_at = fields.DateTime()
    created_by = fields.String()
    revoked_at = fields.DateTime(allow_none=True)


class VersionOut(Schema):
    id = fields.Integer()
    created_at = fields.DateTime()
    author = fields.String()
    note = fields.String()
    checksum = fields.String()
    rule_count = fields.Integer()


class AuditOut(Schema):
    id = fields.Integer()
    at = fields.DateTime()
    actor = fields.String()
    action = fields.String()
    rule_id = fields.String(allow_none=True)
    version_id = fields.Integer(allow_none=True)
    before = fields.Raw(allow_none=True)
    after = fields.Raw(allow_none=True)
    address = fields.String()
