"""Which language to answer in: Simplified Chinese for any Chinese preference that
outranks English, else English (the two languages every rule is written in)."""

from functools import lru_cache

from flask import request
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header


def preferred_language() -> str:
    return _language_of(request.headers.get("Accept-Language", ""))


@lru_cache(maxsize=256)
def _language_of(header: str) -> str:
    """Callers send the same few headers again and again; parsing one costs more than a diagnosis
    step (measured), so each is parsed once."""
    for lang, _quality in parse_accept_header(header, LanguageAccept):
        lang = lang.lower()
        if lang.startswith("zh"):
            return "zh-CN"
        if lang.startswith("en") or lang == "*":
            return "en"
    return "en"
