"""Diagnoses one chunk of records: payload, validation, memo, engine, output lines.

Runs in every worker (a process of the local pool, a Dask worker, or the driver itself
with --workers 1). Each worker compiles its own Engine from the KB snapshot it is given.

The memo. Error logs repeat themselves: the same error of the same endpoint comes back
for every order, shop and retry. The diagnosis is a function of the normalized fact, and
the fact does not depend on the payload's `id`, on `context.occurred_at` (no rule may
test it and no derived fact reads it), nor on `context.shop_id` and
`context.retry_count` unless a rule of this KB tests them; of the endpoint it reads only
the host, the path and the query parameters that rules test or that name an Amazon
marketplace (region inference). So the memo key is the payload without those fields,
the endpoint reduced to (host, path, those parameters), as the repr of its values in
their given order (exact: a sorted form would not be, for a rule whose regex reads the
JSON text of a body); for a CSV row, the key is its cells without those columns, since
the payload is a function of the cells. A hit needs only the left-out fields validated,
by the schema's own fields. The memo is an LRU of bounded size, per worker.
"""

import csv
import io
import json
import re
import signal
import threading
from collections import Counter, OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NamedTuple
from urllib.parse import parse_qsl

from marshmallow import ValidationError
from opsdiag_client.answer import Diagnosis, Result

from rules import jsontext
from rules.engine import Engine
from rules.engine.normalize import parse_body, read_envelope, split_endpoint
from rules.kb.loader import flatten_messages
from rules.privacy import message_shape

from ..schemas import DiagnoseRequestSchema
from .board import BoardPart, columns_of
from .kb import KbSnapshot
from .payloads import CsvLayout
from .payloads import number as csv_number
from .payloads import timestamp as csv_timestamp
from .readers import ReadError
from .summary import NONE, RETRIED, Summary

MEMO_SIZE = 20_000
DIAG_FIELDS = ("category", "owner", "rule_id", "title", "first_step", "doc_url", "language", "request_problem")
PROJECTION = ("line", "id", "status", "method", "endpoint", "platform", "region", "domain",
              "error_code", "error_message", "shop_id", "occurred_at", "retry_count")
ROW_CONTEXT = ("occurred_at", "shop_id", "retry_count")
REPEATING = frozenset({"shop_id", "retry_count"})  # few distinct values: their validation is remembered
CONTEXT_COLUMNS = {"occurred_at": "first_occurred_at", "shop_id": "shop_id", "retry_count": "retry_count"}
CONVERTERS = {"occurred_at": csv_timestamp, "shop_id": str, "retry_count": csv_number}
UNDECODABLE = re.compile("[\udc80-\udcff]")  # bytes the encoding could not decode
ID_SEGMENT = re.compile(
    r"^(?:\d{7,}|\d{3}-\d{7}-\d{7}|[0-9a-fA-F]{8}-[0-9a-fA-F-]{27,}|(?=[A-Za-z_-]*\d)[A-Za-z0-9_-]{16,})$")
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str).encode


class Answer(NamedTuple):
    """What the memo keeps of a diagnosis: what the batch output and summary use."""

    category: str
    owner: str
    rule_id: str | None
    title: str
    first_step: str
    doc_url: str | None
    platform: str
    region: str | None
    domain: str
    code: str | None
    message: str | None
    unmatched: str | None  # the message, masked, when no rule matched
    request_problem: str  # the first problem of the sent request against its schema (rules/reqcheck/validate.py), or ""
    cause: tuple  # what the summary counts of it (Summary.add)
    suffix: str  # the columns added to a CSV row: ",category,owner,...,language\r\n"
    status: Any = None  # the payload's status, and what the board shows of it (board.py)
    shape_message: str | None = None  # the message masked (ids and numbers folded)
    detail: dict | None = None  # explanation, repair_steps, evidence


@dataclass(frozen=True)
class Reject:
    line: int
    fields: tuple[str, ...]
    reason: str

    def __str__(self) -> str:
        return f"{self.line}: {self.reason}"


@dataclass(frozen=True)
class Job:
    """What every worker needs to know about the run, besides the knowledge base."""

    kind: str  # csv | jsonl | har
    out_format: str  # csv | jsonl
    lang: str
    encoding: str
    layout: CsvLayout | None = None
    diag_names: tuple[str, ...] = DIAG_FIELDS
    run_id: str = ""
    board: bool = False  # also fill a BoardPart per chunk (board.py)


