"""Turning what users pass (lists, Series, DataFrames) into texts plus a status per row."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

import numpy as np
import pandas as pd

from kmlang.cues.nlp import DEFAULT_MAX_CHARS

__all__ = ["as_frame", "clean_text", "STATUS_OK", "SCORED_STATUSES", "MAX_RUN_CHARS"]

STATUS_OK = "ok"
#: Statuses of rows that were parsed and scored (the rest have no scores).
SCORED_STATUSES = frozenset({"ok", "truncated", "non_english"})

#: Runs of more than this many characters without whitespace are broken by a space
#: every ``MAX_RUN_CHARS`` characters before parsing: spaCy's tokenizer takes time
#: quadratic in the length of such a run when it is made of punctuation or emoji
#: (100,000 ")" would take hours). No word is this long; long URLs are split.
MAX_RUN_CHARS = 100

_SURROGATES = re.compile("[\ud800-\udfff]")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# A character that is neither whitespace, a control character, nor invisible formatting
# (zero-width space/joiners, bidi marks, soft hyphen, variation selectors, BOM, tags).
_VISIBLE = re.compile("[^\\s\x00-\x08\x0e-\x1f\x7f\u00ad\u034f\u061c\u115f\u1160\u17b4"
                      "\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u206f\u3164"
                      "\ufe00-\ufe0f\ufeff\uffa0\U000e0000-\U000e0fff]")
_LONG_RUN = re.compile(rf"\S{{{MAX_RUN_CHARS}}}(?=\S)")
# either of the two above, so that clean text costs one scan for both
_SURROGATE_OR_CONTROL = re.compile("[\ud800-\udfff\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


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
        if isinstance(data[text], pd.DataFrame):
            raise ValueError(f"The data has {data[text].shape[1]} columns named {text!r}; "
                             f"rename them so that one column holds the passages.")
        return data.copy()
    if isinstance(data, pd.Series):
        return data.to_frame(name=text).copy()
    if isinstance(data, (str, bytes)):
        raise TypeError("Pass a list of texts (or a Series/DataFrame), not a single string: e.g. [text]")
    if isinstance(data, Iterable):
        return pd.DataFrame({text: pd.Series(list(data), dtype=object)})
    raise TypeError(f"Expected a list, Series or DataFrame of texts, got {type(data).__name__}")


def _is_missing(value) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, (float, np.floating)) and math.isnan(value)


def clean_text(value, max_chars: int = DEFAULT_MAX_CHARS) -> tuple[str | None, str]:
    """Return ``(text or None, status)`` for one cell.

    ``None``, NaN, ``pd.NA`` and ``NaT`` give ``missing``; non-strings (numbers,
    bytes, lists) give ``not_a_string``; text with nothing visible in it (empty,
    whitespace, control characters or zero-width characters only) gives
    ``empty``. Text longer than ``max_chars`` is cut to ``max_chars`` characters
    (from its first visible one) and gives ``truncated``; only the cut part is
    ever copied, so a 50 MB cell costs no more than a ``max_chars`` one. Lone
    surrogates become U+FFFD and control characters spaces (offsets are kept),
    so every later stage sees valid text; runs of more than
    :data:`MAX_RUN_CHARS` characters without whitespace get a space every
    ``MAX_RUN_CHARS`` characters (see there). The status is ``ok`` otherwise.
    """
    if _is_missing(value):
        return None, "missing"
    if not isinstance(value, str):
        return None, "not_a_string"
    first = _VISIBLE.search(value)
    if first is None:
        return None, "empty"
    status = STATUS_OK
    if len(value) > max_chars:
        start = first.start()
        value = value[start:start + max_chars]
        status = "truncated"
    if _SURROGATE_OR_CONTROL.search(value):
        value = _CONTROL.sub(" ", _SURROGATES.sub("\ufffd", value))
    # str.split splits where the regex's \s does (str.isspace) and finds a long run faster
    # than the regex's search, which retries at every character of a word; it copies the
    # words, so long texts keep the regex
    if len(value) <= 10_000:
        long_run = max(map(len, value.split()), default=0) > MAX_RUN_CHARS
    else:
        long_run = _LONG_RUN.search(value) is not None
    if long_run:
        value = _LONG_RUN.sub(r"\g<0> ", value)
    return str(value), status
