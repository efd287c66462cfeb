"""Uncovered errors: what no rule explains, grouped into shapes, with a draft rule for each.

The service hands over the errors it answered `matched: false` (`Unmatched`, in memory
only); `record` masks them (rules/privacy.py) and stores, per *shape*, a count and the
latest few samples. `top_gaps` mines the stored shapes into templates with Drain3 and
returns the most frequent, each with one masked example and a draft rule.

Where mining happens, and why:

- **At flush, a cheap shape.** Each message is masked for personal data, then Drain3's
  `LogMasker` turns numbers, long hex ids and SKU-like ids into `<NUM>` and `<ID>`. The
  shape key is (platform, status, code, that text): "Invalid parameter: sku 12345" and
  "... sku 67890" are one row whose count grows. The tables stay small (a row per shape,
  `SAMPLES_PER_SHAPE` samples each, `MAX_SHAPES` shapes) without any state shared
  between workers: every gunicorn worker upserts the same key.
- **At read time, the templates.** Drain3's clustering (`drain3.drain.Drain`) runs over
  the stored shapes of each (platform, status, code), weighted by their counts, when
  someone asks. Mining at flush would need one Drain tree per worker, each seeing part
  of the traffic in its own order, so workers would disagree on templates and restarts
  would forget them; Drain3's own persistence (Redis, Kafka, files) does not fit a
  SQL store shared by processes. Mining a few thousand short shapes takes milliseconds,
  is the same on every worker, and always reflects everything stored. The same read
  also drops shapes that the knowledge base now explains (the caller says how to tell),
  so a gap disappears as soon as a rule for it is published.

Only masked text is ever stored: the shape, the message and the example payload.
"""

import hashlib
import json
import re
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import lru_cache

from drain3.drain import Drain
from sqlalchemy import Column, Text, bindparam, func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, col, delete, select

from .. import jsontext
from ..model import DOMAINS, PLATFORMS
from ..privacy import redact_payload, redact_text, shape_text
from .loader import dump_yaml

SAMPLES_PER_SHAPE = 3
MAX_SHAPES = 10_000
# A shape's samples are refreshed at most this often per process: counting is one UPDATE,
# while a sample costs masking the payload, an INSERT and a prune, and a flush of many
# shapes held the GIL long enough to show in /diagnose's p99 (bench/RESULTS.md).
SAMPLE_EVERY_SECONDS = 60.0
# ...and a flush writes at most this many samples (the others stay due): masking a payload
# is Python work that holds the GIL, and 300 new shapes at once stalled requests for ~80 ms.
SAMPLES_PER_FLUSH = 25
_sampled_at: dict[tuple[str, str], float] = {}  # (store url, shape key) -> when
MAX_SAMPLE_BYTES = 16 * 1024
MAX_MESSAGE = 2000
DRAIN_SIM_TH = 0.4
DRAIN_DEPTH = 4
PARAM = "<*>"



class GapShape(SQLModel, table=True):
    """One shape of unmatched error: how often, since and until when."""

    __tablename__ = "gap_shape"

    key: str = Field(primary_key=True, max_length=64)
    platform: str
    status: int
    code: str | None = None
    domain: str = "other"
    shape: str = Field(sa_column=Column(Text, nullable=False))  # masked, numbers and ids as <NUM>, <ID>
    count: int = 0
    first_seen: datetime = Field(default_factory=lambda: datetime.now(UTC))
    last_seen: datetime = Field(default_factory=lambda: datetime.now(UTC), index=True)


class GapSample(SQLModel, table=True):
    """The latest occurrences of a shape (at most SAMPLES_PER_SHAPE), masked."""

    __tablename__ = "gap_sample"

    id: int | None = Field(default=None, primary_key=True)
    shape_key: str = Field(index=True, max_length=64)
    seen_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    message: str = Field(default="", sa_column=Column(Text, nullable=False))
    payload: str = Field(sa_column=Column(Text, nullable=False))  # the /diagnose payload, masked, as JSON


