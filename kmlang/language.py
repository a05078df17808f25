"""A cheap, documented check for passages that are probably not English.

A parsed passage with at least 8 alphabetic tokens is flagged when fewer than
10% of them are English function words (spaCy's English stop-word list); any
passage is flagged when more than half of its alphabetic tokens are written
mostly outside the Latin script (letters above U+024F). Scores of flagged passages are still computed but marked
``status == "non_english"`` (out of the model's scope).
"""

from __future__ import annotations

import numpy as np
from spacy.attrs import IS_ALPHA, IS_ASCII, IS_PUNCT, IS_SPACE, IS_STOP, ORTH
from spacy.tokens import Doc

__all__ = ["looks_non_english"]

MIN_ALPHA = 8
MIN_STOP_SHARE = 0.10


def _non_latin_share(doc: Doc, arr: np.ndarray) -> float:
    """Share of word tokens written mostly outside the Latin script (only non-ASCII tokens are looked at)."""
    words = (arr[:, 4] == 0) & (arr[:, 5] == 0)
    if not words.any():
        return 0.0
    foreign = words & (arr[:, 2] == 0)
    if not foreign.any():
        return 0.0
    strings = doc.vocab.strings
    n = 0
    for h in arr[foreign, 3].tolist():
        letters = [c for c in strings[h] if c.isalpha()]
        n += sum(ord(c) > 0x024F for c in letters) * 2 > len(letters) > 0
    return n / int(words.sum())


def looks_non_english(doc: Doc) -> bool:
    """True when ``doc`` is probably not English (see the module docstring)."""
    if len(doc) == 0:
        return False
    arr = doc.to_array([IS_ALPHA, IS_STOP, IS_ASCII, ORTH, IS_SPACE, IS_PUNCT])
    alpha = arr[:, 0].astype(bool)
    n_alpha = int(alpha.sum())
    if n_alpha >= MIN_ALPHA and float(np.mean(arr[alpha, 1])) < MIN_STOP_SHARE:
        return True
    return _non_latin_share(doc, arr) > 0.5
