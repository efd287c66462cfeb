"""Text from outside, made safe to keep and to answer in UTF-8.

JSON may spell an unpaired surrogate (`"\\ud800"`: a log cut in the middle of an emoji,
or a probe), and Python's decoder turns it into a str that no UTF-8 encoder accepts: the
answer, the gap store and the batch summary then fail far from where the text came in.
Every JSON parse of outside text (the HTTP body, a string body holding JSON, a log line,
a HAR file, a header cell) goes through `loads`, which puts U+FFFD in place of each
unpaired surrogate, so nothing downstream ever sees one.
"""

import json
import re
from typing import Any

_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def loads(text: str, strict: bool = True) -> Any:
    """json.loads, with unpaired surrogates replaced (raises what json.loads raises); strict=False
    admits raw control characters inside strings, as logs that wrap a long body leave them."""
    value = json.loads(text, strict=strict)
    if _SURROGATE_ESCAPE.search(text) or _SURROGATE.search(text):
        value = without_lone_surrogates(value)
    return value


def clean(text: str) -> str:
    """The string with each unpaired surrogate as U+FFFD (pairs are joined as UTF-16 does)."""
    if not _SURROGATE.search(text):
        return text
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def without_lone_surrogates(value: Any) -> Any:
    """The same JSON value with every string (keys too) cleaned. Iterative: it may be deep."""
    if isinstance(value, str):
        return clean(value)
    root = [value]
    stack: list = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            items = list(node.items())
            node.clear()
            node.update((clean(k), clean(v) if isinstance(v, str) else v) for k, v in items)
            stack.extend(v for v in node.values() if isinstance(v, dict | list))
        else:
            for i, item in enumerate(node):
                if isinstance(item, str):
                    node[i] = clean(item)
                elif isinstance(item, dict | list):
                    stack.append(item)
    return root[0]