@dataclass
class ChunkResult:
    data: bytes  # the chunk's output, UTF-8 (encoded here, in parallel, not by the driver)
    diagnosed: int
    rejects: list[Reject]
    summary: Summary
    hits: int = 0
    misses: int = 0
    board: BoardPart | None = None


@lru_cache(maxsize=64)
def _other_names(keep: frozenset[str]) -> tuple[str, ...]:
    return tuple(name for name in keep if "marketplace" not in name.lower())


def _may_name_a_kept_parameter(text: str, keep: frozenset[str]) -> bool:
    """Whether a raw query string may hold a kept parameter: one of their names,
    "marketplace" in any case, or an escape (%xx, +) that could spell one."""
    return ("%" in text or "+" in text or "marketplace" in text.lower()
            or any(name in text for name in _other_names(keep)))


@lru_cache(maxsize=8192)
def endpoint_parts(endpoint: str, keep: frozenset[str]) -> tuple[str, str, tuple]:
    """(host, path, kept query parameters), read as normalize reads them (split_endpoint); the
    query is parsed only when it may hold a parameter that matters."""
    host, path, text = split_endpoint(endpoint)
    if not text or not _may_name_a_kept_parameter(text, keep):
        return host, path, ()  # no parameter that matters: no need to parse
    query = dict(parse_qsl(text))
    kept = tuple(sorted((k, v) for k, v in query.items() if k in keep or "marketplace" in k.lower()))
    return host, path, kept


@lru_cache(maxsize=8192)
def endpoint_label(host: str, path: str) -> str:
    """host/path with ids replaced, so that the summary groups calls of one API."""
    segments = [("{id}" if ID_SEGMENT.match(s) else s) for s in path.split("/")]
    return host + "/".join(segments)


