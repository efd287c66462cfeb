"""Every size limit of the service, in one place (each set by a variable: service/settings.py).

A request past a limit gets a 4xx problem+json that names what is too large, never a
crash: 413 for a body (or an archive) too large, 431 for too many header fields, 422
(naming the field) for a payload field past its bound. The variables are listed in the
docs/operating.md ("Running it"); SECURITY.md says why each limit exists.

The entry points (app factory, gunicorn configuration, command line) apply the settings'
limits once per process. Code reads them through the module (`limits.LIMITS.json_depth`) at the moment it checks,
so a test can swap in a `dataclasses.replace(...)` of them.
"""

from dataclasses import dataclass

MiB = 1024 * 1024


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

    @property
    def gunicorn_header_fields(self) -> int:
        """gunicorn's own cap (its refusal is plain text): well above ours, so that the app
        answers the usual excess with a 431 problem+json; at most gunicorn's maximum."""
        return min(32768, max(4 * self.header_fields, self.header_fields + 100))


# The process's limits: the defaults until an entry point applies its settings (Settings.apply).
LIMITS = Limits()
