"""Rule texts with placeholders, rendered so that a value the error did not carry is left
out of the sentence rather than shown as a stand-in ("include the request_id ?, ...").

A template is parsed once; when every value it names is there (the usual case) it is
one `str.format_map`. Otherwise each missing placeholder goes with the space before it,
and so do quotes or brackets left empty and a colon or comma left with nothing after
it; the rest is filled in as usual. lint.py renders a rule's texts the same way to
show a curator how a sentence reads without a value.
"""

import re
import string
from typing import Any

PUNCT = r"[\s,:;，：；、]*"
EMPTY_PAIRS = re.compile(rf"\s*(?:''|\"\"|“”|‘’|「」|『』|\({PUNCT}\)|（{PUNCT}）|\[{PUNCT}\]|【{PUNCT}】)")
# what a left-out value can leave that no tidying fixes: two marks with nothing between
GAP_MARKS = re.compile(r"[(（:：,，;；]\s*[)）.。,，;；:：!！?？]|[:：]\s*$|^\s*[,，.。:：]")
# "refused it: {message}." or "(HTTP {status}, {code})" without the last value
LONE_MARK = re.compile(r"\s*[:：,，;；、]\s*(?=[.。;；)）]|$)")
SPACE_BEFORE_MARK = re.compile(r"[ \t]+(?=[,.;:!?，。；：！？、）)])")
SPACES = re.compile(r"[ \t]{2,}")


def names(text: str) -> tuple[str, ...]:
    """The placeholders of a template, in order, each once."""
    found = [name for _, name, _, _ in string.Formatter().parse(text) if name]
    return tuple(dict.fromkeys(found))


def missing(value: Any) -> bool:
    return value is None or value == ""


def without(text: str, absent: set[str] | frozenset[str]) -> str:
    """`text` with the placeholders in `absent` taken out, as a template still."""
    for name in absent:
        text = re.sub(r"[ \t]*(?<!\{)\{" + re.escape(name) + r"(?:[!:][^{}]*)?\}", "", text)
    for _ in range(2):  # ("{message}") -> ("") -> ()
        text = EMPTY_PAIRS.sub("", LONE_MARK.sub("", text))
    text = SPACE_BEFORE_MARK.sub("", text)
    return SPACES.sub(" ", text).strip()


class Sentence:
    """A template bound once: `sentence(values)` is the text a person reads."""

    __slots__ = ("text", "names", "_fill")

    def __init__(self, text: str):
        self.text = text
        self.names = names(text)
        self._fill = text.format_map

    def __call__(self, values: dict[str, Any]) -> str:
        absent = {n for n in self.names if missing(values.get(n))}
        if not absent:
            return self._fill(values)
        return without(self.text, absent).format_map(values)


def template(text: str):
    """The text itself when it names nothing, else its Sentence."""
    return Sentence(text) if "{" in text or "}" in text else text