class Diagnoser:
    """Validation and diagnosis of raw payloads, with the exact memo described above."""

    def __init__(self, engine: Engine, lang: str = "en", memo_size: int = MEMO_SIZE):
        self.engine, self.lang, self.memo_size = engine, lang, memo_size
        schema = DiagnoseRequestSchema()
        self._load = schema.load
        tested = {(c.source, c.name) for rule in engine.rules for c in rule.conditions}
        self._query_keys = frozenset(name for source, name in tested if source == "query")
        context_fields = schema.fields["context"].schema.fields
        self._row_context = {name: context_fields[name] for name in ROW_CONTEXT if ("context", name) not in tested}
        self._id_field, self._endpoint_field = schema.fields["id"], schema.fields["endpoint"]
        self.memo: OrderedDict[Any, Answer] = OrderedDict()
        self._plans: dict[int, tuple] = {}
        self._valid: dict[tuple, Any] = {}  # (field, value) -> validated value: endpoints and REPEATING
        self.hits = self.misses = 0

    def key(self, raw: dict) -> tuple[str, tuple | None]:
        static = dict(raw)
        static.pop("id", None)
        endpoint, parts = static.get("endpoint"), None
        if type(endpoint) is str:
            parts = endpoint_parts(endpoint, self._query_keys)
            static["endpoint"] = parts
        context = static.get("context")
        if type(context) is dict and not self._row_context.keys().isdisjoint(context):
            static["context"] = {k: v for k, v in context.items() if k not in self._row_context}
        return repr(static), parts

    def diagnose(self, raw: Any) -> tuple[Answer, tuple | None, dict]:
        """(answer, endpoint parts, validated context); ValidationError when invalid."""
        if not isinstance(raw, dict):
            raise ValidationError("must be a JSON object")
        key, parts = self.key(raw)
        answer = self.memo.get(key)
        if answer is None:
            answer, context = self._remember(key, raw)
            return answer, parts, context
        self.hits += 1
        self.memo.move_to_end(key)
        return answer, parts, self._row_fields(raw)

    def diagnose_row(self, layout: CsvLayout, cells: list[str]) -> tuple[Answer, tuple, dict]:
        """diagnose(layout.payload(cells)), keyed on the cells themselves: the payload is
        a function of them, so the same cells (but the row's own) give the same answer,
        and a hit needs neither the payload nor its serialisation."""
        plan = self._plans.get(id(layout))
        if plan is None or plan[0] is not layout:
            plan = self._plans[id(layout)] = (layout, *self._plan(layout))
        _layout, static, endpoint_at, id_at, context_at = plan
        endpoint = cells[endpoint_at].strip()
        parts = endpoint_parts(endpoint, self._query_keys)
        key = (tuple([cells[i] for i in static]), parts)
        answer = self.memo.get(key)
        if answer is None:
            answer, context = self._remember(key, layout.payload(cells))
            return answer, parts, context
        self.hits += 1
        self.memo.move_to_end(key)
        row: dict[str, Any] = {"endpoint": endpoint}
        if id_at is not None and cells[id_at].strip():
            row["id"] = cells[id_at].strip()
        context = {}
        for name, position, convert in context_at:
            value = cells[position].strip()
            if value:
                context[name] = convert(value)
        if context:
            row["context"] = context
        return answer, parts, self._row_fields(row)

    def _plan(self, layout: CsvLayout) -> tuple:
        """Which cells make the memo key, and where the row's own fields are."""
        index = layout.index
        own = {"error_id", "api_endpoint", "first_occurred_at"}
        own |= {column for name, column in CONTEXT_COLUMNS.items() if name in self._row_context}
        static = tuple(position for column, position in index.items() if column not in own)
        context = tuple((name, index[column], CONVERTERS[name]) for name, column in CONTEXT_COLUMNS.items()
                        if column in index)
        return static, index["api_endpoint"], index.get("error_id"), context

    def _remember(self, key: Any, raw: dict) -> tuple[Answer, dict]:
        payload = self._load(raw)
        answer = self._answer(payload)
        self.misses += 1
        self.memo[key] = answer
        if len(self.memo) > self.memo_size:
            self.memo.popitem(last=False)
        return answer, payload.get("context") or {}

    def _row_fields(self, raw: dict) -> dict:
        """Validate the fields the memo key leaves out, with the schema's own fields."""
        errors: dict[str, Any] = {}
        valid = self._valid
        if "id" in raw:
            try:
                _deserialize(self._id_field, raw["id"])
            except ValidationError as exc:
                errors["id"] = exc.messages
        endpoint = raw.get("endpoint")
        if "endpoint" in raw and (type(endpoint) is not str or ("endpoint", endpoint) not in valid):
            try:
                _deserialize(self._endpoint_field, endpoint)
                if type(endpoint) is str:
                    valid[("endpoint", endpoint)] = endpoint
            except ValidationError as exc:
                errors["endpoint"] = exc.messages
        context = raw.get("context")
        values: dict[str, Any] = {}
        if type(context) is dict:
            values = dict(context)
            for name, field in self._row_context.items():
                if name in context:
                    value = context[name]
                    repeating = name in REPEATING and type(value) in (str, int)  # not bool, not 1.0
                    known = valid.get((name, value), valid) if repeating else valid
                    if known is not valid:
                        values[name] = known  # a shop id or retry count seen valid before
                        continue
                    try:
                        values[name] = _deserialize(field, value)
                    except ValidationError as exc:
                        errors.setdefault("context", {})[name] = exc.messages
                        continue
                    if repeating:
                        valid[(name, value)] = values[name]
        if len(valid) > MEMO_SIZE:
            valid.clear()
        if errors:
            raise ValidationError(errors)
        return values

    def _answer(self, payload: dict) -> Answer:
        result: Result = self.engine.diagnose(payload, self.lang)
        first: Diagnosis = result["diagnoses"][0]
        code, message, _type, _request_id = read_envelope(*parse_body(payload.get("body")))
        unmatched = None
        if not result["matched"]:
            unmatched = message_shape(message) if message else f"{NONE} HTTP {payload['status']}"
        steps = first["repair_steps"]
        problem, problem_key = request_problem(first["evidence"].get("request_check"))
        cause = (first["category"], first["owner"], first["rule_id"], first["title"], first["doc_url"], unmatched,
                 result["platform"], result["region"] or NONE, code or NONE, problem_key)
        out = io.StringIO()
        csv.writer(out, lineterminator="\r\n").writerow(
            ("", first["category"], first["owner"], first["rule_id"] or "", first["title"], steps[0] if steps else "",
             first["doc_url"] or "", self.lang, problem))
        detail = {"explanation": first["explanation"], "repair_steps": steps, "evidence": first["evidence"]}
        return Answer(first["category"], first["owner"], first["rule_id"], first["title"],
                      steps[0] if steps else "", first["doc_url"], result["platform"], result["region"],
                      result["domain"], code, message, unmatched, problem, cause, out.getvalue(), payload["status"],
                      message_shape(message) if message else None, detail)


