"""The ops errors board's data: every row as a few small numbers, every error shape once.

A log of a million rows repeats a few hundred error shapes (the same cause of the same
code, status and endpoint, ids folded) across shops, hours and retries. So the board
keeps, per row, only what a filter reads that the shape does not fix: its shape, shop,
region, minute and retry count, as packed arrays (10 bytes a row, base64 in the report);
per shape, its diagnosis (title, explanation, repair steps, evidence, doc link); and the
rows themselves, masked, only for the first ALL_LINES lines of the input and for
SAMPLES rows of each shape. Counts and the cause chart are therefore exact for any
filter; the row list, the detail view and the exports hold the rows kept in full, and
the board says how many those are. A shop whose region no column gives takes the region
its other rows' endpoints reveal (the most frequent one).

Each worker fills a BoardPart per chunk (masking the rows it keeps, in parallel); the
driver merges them in input order into one Board, whose `data()` is what board.js reads.
"""

import base64
import json
import re
import sys
from array import array
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from rules.privacy import redact, redact_text

from .summary import NONE

ALL_LINES = 1_000  # rows of the input's first lines kept whole
SAMPLES = 5  # rows kept whole per shape (and per worker process) beyond those
NO_TIME, NO_RETRIES = 0, 255
MAX_IDS = 65_535  # shapes and shops per board (uint16); past that, OTHER
MAX_REGIONS = 255
OTHER = "(other)"
REQUEST_COLUMNS = frozenset({"method", "api_endpoint"})
RESPONSE_COLUMNS = frozenset({"http_status", "error_code", "error_message", "response_headers", "response_body"})
JSON_REQUEST, JSON_RESPONSE = ("method", "endpoint", "request"), ("status", "headers", "body")
# values the schema checked (numbers, times, codes of a closed list): nothing to mask in them
PLAIN_COLUMNS = frozenset({"http_status", "retry_count", "first_occurred_at", "platform", "region", "method"})
PLAIN_FIELDS = frozenset({"line", "status", "method", "platform", "region", "domain", "occurred_at", "retry_count"})
NUMBER_SEGMENT = re.compile(r"^\d{4,}$")
TIKTOK_VERSION = re.compile(r"^20[2-3]\d(?:0[1-9]|1[0-2])$")  # /order/202309/orders: an API version, not an id


def shape_label(label: str) -> str:
    """An endpoint label with number segments folded too (/sync/304306 -> /sync/{id})."""
    return "/".join("{id}" if NUMBER_SEGMENT.match(s) and not TIKTOK_VERSION.match(s) else s
                    for s in label.split("/"))


