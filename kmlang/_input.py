"""Turning what users pass (lists, Series, DataFrames) into texts plus a status per row."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

import pandas as pd

from .nlp import DEFAULT_MAX_CHARS

__all__ = ["as_frame", "clean_text", "STATUS_OK", "SCORED_STATUSES"]

STATUS_OK = "ok"
#: Statuses of rows that were parsed and scored (the rest have no scores).
SCORED_STATUSES = frozenset({"ok", "truncated", "non_english"})

_SURROGATES = re.compile("[\ud800-\udfff]")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def as_frame(data, text: str = "text") -> pd.DataFrame:
    """Return a copy of ``data`` as a DataFrame with the text in column ``text``.

    A list, tuple, generator or Series becomes a one-column frame (a Series keeps
    its index). A DataFrame must have the column; a missing one raises ``KeyError``
    naming it and the columns that exist.
    """
    if isinstance(data, pd.DataFrame):
        if text not in data.columns:
            cols = ", ".join(map(str, data.columns[:20]))
            raise KeyError(f"No text column {text!r} in the data; columns are: {cols}. "
                           f"Pass text='<column>' to name the column that holds the passages.")
        return data.copy()
    if isinstance(data, pd.Series):
        return data.to_frame(name=text).copy()
    if isinstance(data, (str, bytes)):
        raise TypeError("Pass a list of texts (or a Series/DataFrame), not a single string: e.g. [text]")
    if isinstance(data, Iterable):
        return pd.DataFrame({text: pd.Series(list(data), dtype=object)})
    raise TypeError(f"Expected a list, Series or DataFrame of texts, got {type(data).__name__}")


def clean_text(value, max_chars: int = DEFAULT_MAX_CHARS) -> tuple[str | None, str]:
    """Return ``(text or None, status)`` for one cell.

    ``None``/NaN give ``missing``; non-strings (numbers, bytes, lists) give
    ``not_a_string``; empty or whitespace-only give ``empty``; longer than
    ``max_chars`` are cut there and give ``truncated``. Lone surrogates and
    control characters are replaced so that every later stage sees valid text.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None, "missing"
    if not isinstance(value, str):
        return None, "not_a_string"
    if _SURROGATES.search(value):
        value = _SURROGATES.sub("\ufffd", value)
    if _CONTROL.search(value):
        value = _CONTROL.sub(" ", value)
    if not value.strip():
        return None, "empty"
    if len(value) > max_chars:
        return value[:max_chars], "truncated"
    return value, STATUS_OK
