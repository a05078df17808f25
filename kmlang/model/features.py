"""Features for the classifier, from one spaCy pass per passage.

:class:`CueFeaturizer` turns passages (strings or already-parsed ``Doc`` objects)
into one sparse matrix: TF-IDF weighted word 1-2 grams over the author's own
tokens (spaCy ``NORM`` forms; quoted lines left out; numbers and URLs mapped to
placeholders), followed by the ``kmlang_cues`` counts (``log1p``) and rates.
Both come from one :meth:`~kmlang.component.CueComponent.analyse` of each batch,
so nothing is tokenized twice.

At transform time n-grams are not built as strings: each author token is its
``NORM`` hash, an n-gram a hash combined from its tokens' hashes, and columns
are found with one binary search over the vocabulary's hashes (recorded at fit
time, ``term_keys_``). The matrix equals what ``TfidfVectorizer.transform`` gives
on the strings (a test checks it).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.exceptions import NotFittedError
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.utils.validation import check_is_fitted
from spacy.tokens import Doc
from spacy.util import minibatch

from kmlang.cues._analysis import CueAnalysis
from kmlang.cues._input import clean_text
from kmlang.cues._tokens import FLAGS
from kmlang.cues.nlp import get_nlp

__all__ = ["CueFeaturizer", "doc_terms", "author_keys"]


#: Cue families that count words without their context (see ``context_free_families``).
CONTEXT_FREE_FAMILIES = ("first_person_singular", "first_person_plural", "second_person")
#: Personal pronouns (NORM forms) kept out of the unigram vocabulary (see ``drop_unigrams``).
PRONOUNS = ("i", "me", "my", "mine", "myself", "we", "us", "our", "ours", "ourselves",
            "you", "your", "yours", "yourself", "yourselves")
#: Stance words with senses that carry no stance ("share a flat", "market share", "open the
#: valve", "own goal"): kept out of the unigram vocabulary, so that the word alone does not decide;
#: their bigrams ("share my", "open to") and the context-aware cue families keep the sense.
SENSE_DEPENDENT = ("share", "shares", "shared", "sharing", "open", "opened", "opens", "own", "owns", "owned")
#: Single words kept out of the n-gram vocabulary by default (see ``drop_unigrams``).
UNIGRAMS_LEFT_OUT = PRONOUNS + SENSE_DEPENDENT
#: First-person-singular words (NORM forms): no n-gram holding one is in the vocabulary (see
#: ``drop_ngram_words``).
FIRST_PERSON_SINGULAR = ("i", "me", "my", "mine", "myself")


def analysis_covariates(analyses: Sequence[CueAnalysis]) -> tuple[np.ndarray, np.ndarray]:
    """``(log1p(tokens), rate of first-person-singular pronouns)`` per passage of the analysed
    batches: what a shortcut could stand in for stance (see ``decorrelation_weights``)."""
    n, i = [], []
    for an in analyses:
        n.append(an.n_tokens.astype(np.float64))
        i.append(an.counts[:, list(an.families).index("first_person_singular")].astype(np.float64))
    n = np.concatenate(n) if n else np.empty(0)
    i = np.concatenate(i) if i else np.empty(0)
    return np.log1p(n), i / np.maximum(n, 1.0)


def _cell_sums(code: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sums of ``counts`` over runs of equal values in the sorted ``code``: (codes, sums)."""
    if not len(code):
        return code, counts
    start = np.flatnonzero(np.concatenate(([True], code[1:] != code[:-1])))
    return code[start], np.add.reduceat(counts, start)


def _csr(code: np.ndarray, data: np.ndarray, n_rows: int, n_cols: int) -> sp.csr_matrix:
    """A CSR matrix from values at sorted, distinct codes ``row * n_cols + column``."""
    rows = code // n_cols
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n_rows), out=indptr[1:])
    return sp.csr_matrix((data, code % n_cols, indptr), shape=(n_rows, n_cols))


def _identity(x):
    return x


def _vectorizer(min_df: int, max_features: int | None) -> TfidfVectorizer:
    return TfidfVectorizer(analyzer=_identity, min_df=min_df, max_features=max_features, sublinear_tf=True)


_URL, _NUM = "<url>", "<num>"
_MULT = np.uint64(0x100000001B3)  # FNV-1a 64-bit prime: n-gram hash = prev * _MULT + next


