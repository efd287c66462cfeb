"""Which language to answer in: Simplified Chinese for any Chinese preference that
outranks English, else English (the two languages every rule is written in)."""

from flask import request


def preferred_language() -> str:
    for lang, _quality in request.accept_languages:
        lang = lang.lower()
        if lang.startswith("zh"):
            return "zh-CN"
        if lang.startswith("en") or lang == "*":
            return "en"
    return "en"
