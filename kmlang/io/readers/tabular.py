"""CSV, TSV, JSON Lines, JSON arrays and Parquet: one row per record.

Source columns are mapped onto the standard names by ``read(..., text="body",
author="user", ...)``; without a mapping the text is taken from the first of
``text``, ``body``, ``content``, ``message`` and the other standard columns
from columns that already bear their names. A source column that bears a
standard name but is not used for it is kept as ``<name>_source``.
"""

from __future__ import annotations

import codecs
import csv
import json
import re
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import pandas as pd

from kmlang.errors import ReaderError
from kmlang.io.readers._frame import (
    STANDARD,
    batched,
    load_json,
    may_hold_surrogates,
    no_surrogates,
    standardise,
)
from kmlang.io.readers._report import Report

__all__ = ["TEXT_NAMES", "MAX_RECORD_CHARS", "resolve_columns", "apply_columns",
           "detect_encoding", "iter_csv", "iter_tsv", "iter_jsonl", "iter_json", "iter_parquet"]

#: Column names taken as the text when no ``text=`` mapping is given, in order.
TEXT_NAMES = ("text", "body", "content", "message")

#: Default ``max_record_chars``: the longest record read, in characters of its
#: source text (a CSV/TSV record, a JSON line, a JSON array element, the string
#: cells of a Parquet row). A longer record is a bad record naming its line or
#: row: an error, or skipped under ``errors="skip"``; it is never held whole in
#: memory except in a JSON array (read whole) and Parquet (a batch at a time).
MAX_RECORD_CHARS = 1 << 24

_BLOCK = 1 << 20


def _too_long(cap: int) -> str:
    return (f"record is longer than {cap:,} characters and was not read (raise the limit "
            f"with max_record_chars=)")


def resolve_columns(available: Sequence[str], columns: Mapping[str, str | None],
                    source: Path | str) -> dict[str, str]:
    """Map standard names to source columns; ``KeyError`` for a column that is absent."""
    have = [str(c) for c in available]
    shown = ", ".join(have[:30]) + (" ..." if len(have) > 30 else "")
    mapping: dict[str, str] = {}
    for role in STANDARD:
        wanted = columns.get(role)
        if wanted is not None:
            if wanted not in have:
                raise KeyError(f"Column {wanted!r} (given as {role}=) is not in {source}; "
                               f"the columns are: {shown}")
            mapping[role] = wanted
        elif role == "text":
            found = next((name for name in TEXT_NAMES if name in have), None)
            if found is None:
                raise KeyError(f"No text column in {source}: looked for "
                               f"{', '.join(TEXT_NAMES)}; the columns are: {shown}. "
                               f"Pass text='<column>' to name the column with the passages.")
            mapping[role] = found
        elif role in have:
            mapping[role] = role
    return mapping


def apply_columns(df: pd.DataFrame, mapping: Mapping[str, str]) -> pd.DataFrame:
    """Source frame -> frame with standard names (unused standard-named columns renamed)."""
    used = set(mapping.values())
    out: dict[str, pd.Series] = {}
    for role, source in mapping.items():
        out[role] = df[source] if source in df.columns else pd.Series([None] * len(df),
                                                                      dtype=object)
    for col in df.columns:
        if col in used:
            continue
        name = f"{col}_source" if col in STANDARD else col
        out[name] = df[col]
    return pd.DataFrame({k: v.reset_index(drop=True) for k, v in out.items()})


# --------------------------------------------------------------------------- CSV / TSV