def author_keys(an: CueAnalysis) -> tuple[np.ndarray, np.ndarray]:
    """``(keys, doc_ids)`` of the author's tokens: ``NORM`` hashes, URLs and numbers as placeholders."""
    t = an.table
    keep = an.author
    keys = t.norm[keep].copy()
    flags = t.flags[keep]
    keys[(flags & FLAGS["LIKE_NUM"]) != 0] = an.strings.add(_NUM)
    keys[(flags & FLAGS["LIKE_URL"]) != 0] = an.strings.add(_URL)
    return keys, t.doc_id[keep]


def ngram_keys(keys: np.ndarray, doc_ids: np.ndarray, ngram_range: tuple[int, int], *, spans: bool = False):
    """Hashes and doc ids of all n-grams (within one doc) of the token hashes ``keys``; with
    ``spans=True`` also each n-gram's first and last token position in ``keys``."""
    lo, hi = ngram_range
    out_k, out_d, out_a, out_b = [], [], [], []
    cur = keys
    for n in range(1, hi + 1):
        if n > 1:
            m = len(keys) - n + 1
            if m <= 0:
                break
            with np.errstate(over="ignore"):
                cur = cur[:m] * _MULT + keys[n - 1:]
            same = doc_ids[:m] == doc_ids[n - 1:]
        if n >= lo:
            if n == 1:
                out_k.append(cur)
                out_d.append(doc_ids)
                if spans:
                    out_a.append(np.arange(len(keys)))
                    out_b.append(np.arange(len(keys)))
            else:
                out_k.append(cur[same])
                out_d.append(doc_ids[:m][same])
                if spans:
                    start = np.flatnonzero(same)
                    out_a.append(start)
                    out_b.append(start + n - 1)
    if not out_k:
        empty = (np.empty(0, dtype=np.uint64), np.empty(0, dtype=np.int64))
        return empty + (np.empty(0, dtype=np.int64),) * 2 if spans else empty
    if spans:
        return tuple(np.concatenate(x) for x in (out_k, out_d, out_a, out_b))
    return np.concatenate(out_k), np.concatenate(out_d)


_SENTENCE_END = (".", "!", "?", ";")


def author_sentences(an: CueAnalysis) -> tuple[np.ndarray, np.ndarray]:
    """``(sentence, sentence_doc)``: a batch-wide sentence number for each of the author's
    tokens (the order of :func:`author_keys`) and the doc of each sentence. A sentence ends
    after ".", "!", "?" or ";" and at a line break; no parser is needed."""
    t = an.table
    orth = t.orth
    ends = orth == an.strings.add(_SENTENCE_END[0])
    for mark in _SENTENCE_END[1:]:
        ends |= orth == an.strings.add(mark)
    space = np.flatnonzero((t.flags & FLAGS["IS_SPACE"]) != 0)  # few: look at their text once each
    if len(space):
        kinds, which = np.unique(orth[space], return_inverse=True)
        ends[space[np.array(["\n" in an.strings[h] for h in kinds.tolist()])[which]]] = True
    sent = np.concatenate(([0], np.cumsum(ends[:-1]))) if len(ends) else np.empty(0, dtype=np.int64)
    keep = an.author
    s, d = sent[keep], t.doc_id[keep]
    new = np.ones(len(s), dtype=bool)
    new[1:] = (s[1:] != s[:-1]) | (d[1:] != d[:-1])
    return np.cumsum(new) - 1, d[new]




def _terms(words: list[str], ngram_range: tuple[int, int]) -> list[str]:
    lo, hi = ngram_range
    terms = list(words) if lo <= 1 else []
    for n in range(max(2, lo), hi + 1):
        terms.extend(" ".join(words[i : i + n]) for i in range(len(words) - n + 1))
    return terms