@dataclass(frozen=True)
class Unmatched:
    """An error no rule matched, as the service saw it: raw, kept in memory only."""

    platform: str
    region: str | None
    domain: str
    status: int
    code: str | None
    message: str | None
    payload: dict | None = None  # None when too large to keep: an example is rebuilt from the rest
    endpoint: str = ""
    method: str | None = None
    seen_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    count: int = 1  # occurrences of this very error since first_seen (the recorder merges repeats)
    first_seen: datetime | None = None


@dataclass(frozen=True)
class Gap:
    template: str
    count: int
    platform: str
    status: int
    code: str | None
    domain: str
    first_seen: datetime
    last_seen: datetime
    example: dict
    draft_rule: str

    def as_json(self) -> dict:
        """The admin API's contract (openapi.yaml, Gap)."""
        return {"template": self.template, "count": self.count, "platform": self.platform,
                "status": self.status, "code": self.code, "last_seen": _iso(self.last_seen),
                "example": self.example, "draft_rule": self.draft_rule}


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:  # SQLite gives naive datetimes back; they were stored as UTC
        moment = moment.replace(tzinfo=UTC)
    return moment.isoformat()


# ----------------------------------------------------------------- recording


def _regions(item: Unmatched) -> tuple[str, ...]:
    return ("CN", item.region) if item.region else ("CN",)


def shape_key(platform: str, status: int, code: str | None, shape: str) -> str:
    text = "\x1f".join((platform, str(status), code or "", shape))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def example_payload(item: Unmatched) -> dict:
    """The masked /diagnose payload of an occurrence, small enough to keep."""
    if item.payload is not None:
        masked = redact_payload(item.payload)
        if len(json.dumps(masked, ensure_ascii=False, default=str)) <= MAX_SAMPLE_BYTES:
            return masked
    regions = _regions(item)
    body: dict = {}
    if item.code is not None:
        body["code"] = item.code
    if item.message:
        body["message"] = redact_text(item.message[:MAX_MESSAGE], regions)
    example = {"status": item.status, "endpoint": redact_text(item.endpoint[:4096], regions) or "/",
               "platform": item.platform}
    if item.method:
        example["method"] = item.method
    if item.region:
        example["region"] = item.region
    example["body"] = body or None
    return example


@dataclass
class _Batch:
    platform: str
    status: int
    code: str | None
    domain: str
    shape: str
    count: int = 0
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    latest: Unmatched | None = None
    message: str = ""


@lru_cache(maxsize=8192)
def _shape_of(platform: str, status: int, code: str | None, message: str | None,
              regions: tuple[str, ...]) -> tuple[str, str, str]:
    """(shape key, masked message, shape): the same error keeps coming, masking it once is enough."""
    masked = redact_text((message or "")[:MAX_MESSAGE], regions)
    shape = shape_text(masked)
    return shape_key(platform, status, code, shape), masked, shape


# Masking a new shape (drain3, the redaction) is pure Python: a flush of ~330 new shapes
# took 31 ms in one piece, which was the /diagnose p99.9 at one connection. It yields
# every few items instead.
YIELD_EVERY = 2
YIELD_ROWS = 16  # rows of one bump statement between two yields


def record(store, items: Iterable[Unmatched]) -> int:
    """Mask and store a batch of occurrences; returns how many were counted.

    A flush is one transaction of a few set-wise statements whatever the number of
    shapes (bump the known ones, insert the new ones, add the samples that are due,
    prune): per-shape ORM statements held the GIL long enough to show in /diagnose's
    latency. Two workers inserting the same new shape at once: the loser retries, and
    its insert becomes a bump.
    """
    batches: dict[str, _Batch] = {}
    total = 0
    for n, item in enumerate(items, start=1):
        if n % YIELD_EVERY == 0:
            time.sleep(0)  # lets the serving thread take the GIL: a flush never holds it for long
        code = None if item.code is None else str(item.code)[:128]
        platform = item.platform if item.platform in PLATFORMS else "generic"
        key, message, shape = _shape_of(platform, item.status, code, item.message, _regions(item))
        batch = batches.get(key)
        if batch is None:
            domain = item.domain if item.domain in DOMAINS else "other"
            batch = batches[key] = _Batch(platform, item.status, code, domain, shape)
        batch.count += item.count
        total += item.count
        first = item.first_seen or item.seen_at
        batch.first_seen = min(batch.first_seen or first, first)
        if batch.last_seen is None or item.seen_at >= batch.last_seen:
            batch.last_seen, batch.latest, batch.message = item.seen_at, item, message
    if not batches:
        return 0
    url = store.engine.url.render_as_string(hide_password=True)
    due: list[str] = []
    for key in batches:
        if len(due) == SAMPLES_PER_FLUSH:
            break
        if _sample_due(url, key):
            due.append(key)
    with Session(store.engine) as session:
        try:
            for attempt in (1, 2, 3):
                try:
                    _write(session, batches, due)
                    session.commit()
                    break
                except IntegrityError:  # a new shape another worker inserted meanwhile
                    session.rollback()
                    if attempt == 3:
                        raise
        except Exception:
            for key in due:  # not stored: due again next time
                _sampled_at.pop((url, key), None)
            raise
        _prune_shapes(session)
    return total


