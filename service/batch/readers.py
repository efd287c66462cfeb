"""Reads exported error logs: encoding detection, format detection, and records in chunks.

The reading itself stays in the driver's process and is cheap: CSV rows are split by the
csv module (so quoting, embedded newlines and line numbers follow it exactly), JSONL
lines are passed on unparsed, and a HAR file becomes one payload per failed entry. All
the per-record work (payloads, validation, diagnosis, output formatting) is left to the
workers. Undecodable bytes never stop a run: they are decoded with `surrogateescape` and
the worker rejects the record that holds them, with its line number.
"""

import codecs
import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

from charset_normalizer import from_bytes

from rules import jsontext

from .payloads import CsvLayout, har_payload

SAMPLE_BYTES = 256 * 1024
FIELD_LIMIT = 1024 * 1024  # a cell (a response body) may be large; an unclosed quote swallows no more
FORMATS = ("csv", "jsonl", "har")
BOMS = (  # longest first: the UTF-32 LE BOM starts with the UTF-16 LE one
    (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"),
)
CHINESE = {"gb2312", "gbk", "gb18030", "hz", "cp936"}
HAR_START = re.compile(r'^\s*\{\s*"log"\s*:')


class InputError(Exception):
    """The file as a whole cannot be read (not a single record could be)."""


@dataclass(frozen=True)
class ReadError:
    """A record the reader could not split out (e.g. an unterminated quote)."""

    reason: str


Record = tuple[int, Any]  # (line number, or HAR entry number; raw record or ReadError)


def detect_encoding(sample: bytes) -> str:
    """BOM first, then UTF-16 by its NULs, then strict UTF-8, then charset-normalizer
    (any GB guess -> GB18030, the superset of GB2312 and GBK that Chinese Excel writes)."""
    for bom, name in BOMS:
        if sample.startswith(bom):
            return name
    head = sample[:4096]
    if head.count(0) > len(head) // 4:  # UTF-16 without BOM: ASCII text has a NUL in every pair
        return "utf-16-le" if head[1::2].count(0) > head[0::2].count(0) else "utf-16-be"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    # a sample cut in the middle of a character would look like an encoding error
    cut = sample.rfind(b"\n")
    best = from_bytes(sample[: cut + 1] if cut > 0 else sample).best()
    if best is None:
        raise InputError("could not detect the file's encoding; give it with --encoding")
    name = codecs.lookup(best.encoding).name
    return "gb18030" if name.replace("_", "") in CHINESE or name.startswith("gb") else name


def detect_format(path: Path, head: str) -> str:
    suffix = path.suffix.lower()
    if suffix == ".har":
        return "har"
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    if suffix in (".csv", ".tsv", ".txt"):
        return "csv"
    stripped = head.lstrip()
    if stripped.startswith("{"):
        return "har" if HAR_START.match(stripped) else "jsonl"
    return "csv"


def _delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in (",", "\t", ";")}
    return max(counts, key=lambda d: (counts[d], d == ","))