def doc_terms(doc: Doc, ngram_range: tuple[int, int] = (1, 2)) -> list[str]:
    """Word n-grams (joined by a space) of the author's tokens in ``doc``."""
    an = get_nlp(None).get_pipe("kmlang_cues").analyse([doc])
    keys, _ = author_keys(an)
    return _terms([an.strings[h] for h in keys.tolist()], ngram_range)


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
        Passages parsed and analysed together.
    length_feature : bool
        Add ``log1p(n_tokens)`` as a feature. Off by default: it let passage length
        push scores toward one pole (issue 13's shortcut check).
    context_free_families : tuple of str
        Cue families left out of the cue block: bare pronoun counts say nothing
        about stance by themselves ("I went to the meeting"), and their rates drove
        the score. Their words still enter through n-grams in context ("i know").
    drop_unigrams : tuple of str
        Single words kept out of the n-gram vocabulary: by default the personal
        pronouns, for the same reason, and "share", "open", "own" and their forms
        (``SENSE_DEPENDENT``), whose bare word says nothing about its sense ("share a
        flat", "open the window"); their bigrams stay. What leaving them out
        measured is in the model card ("What was tried").
    drop_ngram_words : tuple of str
        Words whose n-grams (any n) are all kept out of the vocabulary: by default
        the first-person-singular pronouns. Bigrams such as "i have" or "my code"
        let the rate of "I" stand in for stance (the shortcut check's correlation
        was 0.107 on dev's neutral passages with them, 0.064 without); what "I"
        means in context reaches the model through the cue families ("I don't
        know", "I know for a fact", "my notes", "I'm not posting it").
    sentence_weight : float
        Weight of a second n-gram block read sentence by sentence: each sentence's
        n-grams get TF-IDF weights normalised within that sentence, and the passage
        keeps, for each n-gram, its largest weight in any one sentence
        (``sentence_ngram:`` features). A stance is usually carried by one
        sentence; in the passage-wide block its words weigh less the longer the
        passage is, here they do not. 0 (the default) leaves the block out.
    """

    def __init__(self, nlp: str | Path | None = None, ngram_range: tuple[int, int] = (1, 2),
                 min_df: int = 2, max_features: int | None = 60000, cue_weight: float = 0.5,
                 batch_size: int = 256, length_feature: bool = False,
                 context_free_families: tuple[str, ...] = CONTEXT_FREE_FAMILIES,
                 drop_unigrams: tuple[str, ...] = UNIGRAMS_LEFT_OUT,
                 drop_ngram_words: tuple[str, ...] = FIRST_PERSON_SINGULAR, sentence_weight: float = 0.0):
        self.nlp = nlp
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.max_features = max_features
        self.cue_weight = cue_weight
        self.batch_size = batch_size
        self.length_feature = length_feature
        self.context_free_families = context_free_families
        self.drop_unigrams = drop_unigrams
        self.drop_ngram_words = drop_ngram_words
        self.sentence_weight = sentence_weight

    # -- parsing ----------------------------------------------------------------
    def _analyses(self, X):
        """Parse (strings) or take (Docs) the passages and analyse them batch by batch."""
        if isinstance(X, (Doc, str)):
            raise TypeError("Pass a list of texts or Docs, not a single one")
        items = list(X)
        bad = [i for i, x in enumerate(items) if not isinstance(x, (str, Doc))]
        if bad:
            raise TypeError(f"CueFeaturizer expects strings or spaCy Docs; item {bad[0]} is "
                            f"{type(items[bad[0]]).__name__}. Use kmlang.score() for messy input.")
        nlp = get_nlp(self.nlp)
        comp = nlp.get_pipe("kmlang_cues")
        if all(isinstance(x, Doc) for x in items):
            docs = iter(items)
        else:
            # the same cleaning as kmlang.score (long runs broken, control characters)
            texts = [(clean_text(x.text if isinstance(x, Doc) else x)[0] or "") for x in items]
            docs = nlp.pipe(texts, batch_size=self.batch_size, disable=["kmlang_cues"])
        for batch in minibatch(docs, size=self.batch_size):
            yield comp.analyse(batch)

    def _cue_block(self, an: CueAnalysis) -> np.ndarray:
        counts = np.zeros((an.n_docs, len(self.families_)), dtype=np.float64)
        index = {f: i for i, f in enumerate(self.families_)}
        have = an.counts
        for j, f in enumerate(an.families):
            if f in index:
                counts[:, index[f]] = have[:, j]
        n = an.n_tokens.astype(np.float64)
        rates = np.minimum(10.0 * counts / np.maximum(n, 1.0)[:, None], 3.0)
        parts = [np.log1p(counts), rates]
        if getattr(self, "length_feature", True):
            parts.append((np.log1p(n) / 5.0)[:, None])
        return np.hstack(parts) * self.cue_weight

    # -- estimator API ------------------------------------------------------------
    def fit(self, X, y=None):
        self.fit_transform(X, y)
        return self

    def fit_transform(self, X, y=None):
        return self.fit_analyses(list(self._analyses(X)))

    def analyses(self, X) -> list[CueAnalysis]:
        """The cue analyses of passages ``X``, batch by batch (one spaCy pass), for
        :meth:`fit_analyses` and :func:`analysis_covariates` to share."""
        return list(self._analyses(X))

    def fit_analyses(self, analyses: list[CueAnalysis]):
        """:meth:`fit_transform` on already-analysed batches."""
        nlp = get_nlp(self.nlp)
        drop = set(self.context_free_families or ())
        self.families_ = tuple(f for f in nlp.get_pipe("kmlang_cues").families if f not in drop)
        terms: list[list[str]] = []
        seen: dict[str, set[int]] = {}
        for an in analyses:
            keys, dids = author_keys(an)
            bounds = np.searchsorted(dids, np.arange(an.n_docs + 1))
            for i in range(an.n_docs):
                k = keys[bounds[i]:bounds[i + 1]]
                t = _terms([an.strings[h] for h in k.tolist()], self.ngram_range)
                hashes, _ = ngram_keys(k, np.zeros(len(k), dtype=np.int64), self.ngram_range)
                for term, h in zip(t, hashes.tolist(), strict=True):  # same order: unigrams, then bigrams, ...
                    seen.setdefault(term, set()).add(h)
                terms.append(t)
        self.vectorizer_ = _vectorizer(self.min_df, self.max_features)
        stop = set(self.drop_unigrams or ())
        words = set(self.drop_ngram_words or ())
        if stop or words:
            terms = [[t for t in ts if t not in stop and words.isdisjoint(t.split(" "))] for ts in terms]
        self.vectorizer_.fit(terms)
        # one term string can come from more than one token sequence (a NORM may hold a space)
        pairs = sorted((h, col) for term, col in self.vectorizer_.vocabulary_.items() for h in seen[term])
        self.ngram_hashes_ = np.array([h for h, _ in pairs], dtype=np.uint64)
        self.ngram_columns_ = np.array([c for _, c in pairs], dtype=np.int64)
        self.n_features_in_ = 1
        return sp.vstack([self.transform_analysis(an) for an in analyses], format="csr")

    def transform(self, X):
        check_is_fitted(self, "vectorizer_")
        mats = [self.transform_analysis(an) for an in self._analyses(X)]
        if not mats:
            return sp.csr_matrix((0, len(self.get_feature_names_out())))
        return sp.vstack(mats, format="csr")

    def transform_docs(self, docs: Sequence[Doc]):
        """Features for already-parsed docs."""
        return self.transform(list(docs))

    def transform_analysis(self, an: CueAnalysis) -> sp.csr_matrix:
        """Features of an analysed batch (the single spaCy pass of :func:`kmlang.score`)."""
        check_is_fitted(self, "vectorizer_")
        if not hasattr(self, "ngram_hashes_"):
            raise NotFittedError("This model was trained by kmlang 0.1 before n-gram hashes were recorded; "
                                 "retrain it with `kmlang train` (the same data gives the same model).")
        keys, dids = author_keys(an)
        weight = getattr(self, "sentence_weight", 0.0)  # models saved before it have no sentence block
        if weight:
            grams, rows, first, last = ngram_keys(keys, dids, self.ngram_range, spans=True)
        else:
            (grams, rows), first, last = ngram_keys(keys, dids, self.ngram_range), None, None
        if len(self.ngram_hashes_) and len(grams):
            index, columns = self._ngram_index()
            pos = index.get_indexer(grams)  # one hashed look-up per n-gram
            hit = pos >= 0
            rows, cols = rows[hit], columns[pos[hit]]
            if weight:
                first, last = first[hit], last[hit]
        else:
            rows = cols = first = last = np.empty(0, dtype=np.int64)
        n_docs, n_cols = an.n_docs, len(self.vectorizer_.vocabulary_)
        # One sort serves both n-gram blocks: the key orders n-gram occurrences by (doc,
        # column), then by sentence, and marks the n-grams that cross a sentence end.
        code = rows.astype(np.int64) * n_cols + cols
        if weight:
            sent, sent_doc = author_sentences(an)
            n_sent = max(len(sent_doc), 1)
            if n_docs * n_cols * n_sent * 2 >= 2**62:
                raise ValueError(f"a batch of {n_docs} passages with {n_sent} sentences is too large to "
                                 "featurize at once: use a smaller batch_size")
            starts = sent[first]
            code = (code * n_sent + starts) * 2 + (starts != sent[last])
        code, counts = np.unique(code, return_counts=True)
        if weight:
            crossing, code = (code & 1).astype(bool), code >> 1
            code, sentence = code // n_sent, code % n_sent
        # counts per (doc, column): the passage block
        passage, cells = _cell_sums(code, counts) if weight else (code, counts)
        blocks = [_csr(passage, self._tfidf(passage, cells, n_docs), n_docs, n_cols),
                  sp.csr_matrix(self._cue_block(an))]
        if weight:
            # the n-grams within one sentence: TF-IDF per sentence, each with its own norm,
            # then for each (doc, column) the largest value over the doc's sentences
            inside = ~crossing
            code, sentence = code[inside], sentence[inside]
            values = self._tfidf(code, counts[inside], n_sent, norm_rows=sentence)
            start = np.flatnonzero(np.concatenate(([True], code[1:] != code[:-1]))) if len(code) else code
            best = np.maximum.reduceat(values, start) if len(code) else values
            blocks.append(_csr(code[start], best * weight, n_docs, n_cols))
        return sp.hstack(blocks, format="csr")

    def _tfidf(self, code: np.ndarray, counts: np.ndarray, n_norm: int,
               norm_rows: np.ndarray | None = None) -> np.ndarray:
        """What TfidfTransformer does to n-gram ``counts`` at ``code`` (doc * columns + column):
        sublinear tf, idf, then l2 norm over each doc, or over each of ``n_norm`` groups
        ``norm_rows`` (sentences). The values, in the order of ``code``."""
        n_cols = len(self.vectorizer_.vocabulary_)
        data = counts.astype(np.float64)
        np.log(data, out=data)
        data += 1.0
        data *= self.vectorizer_.idf_[code % n_cols]
        rows = code // n_cols if norm_rows is None else norm_rows
        norm = np.sqrt(np.bincount(rows, weights=data * data, minlength=n_norm))
        data /= norm[rows]
        return data

    def _ngram_index(self) -> tuple[pd.Index, np.ndarray]:
        """A hashed index over ``ngram_hashes_`` and the column of each entry (built on first
        use, not saved with the model). A hash held twice keeps its first entry."""
        cached = self.__dict__.get("_ngram_index_cache")
        if cached is None or cached[2] is not self.ngram_hashes_:
            uniq, first = np.unique(self.ngram_hashes_, return_index=True)
            cached = (pd.Index(uniq), self.ngram_columns_[first], self.ngram_hashes_)
            self.__dict__["_ngram_index_cache"] = cached
        return cached[0], cached[1]

    def __getstate__(self):
        """The fitted vocabulary is saved as plain arrays (terms by column, idf), not as a
        ``TfidfVectorizer`` holding a function: a model file then names no callable, and
        loads fast with :mod:`skops.io`."""
        state = dict(super().__getstate__())  # a copy: object.__getstate__ may return __dict__ itself
        state.pop("_ngram_index_cache", None)
        vec = state.pop("vectorizer_", None)
        if vec is not None:
            terms = np.empty(len(vec.vocabulary_), dtype=object)
            for term, col in vec.vocabulary_.items():
                terms[col] = term
            state["vocabulary_terms_"] = terms.astype(str)
            state["vocabulary_idf_"] = np.asarray(vec.idf_, dtype=np.float64)
        return state

    def __setstate__(self, state):
        terms, idf = state.pop("vocabulary_terms_", None), state.pop("vocabulary_idf_", None)
        super().__setstate__(state)
        if terms is not None:
            self.vectorizer_ = _vectorizer(self.min_df, self.max_features)
            self.vectorizer_.vocabulary_ = {str(t): i for i, t in enumerate(terms.tolist())}
            self.vectorizer_.idf_ = idf

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        check_is_fitted(self, "vectorizer_")
        grams = [f"ngram:{t}" for t in self.vectorizer_.get_feature_names_out()]
        cues = [f"cue:{f}" for f in self.families_] + [f"cue_rate:{f}" for f in self.families_]
        tail = ["length"] if getattr(self, "length_feature", True) else []
        if getattr(self, "sentence_weight", 0.0):
            tail += [f"sentence_ngram:{t}" for t in self.vectorizer_.get_feature_names_out()]
        return np.asarray(grams + cues + tail, dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.requires_fit = True
        return tags
