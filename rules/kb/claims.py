"""Which key terms of a rule's answer its `source:` does not contain: a lint heuristic.

A rule's title and explanation tell users what the platform said and what it requires.
The checkable part of such a claim is its key terms:
- a quoted message of two words or more (split at placeholders and ellipses),
- an error code: five digits or more, or up to three capitals and three digits or more
  (36009004, E034, MD1000),
- a quantity with its unit (5 minutes, 30 secs, 100 SKUs, five requests).
Each must appear in the rule's `source:`, the curator's quote of what was read. Messages and
codes are compared as lower-case words (punctuation and digit grouping ignored); quantities
by value, with number words read as digits, units by their stem and durations in seconds, so
"2 hours" is found in a source that says "7200 seconds". A term that is missing is a claim
nobody quoted: quote it from the source, or drop it.

The heuristic cannot see a claim made in plain words ("is not a quota problem"); that is what
the fact-check record (docs/factcheck/) is for.
"""

import re

from ..model import Rule

PLACEHOLDER = re.compile(r"\{[\w-]+\}")
ELLIPSIS = re.compile(r"\.\.\.|…")
CODE = re.compile(r"(?<![\w.-])(?:\d{5,}|[A-Z]{1,3}\d{3,})(?![\w-])")
# Not "one": "one request" is prose.
NUMBER_WORDS = {word: n for n, word in enumerate(
    ("two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"), start=2)}
SECONDS = {"s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1, "min": 60, "mins": 60,
           "minute": 60, "minutes": 60, "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600,
           "hours": 3600, "day": 86400, "days": 86400}
COUNTED = ("requests?", "characters?", "items?", "products?", "SKUs?", "times", "[KMG]i?B",
           "months?", "years?")
QUANTITY = re.compile(
    r"\b(\d{1,3}(?:,\d{3})+|\d{1,4}(?:\.\d+)?|" + "|".join(NUMBER_WORDS) + r")[\s-]?("
    + "|".join(sorted(SECONDS, key=len, reverse=True)) + "|" + "|".join(COUNTED) + r")\b")
# Prose spells out these quantities; a source may write them with abbreviations.
CLAIM_UNITS = re.compile(r"^(?!s$|h$|hr|min$|mins$|sec)")


def words(text: str) -> str:
    """Lower-case words separated by one space, padded so that `f" {term} " in` matches whole words."""
    return " " + " ".join(re.findall(r"[^\W_]+", text.replace(",", "").lower())) + " "


def quantities(text: str, claims: bool = False) -> dict[tuple[float, str], str]:
    """(value, unit) -> as written; durations in seconds, other units by their stem."""
    found = {}
    for number, unit in QUANTITY.findall(text):
        if claims and not CLAIM_UNITS.match(unit):
            continue
        value = NUMBER_WORDS.get(number.lower()) or float(number.replace(",", ""))
        unit_l = unit.lower()  # units are matched as written: "408 Request" is no quantity
        key = (value * SECONDS[unit_l], "s") if unit_l in SECONDS else (value, unit_l.rstrip("s"))
        found.setdefault(key, f"{number} {unit}")
    return found


def key_terms(text: str) -> tuple[list[str], dict[tuple[float, str], str]]:
    """The quoted messages and codes of a text, and its quantities."""
    text = text.replace("“", '"').replace("”", '"')
    parts = text.split('"')
    quotes = [frag.strip() for q in parts[1::2] for frag in ELLIPSIS.split(PLACEHOLDER.sub("\0", q))
              for frag in frag.split("\0") if len(re.findall(r"[^\W_]+", frag)) >= 2]
    prose = PLACEHOLDER.sub(" ", " ".join(parts[0::2]))
    return quotes + CODE.findall(prose), quantities(PLACEHOLDER.sub(" ", text), claims=True)


def unsourced_terms(rule: Rule) -> list[str]:
    """Key terms of the rule's English title and explanation that its source does not contain."""
    text = rule.texts["en"]
    terms, claimed = key_terms(f"{text.title}\n{text.explanation}")
    source_words, source_quantities = words(rule.source), quantities(rule.source)
    missing = [t for t in terms if words(t).strip() and words(t) not in source_words]
    missing += [written for key, written in claimed.items() if key not in source_quantities]
    return list(dict.fromkeys(missing))
