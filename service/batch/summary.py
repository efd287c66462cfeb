"""What a batch run found: counts and shares by cause, owner, rule, and by the dimensions
an ops board slices errors by (shop, region, endpoint, error code, day, retries).

Each worker fills one Summary per chunk; the driver merges them. Memory does not grow
with the number of rows, only with the number of distinct keys, and that is capped:
past CAP distinct (key, cause) pairs in one breakdown, or CAP distinct unmatched
messages, the rarest are dropped (the report then says the long tail is approximate).
"""

import copy
from collections import Counter
from dataclasses import dataclass

from rules.privacy import redact_text

DIMENSIONS = ("platform", "shop", "region", "endpoint", "code", "day", "retries")
NONE = "(none)"
RETRIED = "3+"  # the key of rows retried three times or more
CAP = 20_000


@dataclass(frozen=True)
class Share:
    key: str
    count: int
    share: float
    top: str = ""  # the most frequent cause among these rows
    top_count: int = 0


def _prune(counter: Counter, cap: int) -> bool:
    if len(counter) <= cap:
        return False
    keep = counter.most_common(cap // 2)
    counter.clear()
    counter.update(dict(keep))
    return True


def _ranked(counter: Counter) -> list[tuple[str, int]]:
    return sorted(counter.items(), key=lambda item: (-item[1], str(item[0])))


class Summary:
    def __init__(self):
        self.rows = 0  # diagnosed rows (rejected ones are counted apart)
        self.rejected = 0
        self.categories: Counter = Counter()
        self.owners: Counter = Counter()
        self.rules: Counter = Counter()
        self.rule_info: dict[str, tuple[str, str, str, str | None]] = {}  # id -> category, owner, title, doc
        self.unmatched: Counter = Counter()
        self.requests: Counter = Counter()  # (operation, field path, problem kind) -> rows whose request had it
        self.dims: dict[str, Counter] = {name: Counter() for name in DIMENSIONS}  # (key, category) -> n
        self.approximate: set[str] = set()
        self._causes: dict[tuple, int] = {}
        self._shop, self._endpoint, self._day, self._retries = (
            self.dims["shop"], self.dims["endpoint"], self.dims["day"], self.dims["retries"])

    # -- filling ------------------------------------------------------------------------

    def add(self, cause: tuple, shop: str, endpoint: str, day: str, retries: str) -> None:
        """Count one row. `cause` is what its answer says, the same for every row of that
        answer: (category, owner, rule_id, title, doc_url, unmatched message, platform,
        region, error code, request problem or None); rows are counted per cause and spread by finish()."""
        # dict.get, not Counter's +=: a key new to this chunk would cost a __missing__ call
        causes = self._causes
        causes[cause] = causes.get(cause, 0) + 1
        category = cause[0]
        for counter, key in ((self._shop, shop), (self._endpoint, endpoint), (self._day, day),
                             (self._retries, retries)):
            pair = (key, category)
            counter[pair] = counter.get(pair, 0) + 1

    def finish(self) -> "Summary":
        """Spread the rows counted per cause into the tables."""
        dims = self.dims
        for cause, n in self._causes.items():
            category, owner, rule_id, title, doc_url, unmatched, platform, region, code, problem = cause
            self.rows += n
            self.categories[category] += n
            self.owners[owner] += n
            if rule_id:
                self.rules[rule_id] += n
                self.rule_info.setdefault(rule_id, (category, owner, title, doc_url))
            else:
                self.unmatched[unmatched or NONE] += n
            dims["platform"][(platform, category)] += n
            dims["region"][(region, category)] += n
            dims["code"][(code, category)] += n
            if problem:
                self.requests[problem] += n
        self._causes.clear()
        return self

    def merge(self, other: "Summary") -> None:
        self.finish()
        other.finish()
        self.rows += other.rows
        self.rejected += other.rejected
        self.categories.update(other.categories)
        self.owners.update(other.owners)
        self.rules.update(other.rules)
        for rule_id, info in other.rule_info.items():
            self.rule_info.setdefault(rule_id, info)
        self.unmatched.update(other.unmatched)
        if _prune(self.unmatched, CAP):
            self.approximate.add("unmatched")
        self.requests.update(other.requests)
        if _prune(self.requests, CAP):
            self.approximate.add("requests")
        for name, counter in self.dims.items():
            counter.update(other.dims[name])
            if _prune(counter, CAP):
                self.approximate.add(name)
        self.approximate |= other.approximate

    def masked(self) -> "Summary":
        """A copy fit to show: every key, rule title and unmatched message masked as logs are
        (an e-mail in a path, a street address in a message). Keys that mask alike merge;
        the masking runs once per distinct value, at most CAP of each."""
        out = copy.copy(self.finish())
        out.unmatched = Counter()
        for message, n in self.unmatched.items():
            out.unmatched[redact_text(message)] += n
        out.rule_info = {rule: (c, o, redact_text(title), doc) for rule, (c, o, title, doc) in self.rule_info.items()}
        out.dims = {}
        for name, counter in self.dims.items():
            masked: Counter = Counter()
            for (key, category), n in counter.items():
                masked[(redact_text(key) if isinstance(key, str) and key != NONE else key, category)] += n
            out.dims[name] = masked
        return out

    # -- reading ------------------------------------------------------------------------

    def share(self, count: int) -> float:
        return count / self.rows if self.rows else 0.0

    def shares(self, counter: Counter, top: int | None = None) -> list[Share]:
        ranked = _ranked(counter)
        return [Share(str(key), n, self.share(n)) for key, n in ranked[:top]]

    def by_category(self) -> list[Share]:
        return self.shares(self.categories)

    def by_owner(self) -> list[Share]:
        return self.shares(self.owners)

    def top_rules(self, top: int = 10) -> list[tuple[Share, tuple]]:
        return [(s, self.rule_info[s.key]) for s in self.shares(self.rules, top)]

    def top_unmatched(self, top: int = 10) -> list[Share]:
        return self.shares(self.unmatched, top)

    def top_request_problems(self, top: int = 10) -> list[tuple[tuple, int, float]]:
        """The most frequent missing or mistyped fields per operation: ((operation, path, kind), rows, share)."""
        return [(key, n, self.share(n)) for key, n in _ranked(self.requests)[:top]]

    def breakdown(self, name: str, top: int | None = 10) -> list[Share]:
        """Rows per key of one dimension, with the cause most frequent among them."""
        totals: Counter = Counter()
        best: dict[str, tuple[int, str]] = {}
        for (key, category), n in self.dims[name].items():
            totals[key] += n
            if key not in best or n > best[key][0] or (n == best[key][0] and category < best[key][1]):
                best[key] = (n, category)
        if name == "day":  # a time series reads best in order: the last `top` days
            ranked = sorted(totals.items())
            ranked = ranked if top is None else ranked[-top:]
        else:
            ranked = _ranked(totals)[:top]
        return [Share(key, n, self.share(n), best[key][1], best[key][0]) for key, n in ranked]

    def retried(self) -> tuple[int, list[Share]]:
        """Rows retried three times or more, and their causes (shares of those rows)."""
        causes = Counter({category: n for (key, category), n in self.dims["retries"].items() if key == RETRIED})
        total = sum(causes.values())
        return total, [Share(c, n, n / total) for c, n in _ranked(causes)] if total else []
