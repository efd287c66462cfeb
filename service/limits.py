"""Every size limit of the service, in one place, each read from one environment variable.

A request past a limit gets a 4xx problem+json that names what is too large, never a
crash: 413 for a body (or an archive) too large, 431 for too many header fields, 422
(naming the field) for a payload field past its bound. The variables are listed in the
docs/operating.md ("Running it"); SECURITY.md says why each limit exists.

The values are read once per process, at import (each gunicorn worker imports the app).
Code reads them through the module (`limits.LIMITS.json_depth`) at the moment it checks,
so a test can swap in a `dataclasses.replace(...)` of them.
"""

from dataclasses import dataclass, replace
from os import environ

MiB = 1024 * 1024


def _positive(name: str, raw: str | None, default: int) -> int:
    """The value `raw` of variable `name`, or `default` when it is unset or empty."""
    raw = (raw or "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, not {raw!r}") from None
    if value < 1:
        raise ValueError(f"{name} must be at least 1, not {value}")
    return value


@dataclass(frozen=True)
class Limits:
    body_bytes: int = MiB                 # a request body (POST /diagnose, admin JSON)
    header_fields: int = 100              # HTTP header fields of one request
    json_depth: int = 32                  # nesting of a payload's body / request.body
    string_chars: int = 256 * 1024        # any string in a payload's body / request.body
    payload_headers: int = 100            # entries of a payload's headers / request.headers map
    header_value_chars: int = 8192        # one value in those maps
    batch_items: int = 1000               # items of POST /diagnose/batch
    batch_bytes: int = 8 * MiB            # body of POST /diagnose/batch
    import_bytes: int = 4 * MiB           # an archive posted to /admin/v1/import, as sent
    import_unpacked_bytes: int = 20 * MiB  # the same archive's YAML files once unpacked
    import_files: int = 500               # YAML files in that archive

    @classmethod
    def from_env(cls) -> "Limits":
        read = {  # field: (variable, value), each variable named where it is read (tests/test_deploy.py)
            "body_bytes": ("OPSDIAG_MAX_BODY_BYTES", environ.get("OPSDIAG_MAX_BODY_BYTES")),
            "header_fields": ("OPSDIAG_MAX_HEADER_FIELDS", environ.get("OPSDIAG_MAX_HEADER_FIELDS")),
            "json_depth": ("OPSDIAG_MAX_JSON_DEPTH", environ.get("OPSDIAG_MAX_JSON_DEPTH")),
            "string_chars": ("OPSDIAG_MAX_STRING_CHARS", environ.get("OPSDIAG_MAX_STRING_CHARS")),
            "payload_headers": ("OPSDIAG_MAX_PAYLOAD_HEADERS", environ.get("OPSDIAG_MAX_PAYLOAD_HEADERS")),
            "batch_bytes": ("OPSDIAG_MAX_BATCH_BYTES", environ.get("OPSDIAG_MAX_BATCH_BYTES")),
            "import_bytes": ("OPSDIAG_MAX_IMPORT_BYTES", environ.get("OPSDIAG_MAX_IMPORT_BYTES")),
            "import_unpacked_bytes": (
                "OPSDIAG_MAX_IMPORT_UNPACKED_BYTES", environ.get("OPSDIAG_MAX_IMPORT_UNPACKED_BYTES")),
        }
        default = cls()
        return replace(default, **{field: _positive(name, value, getattr(default, field))
                                   for field, (name, value) in read.items()})

    @property
    def gunicorn_header_fields(self) -> int:
        """gunicorn's own cap (its refusal is plain text): well above ours, so that the app
        answers the usual excess with a 431 problem+json; at most gunicorn's maximum."""
        return min(32768, max(4 * self.header_fields, self.header_fields + 100))


LIMITS = Limits.from_env()
