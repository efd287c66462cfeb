"""Flask's JSON provider with orjson encoding what the service answers.

Every answer is JSON. Encoding a /diagnose answer (about 1.7 KB) with the standard
library took some 35 µs of a request in a running worker; orjson takes a fraction of
that (docs/performance.md). The output stays Flask's: keys in insertion order (or
sorted, when the provider says so), UTF-8 rather than \\u escapes, and Flask's own
conversions (dates as HTTP dates, decimals, UUIDs, dataclasses) through the same
`default`. orjson writes compact JSON, which is what Flask asks for when it builds a
response; other calls (indented, spaced) and what orjson refuses (integers beyond 64
bits, lone surrogates) go to the standard library as before. One difference: NaN and
infinities become null, where the standard library would write NaN, which is not JSON.
"""

from typing import Any

import orjson
from flask.json.provider import DefaultJSONProvider

_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
_COMPACT = {"separators": (",", ":")}  # what DefaultJSONProvider.response passes out of debug mode


class OrjsonProvider(DefaultJSONProvider):
    ensure_ascii = False
    sort_keys = False

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        if kwargs == _COMPACT and not self.ensure_ascii:
            option = _OPTIONS | (orjson.OPT_SORT_KEYS if self.sort_keys else 0)
            try:
                return orjson.dumps(obj, default=self.default, option=option).decode()
            except orjson.JSONEncodeError:
                pass
        return super().dumps(obj, **kwargs)
