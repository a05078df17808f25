"""``kmlang.score``: positions, relevances and labels for every passage."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from spacy.language import Language

from kmlang.cues._input import as_frame
from kmlang.cues._parallel import CHUNK
from kmlang.cues.frame import analyse_texts, cue_table
from kmlang.cues.language import non_english
from kmlang.cues.nlp import DEFAULT_MAX_CHARS, get_nlp
from kmlang.shifts import TARGETS

__all__ = ["score", "score_docs", "score_columns", "resolve_model"]


def score_columns(targets=TARGETS) -> list[str]:
    cols = []
    for t in targets:
        cols += [t, f"{t}_relevance", f"{t}_label"]
    return cols


def resolve_model(model):
    """``None`` -> the default model; a path -> :func:`kmlang.load_model`; a fitted model as is."""
    from kmlang.model.classifier import ShiftClassifier
    from kmlang.model.persist import load_model

    if model is None or isinstance(model, (str, Path)):
        return load_model(model)
    if not isinstance(model, ShiftClassifier):
        raise TypeError(f"model must be a ShiftClassifier, a model directory or None, got {type(model).__name__}")
    return model


class _ScoreColumns:
    """Position, relevance and label arrays per target, filled batch by batch."""

    def __init__(self, model, n: int) -> None:
        self.model = model
        self.pos = {t: np.full(n, np.nan) for t in model.targets_}
        self.rel = {t: np.full(n, np.nan) for t in model.targets_}
        self.lab = {t: np.zeros(n, dtype="int8") for t in model.targets_}
        self.missing = np.ones(n, dtype=bool)

    def fill(self, rows: np.ndarray, features) -> None:
        if not len(rows):
            return
        proba = self.model.predict_proba_features(features)
        labels = self.model.decide(proba)
        for t, p in proba.items():
            self.pos[t][rows] = p[:, 2] - p[:, 0]
            self.rel[t][rows] = 1.0 - p[:, 1]
            self.lab[t][rows] = labels[t]
        self.missing[rows] = False

    def columns(self) -> dict[str, object]:
        out: dict[str, object] = {}
        for t in self.model.targets_:
            out[t] = self.pos[t]
            out[f"{t}_relevance"] = self.rel[t]
            out[f"{t}_label"] = pd.arrays.IntegerArray(self.lab[t], self.missing.copy())
        return out


def score_docs(model, docs: list) -> dict[str, np.ndarray]:
    """Score columns for parsed docs (``None`` entries give NaN and a missing label)."""
    rows = np.array([i for i, d in enumerate(docs) if d is not None], dtype=np.int64)
    cols = _ScoreColumns(model, len(docs))
    if len(rows):
        cols.fill(rows, model.featurizer_.transform_docs([docs[i] for i in rows]))
    return cols.columns()


def score(data, text: str = "text", *, model=None, nlp: str | Path | Language | None = None,
          n_process: int = 1, batch_size: int = 256, max_chars: int = DEFAULT_MAX_CHARS,
          progress: bool | None = None, cues: bool = False) -> pd.DataFrame:
    """Score passages on the eleven shifts and ``overall``.

    Parameters
    ----------
    data : list of str, Series or DataFrame
        Passages; a DataFrame must have the column ``text``.
    text : str
        Name of the text column.
    model : None, path or ShiftClassifier
        Default: the model shipped with kmlang.
    nlp : None, name, path or Language
        Pipeline to parse with (default: the one the model was trained with).
    n_process, batch_size : int
        Passed to ``nlp.pipe``.
    max_chars : int
        Passages longer than this are scored on their first ``max_chars``
        characters and flagged ``truncated``.
    progress : bool, optional
        Progress bar (default: for 2,000+ passages on a terminal).
    cues : bool
        Also return the cue count/rate columns of :func:`kmlang.cues`.

    Returns
    -------
    DataFrame
        The input's index and columns, then ``n_tokens``, ``status`` and for each
        target ``<id>`` (position in [-1, 1] = P(+1) - P(-1)), ``<id>_relevance``
        (1 - P(0)) and ``<id>_label`` (-1/0/+1, decided with the model's per-target
        thresholds, see :class:`~kmlang.model.ShiftClassifier`). ``status`` is
        ``ok``; ``truncated``; ``non_english`` (scored, but out of scope; also
        when truncated); or why the row has no scores: ``missing``,
        ``not_a_string``, ``empty``, or ``quoted_only`` (an e-mail whose own text is
        empty because it only forwards or quotes others; see the mbox reader).
        One output row per input row, always.
    """
    frame = as_frame(data, text)
    clf = resolve_model(model)
    if n_process > 1 and len(frame) >= 2 * CHUNK and (nlp is None or not isinstance(nlp, Language)):
        return _quoted_only(_score_parallel(frame, text, clf, nlp, n_process, batch_size, max_chars,
                                            progress, cues))
    pipeline = get_nlp(nlp if nlp is not None else clf.featurizer_.nlp)
    texts = list(frame[text])
    statuses, batches = analyse_texts(texts, pipeline, n_process=n_process, batch_size=batch_size,
                                      max_chars=max_chars, progress=progress)
    return _quoted_only(_assemble(frame, len(texts), statuses, batches, clf, pipeline, cues))


def _quoted_only(out: pd.DataFrame) -> pd.DataFrame:
    """A message that only quotes or forwards others (``quoted_only`` from the mbox reader): its empty
    own text gets the status ``quoted_only`` rather than ``empty``."""
    if "quoted_only" in out.columns:
        mask = out["quoted_only"].eq(True).to_numpy() & out["status"].eq("empty").to_numpy()
        out.loc[mask, "status"] = "quoted_only"
    return out


def _worker_score(texts: list, *, text: str, clf, nlp, batch_size: int, max_chars: int,
                  cues: bool) -> pd.DataFrame:
    frame = pd.DataFrame({text: pd.Series(texts, dtype=object)})
    out = score(frame, text, model=clf, nlp=nlp, n_process=1, batch_size=batch_size, max_chars=max_chars,
                progress=False, cues=cues)
    return out.drop(columns=[text])


def scoring_pool(model=None, *, nlp=None, n_process: int = 2, batch_size: int = 256,
                 max_chars: int = DEFAULT_MAX_CHARS, text: str = "text", cues: bool = False):
    """Worker processes that score for a whole job: ``job = submit_scores(pool, frame)`` returns at
    once, ``collect_scores(job)`` gives what :func:`score` would. Use as a context manager."""
    from kmlang.cues._parallel import ChunkPool

    state = {"text": text, "clf": resolve_model(model), "nlp": nlp, "batch_size": batch_size,
             "max_chars": max_chars, "cues": cues}
    return ChunkPool(_worker_score, n_process, state)


def submit_scores(pool, data, text: str = "text"):
    """Queue the passages of ``data`` on ``pool`` (see :func:`scoring_pool`)."""
    frame = as_frame(data, text)
    return frame, text, pool.submit(list(frame[text]))


def collect_scores(job) -> pd.DataFrame:
    """Wait for a job of :func:`submit_scores`; the frame :func:`score` would return."""
    from kmlang.cues._parallel import ChunkPool

    frame, text, futures = job
    return _quoted_only(_beside(frame, ChunkPool.gather(futures)))


def _beside(frame: pd.DataFrame, scored: pd.DataFrame) -> pd.DataFrame:
    scored.index = frame.index
    dup = [c for c in scored.columns if c in frame.columns]
    if dup:
        frame = frame.rename(columns={c: f"input_{c}" for c in dup})
    return pd.concat([frame, scored], axis=1)


def _score_parallel(frame, text, clf, nlp, n_process, batch_size, max_chars, progress, cues) -> pd.DataFrame:
    """Score in ``n_process`` worker processes, each parsing *and* scoring its chunks."""
    from kmlang.cues._parallel import run_chunks

    state = {"text": text, "clf": clf, "nlp": nlp, "batch_size": batch_size, "max_chars": max_chars, "cues": cues}
    scored = run_chunks(_worker_score, list(frame[text]), n_process, state, progress=progress)
    return _beside(frame, scored)


def _assemble(frame: pd.DataFrame, n: int, statuses, batches, clf, pipeline, with_cues: bool) -> pd.DataFrame:
    """Score the analysed batches and put the columns beside the input frame."""
    statuses = list(statuses)
    families = pipeline.get_pipe("kmlang_cues").families
    n_tokens = np.zeros(n, dtype=np.int64)
    counts = np.full((n, len(families)), np.nan) if with_cues else None
    scores = _ScoreColumns(clf, n)
    featurizer = clf.featurizer_
    for rows, an in batches:
        n_tokens[rows] = an.n_tokens
        if with_cues:
            counts[rows] = an.counts
        for i in rows[non_english(an.table)].tolist():  # out of scope outweighs truncated (both are scored)
            if statuses[i] in ("ok", "truncated"):
                statuses[i] = "non_english"
        scores.fill(rows, featurizer.transform_analysis(an))
    cols: dict[str, object] = {"n_tokens": n_tokens, "status": statuses}
    if with_cues:
        cols.update(cue_table(n_tokens, counts, families))
    cols.update(scores.columns())
    out = pd.DataFrame(cols, index=frame.index)
    dup = [c for c in out.columns if c in frame.columns]
    if dup:
        frame = frame.rename(columns={c: f"input_{c}" for c in dup})
    return pd.concat([frame, out], axis=1)