def minute(value: Any) -> int:
    """Minutes since 1970 (UTC; a time without zone is taken as UTC), NO_TIME without one."""
    if not isinstance(value, datetime):
        return NO_TIME
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return max(1, int(value.timestamp() // 60))


def retries(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        return NO_RETRIES
    return min(value, NO_RETRIES - 1)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)


def columns_of(layout, projection: tuple[str, ...]) -> tuple[list[str], list[str], frozenset[int]]:
    """The columns a kept row has, each one's part (request, response or context), and the
    positions of those with nothing to mask."""
    if layout is None:
        names = [*projection, "headers", "body", "request"]
        roles = ["request" if n in JSON_REQUEST else "response" if n in JSON_RESPONSE
                 or n in ("error_code", "error_message") else "context" for n in names]
        return names, roles, frozenset(i for i, n in enumerate(names) if n in PLAIN_FIELDS)
    canonical = {position: name for name, position in layout.index.items()}
    roles = []
    for position in range(layout.width):
        name = canonical.get(position)
        roles.append("request" if name in REQUEST_COLUMNS else "response" if name in RESPONSE_COLUMNS else "context")
    plain = frozenset(p for p, name in canonical.items() if name in PLAIN_COLUMNS)
    return list(layout.header), roles, plain


class BoardPart:
    """One chunk's rows: local ids of shapes and shops, and the rows kept whole (masked).
    `kept_per_shape` is the worker's, across its chunks, so that it masks no more rows
    than the driver keeps."""

    def __init__(self, kept_per_shape: Counter, plain: frozenset[int] = frozenset()):
        self.shapes: list[tuple] = []  # (key, info) by local id
        self._shape_ids: dict[tuple, int] = {}
        self.shops: list[str] = []
        self._shop_ids: dict[str, int] = {}
        self.shape, self.shop, self.region, self.minute, self.retries = [], [], [], [], []
        self.kept: list[tuple[int, int, list[str]]] = []  # (row in chunk, line, masked cells)
        self._kept_per_shape, self._plain = kept_per_shape, plain
        self._keys: list[tuple] = []  # the shape key of each local id
        self._line = 0

    def add(self, line: int, answer, label: str, shop: str, occurred, retry) -> bool:
        """Count one diagnosed row; True when it is to be kept whole (then call keep)."""
        key = (id(answer), label)
        local = self._shape_ids.get(key)
        if local is None:
            local = self._shape_ids[key] = len(self.shapes)
            label = shape_label(label)
            self.shapes.append((answer, label))
            self._keys.append(shape_key(answer, label))
        shop_id = self._shop_ids.get(shop)
        if shop_id is None:
            shop_id = self._shop_ids[shop] = len(self.shops)
            self.shops.append(shop)
        self.shape.append(local)
        self.shop.append(shop_id)
        self.region.append(answer.region or NONE)
        self.minute.append(minute(occurred))
        self.retries.append(retries(retry))
        shape = self._keys[local]
        if line <= ALL_LINES or self._kept_per_shape[shape] < SAMPLES:
            self._kept_per_shape[shape] += 1
            self._line = line
            return True
        return False

    def keep(self, cells: list) -> None:
        """The last row added, its columns masked (rules/privacy.py)."""
        plain = self._plain
        self.kept.append((len(self.shape) - 1, self._line,
                          [c if not c or i in plain else redact_text(c) for i, c in enumerate(map(_cell, cells))]))

    def finish(self) -> "BoardPart":
        """Answers become plain shape entries (keys comparable across workers)."""
        self.shapes = [(key, shape_info(answer, label)) for key, (answer, label) in zip(self._keys, self.shapes,
                                                                                          strict=True)]
        self._shape_ids.clear()
        return self


def shape_key(answer, label: str) -> tuple:
    """An error shape: one cause of one code, status, message and endpoint (ids folded)."""
    return answer.category, answer.rule_id, answer.platform, answer.code, answer.status, label, answer.shape_message


def shape_info(answer, label: str) -> dict:
    detail = answer.detail
    return {"category": answer.category, "owner": answer.owner, "rule_id": answer.rule_id, "title": answer.title,
            "explanation": detail["explanation"], "steps": detail["repair_steps"], "doc_url": answer.doc_url,
            "evidence": detail["evidence"], "platform": answer.platform, "code": answer.code or "",
            "status": answer.status, "endpoint": label, "message": answer.shape_message or "",
            "domain": answer.domain}


class Board:
    """The merged board of a run, in input order."""

    def __init__(self):
        self.shapes: list[dict] = []
        self._shape_ids: dict[tuple, int] = {}
        self.shops: list[str] = []
        self._shop_ids: dict[str, int] = {}
        self.regions: list[str] = [NONE]
        self._region_ids: dict[str, int] = {NONE: 0}
        self.shape, self.shop = array("H"), array("H")
        self.region, self.retries = array("B"), array("B")
        self.minute = array("I")
        self.kept: list[dict] = []
        self._kept_per_shape: Counter = Counter()
        self.columns: list[str] = []
        self.roles: list[str] = []
        self.plain: frozenset[int] = frozenset()
        self.approximate = False

    @property
    def rows(self) -> int:
        return len(self.shape)

    def _id(self, ids: dict, names: list, key, value, cap: int) -> int:
        found = ids.get(key)
        if found is None:
            if len(names) >= cap:
                self.approximate = True
                return self._id(ids, names, OTHER, OTHER if isinstance(value, str) else {**value, "other": True},
                                cap + 1)
            found = ids[key] = len(names)
            names.append(value)
        return found

    def merge(self, part: BoardPart) -> None:
        base = self.rows
        shape_map = [self._id(self._shape_ids, self.shapes, key, info, MAX_IDS) for key, info in part.shapes]
        shop_map = [self._id(self._shop_ids, self.shops, name, redact_text(name) if name != NONE else name, MAX_IDS)
                    for name in part.shops]
        self.shape.extend(shape_map[i] for i in part.shape)
        self.shop.extend(shop_map[i] for i in part.shop)
        self.region.extend(self._id(self._region_ids, self.regions, r, r, MAX_REGIONS) for r in part.region)
        self.minute.extend(part.minute)
        self.retries.extend(part.retries)
        for row, line, cells in part.kept:
            shape = shape_map[part.shape[row]]
            if line <= ALL_LINES or self._kept_per_shape[shape] < SAMPLES:
                self._kept_per_shape[shape] += 1
                self.kept.append({"row": base + row, "line": line, "cells": cells})

    def infer_regions(self) -> None:
        """A row without a region takes its shop's most frequent region, where one is known."""
        seen: dict[int, Counter] = {}
        for shop, region in zip(self.shop, self.region, strict=True):
            if region:
                seen.setdefault(shop, Counter())[region] += 1
        best = {shop: counts.most_common(1)[0][0] for shop, counts in seen.items()}
        if not best:
            return
        region = self.region
        for row, shop in enumerate(self.shop):
            if not region[row] and shop in best and self.shops[shop] != NONE:
                region[row] = best[shop]

    def data(self, lang: str) -> dict:
        """What board.js reads (the report embeds it, the console fetches it)."""
        self.infer_regions()
        packed = {}
        for name in ("shape", "shop", "region", "minute", "retries"):
            values = array(getattr(self, name).typecode, getattr(self, name))
            if sys.byteorder == "big":
                values.byteswap()  # typed arrays read little-endian here
            packed[name] = base64.b64encode(values.tobytes()).decode("ascii")
        return {"rows": self.rows, "kept": len(self.kept), "all_kept": len(self.kept) == self.rows,
                "approximate": self.approximate, "lang": lang, "columns": self.columns, "roles": self.roles,
                "shapes": [_masked(info) for info in self.shapes],
                "shops": self.shops, "regions": self.regions, "packed": packed, "kept_rows": self.kept}


def _masked(info: dict) -> dict:
    """A shape as shown: a path may hold an e-mail, its texts may quote the message (a name,
    an address), so all are masked."""
    return {**info, "title": redact_text(info["title"]), "explanation": redact_text(info["explanation"]),
            "endpoint": redact_text(info["endpoint"]), "message": redact_text(info["message"]),
            "steps": [redact_text(step) for step in info["steps"]], "evidence": redact(info["evidence"])}


def embed(data: dict) -> str:
    """JSON fit for a <script type="application/json"> element: no `</` can close it."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")
