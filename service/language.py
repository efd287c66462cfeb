"""Which language to answer in: Simplified Chinese for any Chinese preference that
outranks English, else English (the two languages every rule is written in)."""

import re
from functools import lru_cache

from flask import request

# RFC 9110 12.4.2: a weight is 0 to 1 with at most three decimals; a part with any other is dropped
_QVALUE = re.compile(r"^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$")


def preferred_language() -> str:
    return _language_of(request.headers.get("Accept-Language", ""))


def ours(tag: str) -> str | None:
    """"zh-CN" or "en" for a language tag whose primary subtag is `zh` or `en` (`zh-TW`,
    `en_GB`), else None: `zha` is Zhuang, not Chinese."""
    primary = _primary(tag)
    return "zh-CN" if primary == "zh" else "en" if primary == "en" else None


def _primary(tag: str) -> str:
    return re.split(r"[-_]", tag.strip().lower(), maxsplit=1)[0]


def _ranges(header: str):
    """(primary subtag in lower case, weight) of each well-formed part, in the order written."""
    for part in header.split(","):
        tag, *params = part.split(";")
        tag = tag.strip().lower()
        if not tag:
            continue
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                value = value.strip()
                if not _QVALUE.match(value):
                    break
                quality = float(value)
        else:
            yield _primary(tag), quality


@lru_cache(maxsize=256)
def _language_of(header: str) -> str:
    """Callers send the same few headers again and again; parsing one costs more than a diagnosis
    step (measured), so each is parsed once.

    Each of our languages takes the weight of the ranges naming it (primary subtag `zh` or
    `en`, whatever follows), or else that of `*`, which stands for every language no other
    range names (RFC 4647 3.3.1); a weight of 0 refuses it. The heavier wins; between equal
    weights the one written first, and English when both are only `*`.
    """
    named: dict[str, tuple[float, int]] = {}  # language -> (weight, position) of its best range
    anything: tuple[float, int] | None = None
    for position, (primary, quality) in enumerate(_ranges(header)):
        key = (quality, -position)
        if primary == "*":
            anything = key if anything is None or key > anything else anything
        elif primary in ("zh", "en") and (primary not in named or key > named[primary]):
            named[primary] = key
    zh, en = named.get("zh", anything), named.get("en", anything)
    if zh is not None and zh[0] > 0 and (en is None or en[0] <= 0 or zh > en):
        return "zh-CN"
    return "en"