def _sample_due(store_url: str, key: str) -> bool:
    now, seen = time.monotonic(), (store_url, key)
    if now - _sampled_at.get(seen, -SAMPLE_EVERY_SECONDS) < SAMPLE_EVERY_SECONDS:
        return False
    if len(_sampled_at) > 2 * MAX_SHAPES:
        _sampled_at.clear()
    _sampled_at[seen] = now
    return True


_SHAPES = GapShape.__table__
_SAMPLES = GapSample.__table__
_BUMP = (_SHAPES.update().where(_SHAPES.c.key == bindparam("b_key"))
         .values(count=_SHAPES.c.count + bindparam("b_count"), last_seen=bindparam("b_last"),
                 domain=bindparam("b_domain")))


def _chunks(keys: Sequence, size: int = 500):
    for start in range(0, len(keys), size):
        yield keys[start:start + size]


def _write(session: Session, batches: dict[str, _Batch], due: list[str]) -> None:
    known: set[str] = set()
    for chunk in _chunks(list(batches)):
        known.update(session.execute(select(_SHAPES.c.key).where(_SHAPES.c.key.in_(chunk))).scalars())
    bumps = [{"b_key": key, "b_count": b.count, "b_last": b.last_seen, "b_domain": b.domain}
             for key, b in batches.items() if key in known]
    for chunk in _chunks(bumps, YIELD_ROWS):
        time.sleep(0)  # between statements the serving thread may run (see YIELD_EVERY)
        session.execute(_BUMP, chunk)
    time.sleep(0)
    new = [{"key": key, "platform": b.platform, "status": b.status, "code": b.code, "domain": b.domain,
            "shape": b.shape, "count": b.count, "first_seen": b.first_seen, "last_seen": b.last_seen}
           for key, b in batches.items() if key not in known]
    if new:
        session.execute(_SHAPES.insert(), new)
    if due:
        session.execute(_SAMPLES.insert(), [
            {"shape_key": key, "seen_at": batches[key].last_seen, "message": batches[key].message,
             "payload": jsontext.clean(json.dumps(example_payload(batches[key].latest), ensure_ascii=False,
                                                  default=str))}
            for key in due])
        for chunk in _chunks(due):
            _prune_samples(session, chunk)


def _prune_samples(session: Session, keys: list[str]) -> None:
    """Keep the latest SAMPLES_PER_SHAPE samples of each shape: one statement for all of them."""
    rank = func.row_number().over(partition_by=_SAMPLES.c.shape_key, order_by=_SAMPLES.c.id.desc()).label("n")
    ranked = select(_SAMPLES.c.id, rank).where(_SAMPLES.c.shape_key.in_(keys)).subquery()
    session.execute(_SAMPLES.delete().where(
        _SAMPLES.c.id.in_(select(ranked.c.id).where(ranked.c.n > SAMPLES_PER_SHAPE))))


