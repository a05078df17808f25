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
from collections.abc import Iterator, Mapping, Sequence
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

__all__ = ["TEXT_NAMES", "resolve_columns", "apply_columns", "detect_encoding", "iter_csv",
           "iter_tsv", "iter_jsonl", "iter_json", "iter_parquet"]

#: Column names taken as the text when no ``text=`` mapping is given, in order.
TEXT_NAMES = ("text", "body", "content", "message")

# Long posts must not trip the csv module's 128 KiB default field limit.
if csv.field_size_limit() < 2**27:
    csv.field_size_limit(2**27)


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
            while block := f.read(1 << 20):
                decoder.decode(block)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def detect_encoding(path: Path) -> str:
    """``utf-8-sig``/``utf-16`` from a BOM, else ``utf-8`` if valid, else ``cp1252``/``latin-1``.

    The whole file is checked, a block at a time.
    """
    with open(path, "rb") as f:
        head = f.read(4)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        return "utf-16"
    for encoding in ("utf-8", "cp1252"):
        if _decodes(path, encoding):
            return encoding
    return "latin-1"


def _csv_rows(path: Path, report: Report, sep: str) -> Iterator[tuple[int, list[str]]]:
    """``(first line, fields)`` of each non-blank record; bad ones go to ``report``."""
    encoding = detect_encoding(path)
    report.encoding = encoding
    with open(path, encoding=encoding, newline="") as f:
        reader = csv.reader(f, delimiter=sep, strict=True)
        while True:
            start = reader.line_num + 1
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as e:
                report.bad(f"malformed {'TSV' if sep == chr(9) else 'CSV'} record ({e})",
                           line=start)
                continue
            except UnicodeDecodeError as e:
                report.bad(f"text is not valid {encoding} ({e.reason}); the rest of the file "
                           f"cannot be decoded", line=start)
                return
            if row:
                yield start, row


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
             sep: str = ",") -> Iterator[pd.DataFrame]:
    """Standard frames from a delimited file, ``chunksize`` records at a time.

    Empty fields are missing values; extra columns that hold only numbers become
    numeric. A record with more fields than the header is a bad record; one with
    fewer is padded with missing values. Ids default to ``"<file>:<line>"``.
    """
    rows = _csv_rows(path, report, sep)
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


def iter_tsv(path: Path, report: Report, chunksize: int,
             columns: Mapping[str, str | None]) -> Iterator[pd.DataFrame]:
    """Standard frames from a tab-separated file (see :func:`iter_csv`)."""
    return iter_csv(path, report, chunksize, columns, sep="\t")


# --------------------------------------------------------------------------- JSON

def _frames_from_dicts(batches: Iterator[list[tuple[str, dict]]], path: Path, report: Report,
                       columns: Mapping[str, str | None]) -> Iterator[pd.DataFrame]:
    mapping = None
    for batch in batches:
        df = pd.DataFrame.from_records([rec for _, rec in batch])
        if mapping is None:
            mapping = resolve_columns(list(df.columns), columns, path)
        yield standardise(apply_columns(df, mapping), [ref for ref, _ in batch], report)


def _jsonl_records(path: Path, report: Report) -> Iterator[tuple[str, dict]]:
    with open(path, "rb") as f:
        for number, raw in enumerate(f, 1):
            if number == 1 and raw.startswith(codecs.BOM_UTF8):
                raw = raw[len(codecs.BOM_UTF8):]
            if not raw.strip():
                continue
            try:
                record = load_json(raw.decode("utf-8"))
            except UnicodeDecodeError as e:
                report.bad(f"line is not valid UTF-8 ({e.reason} at byte {e.start})", line=number)
                continue
            except json.JSONDecodeError as e:
                hint = "; the last line looks half-written" if not raw.endswith(b"\n") else ""
                report.bad(f"invalid JSON ({e.msg} at column {e.colno}){hint}", line=number)
                continue
            if not isinstance(record, dict):
                report.bad(f"expected a JSON object, found {type(record).__name__}", line=number)
                continue
            yield f"{path.name}:{number}", record


def iter_jsonl(path: Path, report: Report, chunksize: int,
               columns: Mapping[str, str | None]) -> Iterator[pd.DataFrame]:
    """Standard frames from JSON Lines (one object per line); ids default to ``"<file>:<line>"``.

    The column mapping is checked against the keys of the first chunk.
    """
    return _frames_from_dicts(batched(_jsonl_records(path, report), chunksize), path, report,
                              columns)


def _line_of(text: str, index: int) -> tuple[int, int]:
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def _json_array(path: Path, report: Report) -> Iterator[tuple[str, dict]]:
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as e:
        report.bad(f"file is not valid UTF-8 ({e.reason})", offset=e.start)
        return
    decoder = json.JSONDecoder()
    fix = may_hold_surrogates(text)
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
            report.bad(f"invalid JSON ({e.msg}); the records after this point cannot be read",
                       line=e.lineno, column=e.colno)
            return
        number += 1
        if isinstance(record, dict):
            yield f"{path.name}:{number}", no_surrogates(record) if fix else record
        else:
            line, col = _line_of(text, i)
            report.bad(f"array element {number} is {type(record).__name__}, not an object",
                       line=line, column=col)
        i = end
        while i < len(text) and text[i] in ws:
            i += 1
        if text[i:i + 1] == ",":
            i += 1
        elif text[i:i + 1] != "]":
            line, col = _line_of(text, i)
            what = "the end of the file" if i >= len(text) else repr(text[i])
            report.bad(f"expected ',' or ']' after array element {number}, found {what}",
                       line=line, column=col)
            return


def iter_json(path: Path, report: Report, chunksize: int,
              columns: Mapping[str, str | None]) -> Iterator[pd.DataFrame]:
    """Standard frames from a JSON array of objects; ids default to ``"<file>:<element>"``.

    The file is read whole. A syntax error ends the array: the records before it
    are kept under ``errors="skip"``.
    """
    return _frames_from_dicts(batched(_json_array(path, report), chunksize), path, report,
                              columns)


# --------------------------------------------------------------------------- Parquet

def iter_parquet(path: Path, report: Report, chunksize: int,
                 columns: Mapping[str, str | None]) -> Iterator[pd.DataFrame]:
    """Standard frames from Parquet, a record batch at a time; ids default to ``"<file>:<row>"``."""
    try:
        import pyarrow as pa
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
        df = batch.to_pandas()
        ids = [f"{path.name}:{done + i + 1}" for i in range(len(df))]
        done += len(df)
        yield standardise(apply_columns(df, mapping), ids, report)