def request_problem(checked: dict | None) -> tuple[str, tuple | None]:
    """The first problem /diagnose found in the sent request (its evidence.request_check), as a
    CSV cell ("$.price_list[0].original_price: type, wants number, sent string") and as the
    summary's key (operation, path, kind); ("", None) when the row carried no request or it passed."""
    if not checked or not checked.get("problems"):
        return "", None
    first = checked["problems"][0]
    wants = f", wants {first['expected']}" if "expected" in first and first["kind"] != "unknown_field" else ""
    sent = f", sent {first['sent']}" if "sent" in first else ""
    return f"{first['path']}: {first['kind']}{wants}{sent}", (checked["operation"], first["path"], first["kind"])


def _deserialize(field, value: Any) -> Any:
    """field.deserialize(value) for a present value, without its bookkeeping when valid;
    when not, the field's own deserialize raises the schema's own messages."""
    if value is not None:
        try:
            out = field._deserialize(value, None, None)
            for validator in field.validators:
                if validator(out) is False:
                    break
            else:
                return out
        except ValidationError:
            pass
    return field.deserialize(value)


def _day(value: Any) -> str:
    return value.date().isoformat() if hasattr(value, "date") else NONE


def _retries(value: Any) -> str:
    if not isinstance(value, int) or isinstance(value, bool):
        return NONE
    return RETRIED if value >= 3 else str(value)


class Worker:
    """One worker's state: its engine's diagnoser and the run's job."""

    def __init__(self, engine: Engine, job: Job):
        self.job = job
        self.diagnoser = Diagnoser(engine, job.lang)
        # CSV in and out with commas: each row is written as it was read, plus the answer
        self._verbatim = job.layout is not None and job.out_format == "csv" and job.layout.delimiter == ","
        self._kept: Counter = Counter()  # rows kept whole per board shape, across chunks
        self._plain = columns_of(job.layout, PROJECTION)[2] if job.board else frozenset()

    def _diag(self, answer: Answer) -> tuple:
        return (answer.category, answer.owner, answer.rule_id or "", answer.title, answer.first_step,
                answer.doc_url or "", self.job.lang, answer.request_problem)

    def process(self, records: list) -> ChunkResult:
        job, diagnoser, layout = self.job, self.diagnoser, self.job.layout
        out = io.StringIO()
        write = out.write
        writer = csv.writer(out, lineterminator="\r\n") if job.out_format == "csv" else None
        rows = None
        if layout is not None:  # the records are CSV text: parse them all at once
            rows = csv.reader([r for _, r in records if type(r) is str], delimiter=layout.delimiter, strict=True)
        summary, rejects = Summary(), []
        board = BoardPart(self._kept, self._plain) if job.board else None
        hits, misses = diagnoser.hits, diagnoser.misses
        for line, record in records:
            if type(record) is ReadError:
                rejects.append(Reject(line, (), record.reason))
                continue
            cells = next(rows) if rows is not None else None
            try:
                if cells is not None and not any(cell.strip() for cell in cells):
                    continue  # a row of empty cells, as spreadsheets leave at the end
                if cells is not None:
                    self._check_row(cells, record)
                    answer, parts, context = diagnoser.diagnose_row(layout, cells)
                    raw = None
                else:
                    raw = self._raw(record)
                    answer, parts, context = diagnoser.diagnose(raw)
            except ValidationError as exc:
                rejects.append(self._invalid(line, exc))
                continue
            except _Refused as exc:
                rejects.append(Reject(line, (), str(exc)))
                continue
            if self._verbatim:
                write(record)
                write(answer.suffix)
            elif writer is not None:
                base = cells if layout else self._projection(line, raw, answer)
                writer.writerow([*base, *self._diag(answer)])
            else:
                if layout:
                    base = dict(zip(layout.header, cells, strict=True))
                elif job.kind == "jsonl":
                    base = raw
                else:
                    base = dict(zip(PROJECTION, self._projection(line, raw, answer), strict=True))
                write(_dumps({**base, **dict(zip(job.diag_names, self._diag(answer), strict=True))}))
                write("\n")
            shop = str(context.get("shop_id") or NONE)
            label = endpoint_label(parts[0], parts[1]) if parts else endpoint_label("", "/")
            summary.add(answer.cause, shop, label, _day(context.get("occurred_at")),
                        _retries(context.get("retry_count")))
            if board is not None and board.add(line, answer, label, shop, context.get("occurred_at"),
                                               context.get("retry_count")):
                board.keep(cells if layout else [*self._projection(line, raw, answer), raw.get("headers"),
                                                 raw.get("body"), raw.get("request")])
        summary.finish().rejected = len(rejects)
        return ChunkResult(out.getvalue().encode("utf-8", "replace"), summary.rows, rejects, summary,
                           diagnoser.hits - hits, diagnoser.misses - misses, board and board.finish())

    def _check_row(self, cells: list[str], text: str) -> None:
        job = self.job
        if len(cells) != job.layout.width:
            raise _Refused(f"{len(cells)} columns where the header has {job.layout.width}")
        if UNDECODABLE.search(text):
            raise _Refused(f"bytes that are not valid {job.encoding}")

    def _raw(self, record: Any) -> Any:
        job = self.job
        if job.kind == "jsonl":
            if UNDECODABLE.search(record):
                raise _Refused(f"bytes that are not valid {job.encoding}")
            try:
                value = jsontext.loads(record)
            except RecursionError as exc:
                raise _Refused("invalid JSON: nested too deeply") from exc
            except ValueError as exc:
                raise _Refused(f"invalid JSON: {getattr(exc, 'msg', exc)} (column {getattr(exc, 'colno', '?')})") \
                    from exc
            if not isinstance(value, dict):
                raise _Refused("not a JSON object")
            return value
        return record  # HAR: already a payload

    def _invalid(self, line: int, exc: ValidationError) -> Reject:
        names, reasons = [], []
        for message in flatten_messages(exc.messages):
            name, _, reason = message.partition(": ")
            if not reason:
                name, reason = "", name
            if self.job.layout is not None and name:
                name = self.job.layout.column_for(name)
            names.append(name)
            reasons.append(f"{name}: {reason}" if name else reason)
        return Reject(line, tuple(dict.fromkeys(n for n in names if n)), "; ".join(reasons))

    @staticmethod
    def _projection(line: int, raw: dict, answer: Answer) -> list:
        context = raw.get("context") if isinstance(raw.get("context"), dict) else {}
        return [line, raw.get("id", ""), raw.get("status", ""), raw.get("method", ""), raw.get("endpoint", ""),
                answer.platform, answer.region or "", answer.domain, answer.code or "", answer.message or "",
                context.get("shop_id", ""), context.get("occurred_at", ""), context.get("retry_count", "")]