def _prune_shapes(session: Session) -> None:
    count = session.exec(select(func.count()).select_from(GapShape)).one()
    if count <= MAX_SHAPES:
        return
    stale = session.exec(select(GapShape.key).order_by(col(GapShape.last_seen), col(GapShape.key))
                         .limit(count - MAX_SHAPES)).all()
    for chunk in _chunks(stale):
        session.exec(delete(GapSample).where(col(GapSample.shape_key).in_(chunk)))
        session.exec(delete(GapShape).where(col(GapShape.key).in_(chunk)))
    session.commit()


def clear(store) -> None:
    """Forget every shape and sample (tests, or after a big knowledge-base change)."""
    with Session(store.engine) as session:
        session.exec(delete(GapSample))
        session.exec(delete(GapShape))
        session.commit()


# ------------------------------------------------------------------- reading


def mine(shapes: list[GapShape]) -> list[tuple[str, list[GapShape]]]:
    """Drain3 templates over stored shapes, per (platform, status, code): [(template, shapes)]."""
    groups: dict[tuple, list[GapShape]] = defaultdict(list)
    for shape in shapes:
        groups[(shape.platform, shape.status, shape.code or "")].append(shape)
    out = []
    for _group_key, members in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2])):
        drain = Drain(depth=DRAIN_DEPTH, sim_th=DRAIN_SIM_TH, param_str=PARAM)
        clusters: dict[int, list[GapShape]] = defaultdict(list)
        found = {}
        # the most frequent first, so templates form around what is common; ties by key: stable
        for shape in sorted(members, key=lambda s: (-s.count, s.key)):
            cluster, _change = drain.add_log_message(shape.shape or "(no message)")
            clusters[cluster.cluster_id].append(shape)
            found[cluster.cluster_id] = cluster
        for cluster_id, grouped in clusters.items():
            template = found[cluster_id].get_template()
            out.append(("" if template == "(no message)" else template, grouped))
    return out


def top_gaps(store, limit: int = 20, still_unmatched: Callable[[dict], bool] | None = None,
             max_shapes: int = MAX_SHAPES) -> list[Gap]:
    """The most frequent templates of unmatched errors, each with one example and a draft.

    `still_unmatched(example)` says whether the knowledge base still fails to explain a
    template's latest example; templates it now explains are left out.
    """
    with Session(store.engine) as session:
        shapes = list(session.exec(select(GapShape).order_by(col(GapShape.last_seen).desc())
                                   .limit(max_shapes)).all())
    mined = mine(shapes)
    mined.sort(key=lambda tg: (-sum(s.count for s in tg[1]), -max(_ts(s.last_seen) for s in tg[1]), tg[0]))
    gaps: list[Gap] = []
    with Session(store.engine) as session:
        for template, grouped in mined:
            if len(gaps) >= limit:
                break
            latest = max(grouped, key=lambda s: (_ts(s.last_seen), s.key))
            sample = session.exec(select(GapSample).where(GapSample.shape_key == latest.key)
                                  .order_by(col(GapSample.id).desc()).limit(1)).first()
            example = json.loads(sample.payload) if sample else {"status": latest.status, "endpoint": "/"}
            if still_unmatched is not None and not _safe(still_unmatched, example):
                continue
            gaps.append(Gap(
                template=template, count=sum(s.count for s in grouped), platform=latest.platform,
                status=latest.status, code=latest.code, domain=latest.domain,
                first_seen=min((s.first_seen for s in grouped), key=_ts),
                last_seen=max((s.last_seen for s in grouped), key=_ts),
                example=example, draft_rule=""))
    return [_with_draft(gap) for gap in gaps]


def _ts(moment: datetime) -> float:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _safe(check: Callable[[dict], bool], example: dict) -> bool:
    try:
        return bool(check(example))
    except Exception:  # noqa: BLE001 - an example the engine cannot read is still a gap
        return True


# --------------------------------------------------------------- draft rules

_MASK_PATTERNS = {
    "<*>": r"\S+", "<NUM>": r"[-+]?\d+(?:\.\d+)?", "<ID>": r"[\w-]+",
    "[email]": r"\S+@\S+", "[phone]": r".+?", "[name]": r".+?", "[address]": r".+?", "[id]": r"\S+",
    "[card]": r"[\d -]+", "[personal]": r".+?", "[secret]": r"\S+",
}
_PLACEHOLDER = re.compile("|".join(re.escape(p) for p in _MASK_PATTERNS))
_REGEX_SPECIAL = set(r"\.^$|?*+()[]{}")
MAX_REGEX_TOKENS = 24
MAX_REGEX_LENGTH = 400  # the rule schema allows 512


