"""The standard frame every reader returns, and timestamp parsing."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal

import numpy as np
import pandas as pd

from kmlang.io.readers._report import Report

__all__ = ["STANDARD", "LABELS", "empty_frame", "standardise", "frames_from_records", "to_utc",
           "as_label", "load_json", "no_surrogates", "may_hold_surrogates"]

#: The leading columns of every frame, in this order.
STANDARD = ("text", "author", "doc_id", "timestamp", "id", "parent_id")
#: Standard columns that hold string labels (``None`` where unknown).
LABELS = ("author", "doc_id", "id", "parent_id")

_TS_DTYPE = "datetime64[ns, UTC]"
_NUMBER = r"\s*[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?\s*"
_LOW, _HIGH = pd.Timestamp.min.tz_localize("UTC"), pd.Timestamp.max.tz_localize("UTC")


_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def no_surrogates(value):
    """Decoded JSON with lone surrogates (from escapes such as ``"\\ud800"``) as U+FFFD.

    Such strings are not valid Unicode: they cannot be written as UTF-8, and
    pandas' string columns refuse them.
    """
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value) if _SURROGATE.search(value) else value
    if isinstance(value, dict):
        return {no_surrogates(k): no_surrogates(v) for k, v in value.items()}
    if isinstance(value, list):
        return [no_surrogates(v) for v in value]
    return value


def load_json(text: str):
    """``json.loads`` whose strings are valid Unicode (see :func:`no_surrogates`)."""
    value = json.loads(text)
    return no_surrogates(value) if _SURROGATE_ESCAPE.search(text) else value


def may_hold_surrogates(text: str) -> bool:
    """Whether JSON ``text`` has an escape that may decode to a lone surrogate."""
    return _SURROGATE_ESCAPE.search(text) is not None


def _missing(value) -> bool:
    if type(value) is str:
        return False
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def as_label(value) -> str | None:
    """A cell as an id/name string: ``None`` for missing, ``3.0`` as ``"3"``."""
    if type(value) is str:
        return value
    if _missing(value):
        return None
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _epoch(values: pd.Series) -> pd.Series:
    """Epoch numbers (or numeric strings, read exactly) to UTC times.

    Magnitudes above 1e11, 1e14 and 1e17 are taken as ms, us and ns.
    """
    nanos: list[int | None] = []
    for v in values:
        if isinstance(v, str):
            d = Decimal(v.strip())
        else:
            d = Decimal(int(v)) if isinstance(v, (int, np.integer)) else Decimal(float(v))
        if not d.is_finite():
            nanos.append(None)
            continue
        size = abs(d)
        unit = 10**9 if size <= 1e11 else 10**6 if size <= 1e14 else 10**3 if size <= 1e17 else 1
        ns = int(d * unit)
        nanos.append(ns if abs(ns) < 9.2e18 else None)
    nat = np.iinfo(np.int64).min  # the int64 pattern of NaT
    raw = np.array([nat if ns is None else ns for ns in nanos], dtype=np.int64)
    return pd.Series(raw.view("datetime64[ns]"), index=values.index).dt.tz_localize("UTC")


def to_utc(values, report: Report | None = None) -> pd.Series:
    """Parse timestamps to ``datetime64[ns, UTC]``; naive times are taken as UTC.

    Accepts datetimes, ISO 8601 and other date strings, and epoch seconds (as
    numbers or numeric strings; magnitudes above 1e11 are read as milliseconds).
    Values that cannot be parsed (or fall outside the years 1677-2262) become
    ``NaT`` and are counted in ``report.unparsed_timestamps``.
    """
    s = pd.Series(values).reset_index(drop=True)
    out = pd.Series(pd.NaT, index=s.index, dtype=_TS_DTYPE)
    if s.empty:
        return out
    present = ~s.map(_missing).astype(bool)
    if isinstance(s.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(s.dtype):
        parsed = pd.to_datetime(s, utc=True)
        out = _clip(parsed)
    elif pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        out = _epoch(s.where(present, 0))
        out[~present] = pd.NaT
    else:
        obj = s.astype(object)
        if all(type(v) is str for v in obj[present]):  # the common case: all strings
            numeric = obj.where(present, "").astype(str).str.fullmatch(_NUMBER) & present
        else:
            numeric = pd.Series([isinstance(v, (int, float, np.number)) and not isinstance(v, bool)
                                 or (isinstance(v, str) and _is_number(v)) for v in obj],
                                index=s.index, dtype=bool) & present
        if numeric.any():
            out[numeric] = _epoch(obj[numeric])
        rest = present & ~numeric
        if rest.any():
            out[rest] = _parse_dates(obj[rest])
    if report is not None:
        report.unparsed_timestamps += int((present & out.isna()).sum())
    return out


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return text.strip().lower() not in {"nan", "inf", "-inf", "infinity", "-infinity", "+inf"}


def _parse_dates(values: pd.Series) -> pd.Series:
    items = [v.strip() if isinstance(v, str) else v for v in values]
    vals = pd.Series(items, index=values.index, dtype=object)
    try:
        parsed = pd.to_datetime(vals, utc=True, errors="coerce", format="ISO8601")
    except (ValueError, TypeError):
        parsed = pd.Series(pd.NaT, index=vals.index, dtype=_TS_DTYPE)
    failed = parsed.isna()
    if failed.any():
        retry = []
        for v in vals[failed]:
            try:
                retry.append(pd.to_datetime(v, utc=True, format="mixed"))
            except (ValueError, TypeError, OverflowError):
                retry.append(pd.NaT)
        parsed = parsed.astype(object)
        parsed[failed] = retry
        parsed = pd.to_datetime(parsed, utc=True)
    return _clip(parsed)


def _clip(parsed: pd.Series) -> pd.Series:
    parsed = parsed.where((parsed >= _LOW) & (parsed <= _HIGH))
    return parsed.astype(_TS_DTYPE)


def empty_frame() -> pd.DataFrame:
    """A standard frame with no rows."""
    return standardise(pd.DataFrame(), [])


def standardise(df: pd.DataFrame, fallback_ids: Sequence[str],
                report: Report | None = None) -> pd.DataFrame:
    """Standard columns first (added where absent), then the others as they are.

    ``df`` already uses the standard names. Labels become strings or ``None``,
    ``timestamp`` becomes ``datetime64[ns, UTC]``, and a missing ``id`` is
    filled from ``fallback_ids`` (one per row).
    """
    n = len(df)
    cols: dict[str, pd.Series] = {}
    for name in ("text", *LABELS):
        values = df[name].tolist() if name in df.columns else [None] * n
        if name == "text":
            cleaned = [None if _missing(v) else v for v in values]
        else:
            cleaned = [as_label(v) for v in values]
        if name == "id":
            cleaned = [v if v is not None else fb
                       for v, fb in zip(cleaned, fallback_ids, strict=True)]
        cols[name] = pd.Series(cleaned, dtype=object)
    if "timestamp" in df.columns:
        cols["timestamp"] = to_utc(df["timestamp"], report)
    else:
        cols["timestamp"] = pd.Series(pd.NaT, index=range(n), dtype=_TS_DTYPE)
    head = pd.DataFrame({name: cols[name] for name in STANDARD})
    extras = [c for c in df.columns if c not in STANDARD]
    if not extras:
        return head
    return pd.concat([head, df[extras].reset_index(drop=True)], axis=1)


def batched(items: Iterable, size: int) -> Iterator[list]:
    """Lists of at most ``size`` items."""
    batch: list = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def frames_from_records(records: Iterable[dict], chunksize: int, report: Report,
                        prefix: str) -> Iterator[pd.DataFrame]:
    """Standard frames of at most ``chunksize`` rows from record dicts.

    A record without ``id`` gets ``"<prefix>:<n>"``, n counting records from 1.
    """
    done = 0
    for batch in batched(records, chunksize):
        ids = [f"{prefix}:{done + i + 1}" for i in range(len(batch))]
        done += len(batch)
        yield standardise(pd.DataFrame.from_records(batch), ids, report)