class _Refused(Exception):
    """A record that cannot become a payload (column count, encoding, broken JSON)."""


# -- entry points, one per way of running ----------------------------------------------

_local: Worker | None = None


def init_process(snapshot: KbSnapshot, job: Job) -> None:
    """Initializer of a pool process: compile the engine once. A signal meant for the run
    (Ctrl-C reaches the whole process group) is the driver's to handle: it stops after the
    chunk being written and lets the pool go."""
    global _local
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _local = Worker(snapshot.engine(), job)


def process_in_pool(records: list) -> ChunkResult:
    return _local.process(records)


_engines: OrderedDict[str, Engine] = OrderedDict()
_engines_lock = threading.Lock()
_threads = threading.local()
KEPT_ENGINES = 2


def engine_for(snapshot: KbSnapshot) -> Engine:
    """This process's engine for a KB version, compiled on first use."""
    with _engines_lock:
        engine = _engines.get(snapshot.digest)
        if engine is None:
            engine = _engines[snapshot.digest] = snapshot.engine()
            while len(_engines) > KEPT_ENGINES:
                _engines.popitem(last=False)  # a run still using it keeps its reference
        return engine


def process_anywhere(snapshot: KbSnapshot, job: Job, records: list) -> ChunkResult:
    """A Dask task: one engine per process and KB version, one worker (memo) per thread."""
    workers = getattr(_threads, "workers", None)
    if workers is None or workers[0] != job.run_id:
        workers = _threads.workers = (job.run_id, {})
    worker = workers[1].get(snapshot.digest)
    if worker is None:
        worker = workers[1][snapshot.digest] = Worker(engine_for(snapshot), job)
    return worker.process(records)