def _escape(text: str) -> str:
    return "".join("\\" + c if c in _REGEX_SPECIAL else c for c in text)


def template_regex(template: str) -> str | None:
    """A regex (RE2, searched anywhere) for messages of a template, or None if it has no words.

    Literal tokens are escaped, placeholders become what they stand for, and tokens are
    joined by `\\s+`; a long template keeps its first MAX_REGEX_TOKENS tokens.
    """
    tokens = template.split()[:MAX_REGEX_TOKENS]
    if not tokens or all(_PLACEHOLDER.fullmatch(t) for t in tokens):
        return None
    parts: list[str] = []
    for token in tokens:
        pieces, last = [], 0
        for m in _PLACEHOLDER.finditer(token):
            pieces.append(_escape(token[last:m.start()]))
            pieces.append(_MASK_PATTERNS[m.group(0)])
            last = m.end()
        pieces.append(_escape(token[last:]))
        part = "".join(pieces)
        if parts and len(r"\s+".join([*parts, part])) > MAX_REGEX_LENGTH:
            break
        parts.append(part)
    return r"\s+".join(parts)


def draft_document(gap: Gap) -> dict:
    """A rule document in kb_content's format, with TODO where a curator must decide."""
    platform = gap.platform if gap.platform in PLATFORMS else "generic"
    domain = gap.domain if gap.domain in DOMAINS else "other"
    digest = shape_key(platform, gap.status, gap.code, gap.template)[:8]
    when: dict = {"status": gap.status}
    if gap.code is not None:
        when["code"] = gap.code
    pattern = template_regex(gap.template)
    if pattern:
        when["message"] = {"regex": pattern}
    near_miss = json.loads(json.dumps(gap.example))
    near_miss["status"] = 599 if gap.status != 599 else 598
    todo_text = {"title": "TODO: what went wrong, in one line",
                 "explanation": "TODO: why the platform answers this, from its documentation.",
                 "repair_steps": ["TODO: the first thing to do"]}
    return {
        "id": f"{platform}.{domain}.draft_{digest}",
        "platforms": [platform],
        "regions": "*",
        "domains": [domain],
        "priority": 30 if platform == "generic" else 60,
        "when": when,
        "then": {
            "category": "TODO",
            "doc_url": "TODO",
            "en": todo_text,
            "zh-CN": {"title": "TODO: 一句话说明出了什么问题",
                      "explanation": "TODO: 根据平台文档说明平台为何这样返回。",
                      "repair_steps": ["TODO: 第一步该做什么"]},
        },
        "source": "TODO: the platform's documentation page or SDK file that names this code and message",
        "examples": {"match": [gap.example], "no_match": [near_miss]},
    }


_COMMENTS = {
    "category: TODO": "  # TODO: a category of rules/taxonomy.yaml (never unknown)",
    "doc_url: TODO": "  # TODO: the platform's own documentation page",
    "no_match:": "  # TODO: replace with a real near miss (same code, another meaning)",
}


def draft_rule(gap: Gap) -> str:
    """The draft as YAML text: clearly marked, and refused by the loader until a curator
    has chosen a category and a doc_url (so it can never be published as it is)."""
    text = dump_yaml(draft_document(gap))
    lines = [line + _COMMENTS.get(line.strip(), "") for line in text.splitlines()]
    header = [
        f"# DRAFT rule for {gap.count} unmatched error(s) of {gap.platform}, status {gap.status}, "
        f"code {gap.code if gap.code is not None else '-'} (generated by opsdiag; example masked).",
        "# TODO: choose the category, write the texts, cite the source, check the regex and the examples;",
        "# the rule loader refuses this draft until every TODO is resolved, so it is never published as is.",
    ]
    return "\n".join(header + lines) + "\n"


def _with_draft(gap: Gap) -> Gap:
    return replace(gap, draft_rule=draft_rule(gap))