class InputFile:
    """One input file, opened for streaming; `chunks()` yields lists of records."""

    def __init__(self, path: Path | str, encoding: str | None = None, kind: str | None = None,
                 columns: dict[str, str] | None = None):
        self.path, self._given, self._columns = Path(path), (encoding, kind), columns
        try:
            self._raw = open(self.path, "rb")  # noqa: SIM115 - closed by close()
        except OSError as exc:
            raise InputError(f"cannot read {self.path}: {exc.strerror}") from exc
        try:
            self._open()
        except BaseException:
            self._raw.close()
            raise

    def _open(self) -> None:
        self.size = self.path.stat().st_size
        sample = self._raw.read(SAMPLE_BYTES)
        self._raw.seek(0)
        encoding, kind = self._given
        try:
            self.encoding = codecs.lookup(encoding).name if encoding else detect_encoding(sample)
        except LookupError as exc:
            raise InputError(f"unknown encoding {encoding!r}") from exc
        if self.encoding in ("utf-8", "utf_8") and sample.startswith(codecs.BOM_UTF8):
            self.encoding = "utf-8-sig"
        self.text = io.TextIOWrapper(self._raw, encoding=self.encoding, errors="surrogateescape", newline="")
        head = sample.decode(self.encoding, errors="replace")[:4096] if sample else ""
        if self.encoding.startswith("utf-8") and head.startswith("\ufeff"):
            head = head[1:]
        self.kind = kind or detect_format(self.path, head)
        if self.kind not in FORMATS:
            raise InputError(f"unknown input format {self.kind!r}; use one of {', '.join(FORMATS)}")
        self.layout: CsvLayout | None = None
        self.har_entries = 0
        self._records = self._open_records()

    # -- progress ---------------------------------------------------------------------

    @property
    def position(self) -> int:
        """Bytes consumed so far (for a progress bar)."""
        try:
            return self._raw.tell()
        except (OSError, ValueError):
            return self.size

    # -- records ----------------------------------------------------------------------

    def _open_records(self) -> Iterator[Record]:
        if self.kind == "csv":
            return self._csv()
        if self.kind == "jsonl":
            return self._jsonl()
        return self._har()

    def _csv(self) -> Iterator[Record]:
        """(line, the record's text as given, without its line end); the csv module finds
        where records end (quotes may hold line breaks) and the workers parse them again."""
        csv.field_size_limit(max(csv.field_size_limit(), FIELD_LIMIT))
        skipped, first = 0, self.text.readline()
        while first and not first.strip():
            skipped, first = skipped + 1, self.text.readline()
        if not first:
            raise InputError("the file is empty: no header line")
        delimiter = _delimiter(first)
        header_lines = [first]

        def header_source():  # the header line, and more only if a quoted name spans lines
            yield first
            while line := self.text.readline():
                header_lines.append(line)
                yield line

        try:
            header = next(csv.reader(header_source(), delimiter=delimiter, strict=True))
        except (csv.Error, StopIteration) as exc:
            raise InputError(f"line {skipped + 1}: the header cannot be read: {exc}") from exc
        try:
            self.layout = CsvLayout.from_header(header, delimiter, self._columns)
        except ValueError as exc:
            raise InputError(str(exc)) from exc
        lines: list[str] = []
        reader = csv.reader(_captured(self.text, lines), delimiter=delimiter, strict=True)
        return self._csv_records(reader, lines, skipped + len(header_lines))

    @staticmethod
    def _csv_records(reader, lines: list[str], before: int) -> Iterator[Record]:
        done = reader.line_num
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield before + done + 1, ReadError(f"CSV: {exc}")
                done = reader.line_num
                lines.clear()
                continue
            start, done = done + 1, reader.line_num
            text = "".join(lines).rstrip("\r\n")
            lines.clear()
            if row:  # not a blank line
                yield before + start, text

    def _jsonl(self) -> Iterator[Record]:
        for number, line in enumerate(self.text, start=1):
            if number == 1 and line.startswith("\ufeff"):
                line = line[1:]
            if line.strip():
                yield number, line

    def _har(self) -> Iterator[Record]:
        """A HAR file is one JSON document (browsers keep them small): read whole."""
        try:
            document = jsontext.loads(self.text.read())
        except (ValueError, RecursionError) as exc:
            raise InputError(f"not a HAR file: {exc}") from exc
        log = document.get("log") if isinstance(document, dict) else None
        entries = log.get("entries") if isinstance(log, dict) else None
        if not isinstance(entries, list):
            raise InputError("not a HAR file: no log.entries")
        self.har_entries = len(entries)
        return _failed_entries(entries)

    def chunks(self, size: int) -> Iterator[list[Record]]:
        while True:
            chunk = list(islice(self._records, size))
            if not chunk:
                return
            yield chunk

    def close(self) -> None:
        self.text.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _failed_entries(entries: list) -> Iterator[Record]:
    for number, entry in enumerate(entries, start=1):
        payload = har_payload(entry)
        if payload is not None:
            yield number, payload


def _captured(source, lines: list[str]):
    """The lines of `source`, each also appended to `lines` (csv.reader reads no further
    than the record it returns, so `lines` then holds exactly that record)."""
    append = lines.append
    for line in source:
        append(line)
        yield line
