"""Features for the classifier, from one spaCy pass per passage.

:class:`CueFeaturizer` turns passages (strings or already-parsed ``Doc`` objects)
into one sparse matrix: TF-IDF weighted word 1-2 grams over the author's own
tokens (spaCy ``NORM`` forms; quoted lines left out; numbers and URLs mapped to
placeholders), followed by the ``kmlang_cues`` counts (``log1p``) and rates.
The same ``Doc`` gives both, so nothing is tokenized twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.utils.validation import check_is_fitted
from spacy.attrs import IS_SPACE, LIKE_NUM, LIKE_URL, NORM
from spacy.tokens import Doc

from .component import QUOTES_KEY
from .nlp import get_nlp

__all__ = ["CueFeaturizer", "doc_terms"]


def _identity(x):
    return x


_URL, _NUM = "<url>", "<num>"


def author_words(doc: Doc) -> list[str]:
    """The author's tokens as ``NORM`` strings (numbers and URLs as placeholders; quoted lines and spaces left out).

    Works on ``doc.to_array`` columns instead of Token objects: this runs once
    per passage on the scoring path.
    """
    if len(doc) == 0:
        return []
    arr = doc.to_array([NORM, LIKE_URL, LIKE_NUM, IS_SPACE])
    keep = arr[:, 3] == 0
    quotes = doc.spans.get(QUOTES_KEY)
    if quotes:
        for span in quotes:
            keep[span.start : span.end] = False
    strings = doc.vocab.strings
    words = []
    for h, url, num in arr[keep, :3].tolist():
        words.append(_URL if url else _NUM if num else strings[h])
    return words


def doc_terms(doc: Doc, ngram_range: tuple[int, int] = (1, 2)) -> list[str]:
    """Word n-grams (joined by a space) of the author's tokens in ``doc``."""
    words = author_words(doc)
    lo, hi = ngram_range
    terms = words if lo <= 1 else []
    for n in range(max(2, lo), hi + 1):
        terms.extend(" ".join(words[i : i + n]) for i in range(len(words) - n + 1))
    return terms


class CueFeaturizer(TransformerMixin, BaseEstimator):
    """Passages -> sparse features: word n-grams plus ``kmlang_cues`` counts and rates.

    Parameters
    ----------
    nlp : None, str or Path
        Pipeline spec for :func:`kmlang.load_nlp` (``None``: blank English default).
        Only the spec is stored, so the estimator pickles without the pipeline.
    ngram_range : tuple of int
        Word n-gram sizes.
    min_df : int
        Minimum number of training passages an n-gram must occur in.
    max_features : int or None
        Keep the most frequent n-grams only.
    cue_weight : float
        Scale of the cue block relative to the (unit-norm) n-gram block.
    batch_size : int
        ``nlp.pipe`` batch size when parsing strings.
    """

    def __init__(self, nlp: str | Path | None = None, ngram_range: tuple[int, int] = (1, 2),
                 min_df: int = 2, max_features: int | None = 60000, cue_weight: float = 0.5,
                 batch_size: int = 256):
        self.nlp = nlp
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.max_features = max_features
        self.cue_weight = cue_weight
        self.batch_size = batch_size

    # -- parsing ----------------------------------------------------------------
    def _docs(self, X) -> list[Doc]:
        if isinstance(X, Doc):
            raise TypeError("Pass a list of texts or Docs, not a single Doc")
        items = list(X)
        if all(isinstance(x, Doc) for x in items):
            return items
        bad = [i for i, x in enumerate(items) if not isinstance(x, (str, Doc))]
        if bad:
            raise TypeError(f"CueFeaturizer expects strings or spaCy Docs; item {bad[0]} is "
                            f"{type(items[bad[0]]).__name__}. Use kmlang.score() for messy input.")
        nlp = get_nlp(self.nlp)
        texts = [x.text if isinstance(x, Doc) else x for x in items]
        return list(nlp.pipe(texts, batch_size=self.batch_size))

    def _cue_block(self, docs: Sequence[Doc]) -> np.ndarray:
        fams = self.families_
        out = np.zeros((len(docs), 2 * len(fams) + 1), dtype=np.float64)
        index = {f: i for i, f in enumerate(fams)}
        for r, doc in enumerate(docs):
            n = doc._.kml_n_tokens
            counts = doc._.kml_cue_counts
            for f, c in counts.items():
                j = index.get(f)
                if j is not None and c:
                    out[r, j] = np.log1p(c)
                    out[r, len(fams) + j] = min(10.0 * c / max(n, 1), 3.0)
            out[r, -1] = np.log1p(n) / 5.0
        return out * self.cue_weight

    # -- estimator API ------------------------------------------------------------
    def fit(self, X, y=None):
        self.fit_transform(X, y)
        return self

    def fit_transform(self, X, y=None):
        docs = self._docs(X)
        nlp = get_nlp(self.nlp)
        self.families_ = tuple(nlp.get_pipe("kmlang_cues").families)
        self.vectorizer_ = TfidfVectorizer(analyzer=_identity, min_df=self.min_df,
                                           max_features=self.max_features, sublinear_tf=True)
        terms = [doc_terms(d, self.ngram_range) for d in docs]
        ngrams = self.vectorizer_.fit_transform(terms)
        self.n_features_in_ = 1
        return sp.hstack([ngrams, sp.csr_matrix(self._cue_block(docs))], format="csr")

    def transform(self, X):
        check_is_fitted(self, "vectorizer_")
        return self.transform_docs(self._docs(X))

    def transform_docs(self, docs: Sequence[Doc]):
        """Features for already-parsed docs (the single spaCy pass of :func:`kmlang.score`)."""
        check_is_fitted(self, "vectorizer_")
        if not docs:
            return sp.csr_matrix((0, len(self.get_feature_names_out())))
        ngrams = self.vectorizer_.transform([doc_terms(d, self.ngram_range) for d in docs])
        return sp.hstack([ngrams, sp.csr_matrix(self._cue_block(docs))], format="csr")

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        check_is_fitted(self, "vectorizer_")
        grams = [f"ngram:{t}" for t in self.vectorizer_.get_feature_names_out()]
        cues = [f"cue:{f}" for f in self.families_] + [f"cue_rate:{f}" for f in self.families_]
        return np.asarray(grams + cues + ["length"], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.requires_fit = True
        return tags
