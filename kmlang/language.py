"""A cheap, documented check for passages that are probably not English.

A parsed passage with at least 8 alphabetic tokens is flagged when fewer than
10% of them are English function words (spaCy's English stop-word list); any
passage is flagged when more than half of its letters are outside the Latin
script. Scores of flagged passages are still computed but marked
``status == "non_english"`` (out of the model's scope).
"""

from __future__ import annotations

import numpy as np
from spacy.attrs import IS_ALPHA, IS_STOP
from spacy.tokens import Doc

__all__ = ["looks_non_english"]

MIN_ALPHA = 8
MIN_STOP_SHARE = 0.10


def _non_latin_share(text: str) -> float:
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return 0.0
    return sum(ord(c) > 0x024F for c in letters) / len(letters)


def looks_non_english(doc: Doc) -> bool:
    """True when ``doc`` is probably not English (see the module docstring)."""
    if len(doc) == 0:
        return False
    arr = doc.to_array([IS_ALPHA, IS_STOP])
    alpha = arr[:, 0].astype(bool)
    n_alpha = int(alpha.sum())
    if n_alpha >= MIN_ALPHA and float(np.mean(arr[alpha, 1])) < MIN_STOP_SHARE:
        return True
    return _non_latin_share(doc.text[:5000]) > 0.5