def _decodes(path: Path, encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        with open(path, "rb") as f:
            while block := f.read(_BLOCK):
                decoder.decode(block)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


_ESCAPED = re.compile("[\udc80-\udcff]")
_NON_ASCII = re.compile("[^\x00-\x7f]")


def _mostly_utf8(path: Path) -> bool:
    """Whether more non-ASCII characters are valid UTF-8 than bytes are not."""
    good = bad = 0
    decoder = codecs.getincrementaldecoder("utf-8")("surrogateescape")
    with open(path, "rb") as f:
        while True:
            block = f.read(_BLOCK)
            text = decoder.decode(block, final=not block)
            n_bad = len(_ESCAPED.findall(text))
            bad += n_bad
            good += len(_NON_ASCII.findall(text)) - n_bad
            if not block:
                return good > bad


def _encoding(path: Path) -> tuple[str, bool]:
    """``(encoding, fall back per line)``; see :func:`detect_encoding`."""
    with open(path, "rb") as f:
        head = f.read(4)
    if head[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE) and not head.startswith(
            codecs.BOM_UTF8):
        return "utf-16", False
    if _decodes(path, "utf-8"):
        return ("utf-8-sig" if head.startswith(codecs.BOM_UTF8) else "utf-8"), False
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig", True
    if _mostly_utf8(path):
        return "utf-8", True
    return ("cp1252" if _decodes(path, "cp1252") else "latin-1"), False


def detect_encoding(path: Path) -> str:
    """``utf-8-sig``/``utf-16`` from a BOM, else ``utf-8`` if valid, else ``cp1252``/``latin-1``.

    The whole file is checked, a block at a time. A file that is mostly valid
    UTF-8 (more valid non-ASCII characters than invalid bytes) is ``utf-8``:
    the CSV reader decodes its lines that are not valid UTF-8 as cp1252 one at
    a time, counts them and warns.
    """
    return _encoding(path)[0]


_LINE = {bytes: re.compile(rb"[^\r\n]*(?:\r\n|\r|\n)"), str: re.compile(r"[^\r\n]*(?:\r\n|\r|\n)")}
_ENDS = {bytes: re.compile(rb"\r\n|\r|\n"), str: re.compile(r"\r\n|\r|\n")}


class _Oversized(Exception):
    """A record longer than the cap; its lines were skipped."""


_SKIPPED = object()  # stands for a physical line too long to hold


class _FellBack(str):
    """A line that was not valid UTF-8, decoded as cp1252 (or Latin-1)."""


class _Lines:
    """The physical lines of a delimited file (LF, CRLF or CR ended), decoded.

    Fed to ``csv.reader``. Memory is bounded by the record cap: a record whose
    lines add up to more than ``cap`` characters raises :class:`_Oversized`
    after its remaining lines are skipped (up to the line where its quotes
    balance), so that the next ``next(reader)`` starts at the next record.
    ``f`` is a binary file with ``decode`` (bytes ending in a line end -> its
    lines), or a text file without.
    """

    def __init__(self, f, cap: int, decode: Callable[[bytes], list[str]] | None = None,
                 skip_bom: bool = False):
        self.f, self.cap, self.decode = f, cap, decode
        self.kind = str if decode is None else bytes
        self.budget = cap + 1 if decode is None else 4 * cap + 4  # raw units that hold cap chars
        self.buf = "" if decode is None else bytearray()
        self.pending: deque = deque()
        self.eof = False
        self.line_no = 0
        self.skip_bom = skip_bom
        self.chars = 0
        self.quotes = 0
        self.fell_back = False

    def __iter__(self):
        return self

    def __next__(self) -> str:
        pending = self.pending
        while not pending:
            if not self._fill():
                raise StopIteration
        text = pending.popleft()
        self.line_no += 1
        if text is _SKIPPED:
            self.chars = self.cap + 1
        else:
            if type(text) is not str:
                self.fell_back = True
                text = str(text)
            self.chars += len(text)
            if '"' in text:
                self.quotes += text.count('"')
        if self.chars > self.cap:
            while self.quotes % 2:  # still inside a quoted field: skip to where it closes
                while not pending:
                    if not self._fill():
                        raise _Oversized
                text = pending.popleft()
                self.line_no += 1
                if text is not _SKIPPED:
                    self.quotes += text.count('"')
            raise _Oversized
        return text

    def _read(self):
        block = self.f.read(_BLOCK)
        if self.skip_bom:
            self.skip_bom = False
            if block.startswith(codecs.BOM_UTF8):
                block = block[len(codecs.BOM_UTF8):]
        return block

    def _lines(self, chunk) -> list:
        if self.decode is None:
            return _LINE[str].findall(chunk) or [chunk]
        return self.decode(bytes(chunk))

    def _fill(self) -> bool:
        """Move the complete lines of the buffer to ``pending``; ``False`` at the end."""
        cr, nl = ("\r", "\n") if self.kind is str else (b"\r", b"\n")
        while True:
            buf = self.buf
            n = len(buf)
            end = n - 1 if n and not self.eof and buf[-1:] == cr else n  # may precede a \n
            last = max(buf.rfind(nl, 0, end), buf.rfind(cr, 0, end))
            if last >= 0:
                chunk = buf[:last + 1]
                if self.kind is str:
                    self.buf = buf[last + 1:]
                else:
                    del buf[:last + 1]
                self.pending.extend(self._lines(chunk))
                return True
            if self.eof:
                if not n:
                    return False
                self.pending.extend(self._lines(buf) if n <= self.budget else [_SKIPPED])
                self.buf = buf[:0]
                return True
            if n > self.budget:
                self._skip_line()
                self.pending.append(_SKIPPED)
                return True
            block = self._read()
            if not block:
                self.eof = True
            elif self.kind is str:
                self.buf = buf + block
            else:
                buf += block

    def _skip_line(self) -> None:
        """Discard the rest of a physical line too long to hold, counting its quotes."""
        quote = '"' if self.kind is str else b'"'
        buf = self.buf
        while True:
            found = _ENDS[self.kind].search(buf)
            if found is not None:
                self.quotes += buf.count(quote, 0, found.start())
                rest = buf[found.end():]
                if not rest and buf[found.start():] in ("\r", b"\r"):  # a \n may follow
                    rest = self._read()
                    if rest[:1] in ("\n", b"\n"):
                        rest = rest[1:]
                    elif not rest:
                        self.eof = True
                self.buf = rest if self.kind is str else bytearray(rest)
                return
            self.quotes += buf.count(quote)
            buf = self._read()
            if not buf:
                self.eof = True
                self.buf = self.buf[:0]
                return


def _lines_utf8_else_cp1252(chunk: bytes) -> list[str]:
    """Lines of ``chunk``; those that are not valid UTF-8 decoded as cp1252 (else Latin-1)."""
    try:
        text = chunk.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return _LINE[str].findall(text) or [text]
    out: list[str] = []
    for raw in _LINE[bytes].findall(chunk) or [chunk]:
        try:
            out.append(raw.decode("utf-8"))
        except UnicodeDecodeError:
            try:
                out.append(_FellBack(raw.decode("cp1252")))
            except UnicodeDecodeError:
                out.append(_FellBack(raw.decode("latin-1")))
    return out


def _lines_in(encoding: str) -> Callable[[bytes], list[str]]:
    def decode(chunk: bytes) -> list[str]:
        text = chunk.decode(encoding)
        return _LINE[str].findall(text) or [text]
    return decode


def _add_attrs(report: Report, extra: dict) -> None:
    """Have ``report.attrs`` also give the entries of ``extra`` (read when called)."""
    base = report.attrs

    def attrs(fmt: str, skipped: list[dict] | None = None) -> dict:
        out = base(fmt, skipped)
        out.update(extra)
        return out

    report.attrs = attrs  # type: ignore[method-assign]


def _csv_rows(path: Path, report: Report, sep: str,
              cap: int = MAX_RECORD_CHARS) -> Iterator[tuple[int, list[str]]]:
    """``(first line, fields)`` of each non-blank record; bad ones go to ``report``.

    ``csv.field_size_limit`` is raised only while a record is parsed, and put back.
    """
    encoding, fallback = _encoding(path)
    report.encoding = encoding
    kind = "TSV" if sep == "\t" else "CSV"
    fell_back: list[int] = []
    extra: dict = {}
    if fallback:
        extra["decoding_fallbacks"] = 0
        _add_attrs(report, extra)
    if encoding == "utf-16":
        f = open(path, encoding=encoding, newline="")
        lines = _Lines(f, cap)
    else:
        f = open(path, "rb")
        decode = _lines_utf8_else_cp1252 if fallback else _lines_in(
            "utf-8" if encoding == "utf-8-sig" else encoding)
        lines = _Lines(f, cap, decode, skip_bom=encoding == "utf-8-sig")
    with f:
        reader = csv.reader(lines, delimiter=sep, strict=True)
        while True:
            start = lines.line_no + 1
            lines.chars = lines.quotes = 0
            lines.fell_back = False
            limit = csv.field_size_limit(cap + 1)
            try:
                row = next(reader)
            except StopIteration:
                break
            except _Oversized:
                report.bad(_too_long(cap), line=start)
                continue
            except csv.Error as e:
                report.bad(f"malformed {kind} record ({e})", line=start)
                continue
            except UnicodeDecodeError as e:
                report.bad(f"text is not valid {encoding} ({e.reason}); the rest of the file "
                           f"cannot be decoded", line=start)
                break
            finally:
                csv.field_size_limit(limit)
            if lines.fell_back:
                fell_back.append(start)
                extra["decoding_fallbacks"] = len(fell_back)
            if row:
                yield start, row
    if fell_back:
        shown = ", ".join(map(str, fell_back[:5])) + (" ..." if len(fell_back) > 5 else "")
        report.notes.append(f"{len(fell_back)} record(s) of {path} are not valid UTF-8 and were "
                            f"decoded as cp1252 (line {shown}); the rest of the file is UTF-8. "
                            f"df.attrs['decoding_fallbacks'] counts them.")


def _unique(header: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for name in header:
        name = name.strip()
        if name in seen:
            seen[name] += 1
            name = f"{name}.{seen[name]}"
        seen.setdefault(name, 0)
        out.append(name)
    return out


def _infer(col: pd.Series) -> pd.Series:
    """Numbers where every present value is a number, strings otherwise."""
    try:
        return pd.to_numeric(col)
    except (ValueError, TypeError):
        return col


def iter_csv(path: Path, report: Report, chunksize: int, columns: Mapping[str, str | None],
             sep: str = ",", *, max_record_chars: int = MAX_RECORD_CHARS
             ) -> Iterator[pd.DataFrame]:
    """Standard frames from a delimited file, ``chunksize`` records at a time.

    Empty fields are missing values; extra columns that hold only numbers become
    numeric. A record with more fields than the header is a bad record; one with
    fewer is padded with missing values; one longer than ``max_record_chars``
    characters is a bad record. Ids default to ``"<file>:<line>"``.
    """
    rows = _csv_rows(path, report, sep, max_record_chars)
    first = next(rows, None)
    if first is None:
        raise ReaderError(f"{path}: the file is empty; expected a header line with column names")
    header = _unique(first[1])
    mapping = resolve_columns(header, columns, path)
    width = len(header)

    def good() -> Iterator[tuple[int, list[str]]]:
        for line, row in rows:
            if len(row) > width:
                report.bad(f"expected {width} fields, found {len(row)}", line=line)
                continue
            yield line, row if len(row) == width else row + [""] * (width - len(row))

    used = set(mapping.values())
    name = path.name
    for batch in batched(good(), chunksize):
        df = pd.DataFrame([row for _, row in batch], columns=header, dtype=object)
        df = df.where(df != "", None)
        for col in header:
            if col not in used:
                df[col] = _infer(df[col])
        ids = [f"{name}:{line}" for line, _ in batch]
        yield standardise(apply_columns(df, mapping), ids, report)


def iter_tsv(path: Path, report: Report, chunksize: int, columns: Mapping[str, str | None], *,
             max_record_chars: int = MAX_RECORD_CHARS) -> Iterator[pd.DataFrame]:
    """Standard frames from a tab-separated file (see :func:`iter_csv`)."""
    return iter_csv(path, report, chunksize, columns, sep="\t",
                    max_record_chars=max_record_chars)


# --------------------------------------------------------------------------- JSON

def _frames_from_dicts(batches: Iterator[list[tuple[str, dict]]], path: Path, report: Report,
                       columns: Mapping[str, str | None]) -> Iterator[pd.DataFrame]:
    mapping = None
    for batch in batches:
        df = pd.DataFrame.from_records([rec for _, rec in batch])
        if mapping is None:
            mapping = resolve_columns(list(df.columns), columns, path)
        yield standardise(apply_columns(df, mapping), [ref for ref, _ in batch], report)


def _jsonl_lines(f, cap: int) -> Iterator[bytes | None]:
    """The lines of a binary file; ``None`` for one longer than ``cap`` characters (skipped).

    At most ``4 * cap`` bytes of a line are held (enough for ``cap`` characters).
    """
    budget = 4 * cap + 4
    while raw := f.readline(budget):
        if len(raw) == budget and not raw.endswith(b"\n"):
            while (rest := f.readline(_BLOCK)) and not rest.endswith(b"\n"):
                pass
            yield None
        else:
            yield raw


def _jsonl_records(path: Path, report: Report,
                   cap: int = MAX_RECORD_CHARS) -> Iterator[tuple[str, dict]]:
    with open(path, "rb") as f:
        for number, raw in enumerate(_jsonl_lines(f, cap), 1):
            if raw is None:
                report.bad(_too_long(cap), line=number)
                continue
            if number == 1 and raw.startswith(codecs.BOM_UTF8):
                raw = raw[len(codecs.BOM_UTF8):]
            if not raw.strip():
                continue
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                report.bad(f"line is not valid UTF-8 ({e.reason} at byte {e.start})", line=number)
                continue
            if len(line) > cap:
                report.bad(_too_long(cap), line=number)
                continue
            try:
                record = load_json(line)
            except json.JSONDecodeError as e:
                hint = "; the last line looks half-written" if not raw.endswith(b"\n") else ""
                report.bad(f"invalid JSON ({e.msg} at column {e.colno}){hint}", line=number)
                continue
            if not isinstance(record, dict):
                report.bad(f"expected a JSON object, found {type(record).__name__}", line=number)
                continue
            yield f"{path.name}:{number}", record


def iter_jsonl(path: Path, report: Report, chunksize: int, columns: Mapping[str, str | None], *,
               max_record_chars: int = MAX_RECORD_CHARS) -> Iterator[pd.DataFrame]:
    """Standard frames from JSON Lines (one object per line); ids default to ``"<file>:<line>"``.

    The column mapping is checked against the keys of the first chunk. A line
    longer than ``max_record_chars`` characters is a bad record (and is never
    held whole).
    """
    return _frames_from_dicts(batched(_jsonl_records(path, report, max_record_chars), chunksize),
                              path, report, columns)


class _Position:
    """``(line, column)`` of increasing offsets in ``text``, counting each newline once."""

    def __init__(self, text: str):
        self.text = text
        self.index = 0
        self.line = 1
        self.line_start = 0

    def __call__(self, index: int) -> tuple[int, int]:
        if index < self.index:  # not expected: start again
            self.index, self.line, self.line_start = 0, 1, 0
        newlines = self.text.count("\n", self.index, index)
        if newlines:
            self.line += newlines
            self.line_start = self.text.rfind("\n", self.index, index) + 1
        self.index = index
        return self.line, index - self.line_start + 1


def _json_array(path: Path, report: Report,
                cap: int = MAX_RECORD_CHARS) -> Iterator[tuple[str, dict]]:
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as e:
        report.bad(f"file is not valid UTF-8 ({e.reason})", offset=e.start)
        return
    decoder = json.JSONDecoder()
    fix = may_hold_surrogates(text)
    position = _Position(text)
    ws = " \t\r\n"
    i = len(text) - len(text.lstrip(ws))
    if not text[i:i + 1] == "[":
        kind = "an object" if text[i:i + 1] == "{" else "no array"
        raise ReaderError(f"{path}: expected a JSON array of objects, found {kind}. A Discourse "
                          f"topic needs format='discourse', one object per line format='jsonl'.")
    i += 1
    number = 0
    while True:
        while i < len(text) and text[i] in ws:
            i += 1
        if text[i:i + 1] == "]":
            return
        try:
            record, end = decoder.raw_decode(text, i)
        except json.JSONDecodeError as e:
            line, col = position(e.pos)
            report.bad(f"invalid JSON ({e.msg}); the records after this point cannot be read",
                       line=line, column=col)
            return
        number += 1
        if end - i > cap:
            line, col = position(i)
            report.bad(f"array element {number}: {_too_long(cap)}", line=line, column=col)
        elif isinstance(record, dict):
            yield f"{path.name}:{number}", no_surrogates(record) if fix else record
        else:
            line, col = position(i)
            report.bad(f"array element {number} is {type(record).__name__}, not an object",
                       line=line, column=col)
        i = end
        while i < len(text) and text[i] in ws:
            i += 1
        if text[i:i + 1] == ",":
            i += 1
        elif text[i:i + 1] != "]":
            line, col = position(i)
            what = "the end of the file" if i >= len(text) else repr(text[i])
            report.bad(f"expected ',' or ']' after array element {number}, found {what}",
                       line=line, column=col)
            return


def iter_json(path: Path, report: Report, chunksize: int, columns: Mapping[str, str | None], *,
              max_record_chars: int = MAX_RECORD_CHARS) -> Iterator[pd.DataFrame]:
    """Standard frames from a JSON array of objects; ids default to ``"<file>:<element>"``.

    The file is read whole. A syntax error ends the array: the records before it
    are kept under ``errors="skip"``. An element longer than
    ``max_record_chars`` characters of JSON is a bad record.
    """
    return _frames_from_dicts(batched(_json_array(path, report, max_record_chars), chunksize),
                              path, report, columns)


# --------------------------------------------------------------------------- Parquet

def _row_chars(batch, pa, pc):
    """Characters (bytes for binary) in the string cells of each row, or ``None``."""
    total = None
    for col in batch.columns:
        t = col.type
        if pa.types.is_string(t) or pa.types.is_large_string(t):
            n = pc.utf8_length(col)
        elif pa.types.is_binary(t) or pa.types.is_large_binary(t):
            n = pc.binary_length(col)
        else:
            continue
        n = pc.fill_null(n, 0).to_numpy(zero_copy_only=False).astype("int64")
        total = n if total is None else total + n
    return total


def iter_parquet(path: Path, report: Report, chunksize: int, columns: Mapping[str, str | None], *,
                 max_record_chars: int = MAX_RECORD_CHARS) -> Iterator[pd.DataFrame]:
    """Standard frames from Parquet, a record batch at a time; ids default to ``"<file>:<row>"``.

    A row whose string and binary cells add up to more than ``max_record_chars``
    characters is a bad record.
    """
    try:
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.parquet as pq
    except ImportError as e:  # pragma: no cover - pyarrow is a dev dependency
        raise ImportError("Reading Parquet needs pyarrow, which is not installed: "
                          'pip install "kmlang[readers]"') from e
    try:
        pf = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as e:
        raise ReaderError(f"{path}: not a readable Parquet file ({e})") from e
    mapping = resolve_columns(pf.schema_arrow.names, columns, path)
    done = 0
    batches = pf.iter_batches(batch_size=chunksize)
    while True:
        try:
            batch = next(batches)
        except StopIteration:
            return
        except (pa.ArrowException, OSError) as e:
            report.bad(f"Parquet data cannot be decoded ({e})", row=done + 1)
            return
        rows = range(done + 1, done + batch.num_rows + 1)
        done += batch.num_rows
        chars = _row_chars(batch, pa, pc)
        if chars is not None and (chars > max_record_chars).any():
            keep = chars <= max_record_chars
            for row in (r for r, ok in zip(rows, keep, strict=True) if not ok):
                report.bad(_too_long(max_record_chars), row=row)
            batch = batch.filter(pa.array(keep))
            rows = [r for r, ok in zip(rows, keep, strict=True) if ok]
        df = batch.to_pandas()
        ids = [f"{path.name}:{r}" for r in rows]
        yield standardise(apply_columns(df, mapping), ids, report)
