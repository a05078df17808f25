"""A cheap, documented check for passages that are probably not English.

A parsed passage with at least 8 alphabetic tokens is flagged when fewer than
10% of them are English function words (spaCy's English stop-word list); any
passage is flagged when more than half of its word tokens (not spaces or
punctuation) are written mostly outside the Latin script (letters above U+024F).
Scores of flagged passages are still computed but marked
``status == "non_english"`` (out of the model's scope).
"""

from __future__ import annotations

import numpy as np
from spacy.tokens import Doc

from kmlang.cues._tokens import TokenTable, token_table

__all__ = ["looks_non_english", "non_english"]

MIN_ALPHA = 8
MIN_STOP_SHARE = 0.10


def looks_non_english(doc: Doc) -> bool:
    """True when ``doc`` is probably not English (see the module docstring)."""
    return bool(non_english(token_table([doc]))[0])


def non_english(t: TokenTable) -> np.ndarray:
    """:func:`looks_non_english` for every doc of a batch at once (from its token table)."""
    n = t.n_docs
    ids = t.doc_id
    alpha = t.has("IS_ALPHA")
    n_alpha = np.bincount(ids[alpha], minlength=n)
    n_stop = np.bincount(ids[alpha & t.has("IS_STOP")], minlength=n)
    few_stop = (n_alpha >= MIN_ALPHA) & (n_stop < MIN_STOP_SHARE * np.maximum(n_alpha, 1))
    words = ~(t.has("IS_SPACE") | t.has("IS_PUNCT"))
    n_words = np.bincount(ids[words], minlength=n)
    n_foreign = np.bincount(ids[words & ~t.has("IS_ASCII") & t.has("NON_LATIN")], minlength=n)
    return few_stop | (n_foreign * 2 > n_words) & (n_words > 0)
