"""Active learning: which passages to label next.

:func:`suggest` picks the passages the model is least sure about, skipping
near-duplicates of passages already picked, and returns them in the labelling
format of the annotation guide with empty labels. Label them, put the file in
a folder with copies of ``data/labelled/*.jsonl`` and retrain with
``kmlang train FILE --out DIR`` (see docs/labelling-guide.md).

Uncertainty
    For each target (the eleven shifts and ``overall``) the model gives
    probabilities ``p`` of -1, 0 and +1. A passage's uncertainty is the mean
    over targets of the normalised entropy ``-sum(p log p) / log 3``: 0 when
    the model is sure on every target, 1 when every target is a coin toss
    between the three labels.
Diversity
    Candidates are taken in order of uncertainty; one is skipped when its
    TF-IDF cosine similarity to a passage already picked exceeds
    ``similarity`` (0.8), or when its text (case and spacing ignored) repeats
    one already picked. Ties in uncertainty are broken by a permutation seeded
    with ``random_state``, so the same input gives the same suggestion.
"""

from __future__ import annotations

import json
import os
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from kmlang.cues._input import as_frame
from kmlang.shifts import SHIFT_IDS, TARGETS

__all__ = ["suggest", "write_suggestions", "uncertainty", "SUGGEST_COLUMNS"]

#: Columns of :func:`suggest`'s frame, in the order of the annotation guide's records.
SUGGEST_COLUMNS = ("id", "text", "labels", "overall", "split", "register", "source", "uncertainty")
_LABELLED_STATUSES = ("ok", "truncated")
_SPACE = re.compile(r"\s+")


def uncertainty(proba: dict[str, np.ndarray]) -> np.ndarray:
    """Mean over targets of the normalised entropy of each row's 3-class probabilities."""
    if not proba:
        raise ValueError("No probabilities given")
    ent = []
    for p in proba.values():
        p = np.clip(np.asarray(p, dtype=float), 1e-12, 1.0)
        ent.append(-(p * np.log(p)).sum(axis=1) / np.log(3))
    return np.clip(np.mean(ent, axis=0), 0.0, 1.0)


def _proba_from_scores(frame: pd.DataFrame, targets) -> dict[str, np.ndarray]:
    """Probabilities from positions x and relevances r: p(+1) = (r + x)/2, p(-1) = (r - x)/2."""
    out = {}
    for t in targets:
        x = pd.to_numeric(frame[t], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        r = pd.to_numeric(frame[f"{t}_relevance"], errors="coerce").to_numpy(dtype=float,
                                                                          na_value=np.nan)
        out[t] = np.column_stack([(r - x) / 2, 1 - r, (r + x) / 2])
    return out


def _has_scores(frame: pd.DataFrame) -> bool:
    return all(c in frame.columns for t in TARGETS for c in (t, f"{t}_relevance"))


def _model_proba(frame: pd.DataFrame, text: str, model) -> tuple[dict[str, np.ndarray], list[str]]:
    from kmlang.model.scoring import resolve_model, score

    clf = resolve_model(model)
    scored = score(frame, text, model=clf, progress=False)
    return _proba_from_scores(scored, clf.targets_), list(scored["status"])


def _norm(text: str) -> str:
    return _SPACE.sub(" ", text).strip().casefold()


def _greedy(order: np.ndarray, texts: list[str], n: int, similarity: float) -> list[int]:
    """Most uncertain first, skipping repeats and passages too similar to one already chosen."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    pool_size = max(10 * n, 500)
    while True:
        pool = order[:pool_size]
        try:
            vec = TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2),
                                  token_pattern=r"(?u)\b\w+\b")
            X = vec.fit_transform([texts[i] for i in pool])
        except ValueError:  # no token at all in the pool
            X = None
        chosen: list[int] = []
        rows: list[int] = []
        seen: set[str] = set()
        for j, i in enumerate(pool):
            key = _norm(texts[i])
            if key in seen:
                continue
            if X is not None and rows:
                sims = (X[rows] @ X[j].T).toarray().ravel()
                if sims.size and float(sims.max()) > similarity:
                    continue
            chosen.append(int(i))
            rows.append(j)
            seen.add(key)
            if len(chosen) == n:
                return chosen
        if pool_size >= len(order):
            return chosen
        pool_size *= 4


def suggest(scores_or_texts, n: int = 50, model=None, random_state: int | None = 0, *,
            text: str = "text", source: str = "suggested", similarity: float = 0.8,
            id_column: str = "id", id_prefix: str | None = None) -> pd.DataFrame:
    """The ``n`` passages most worth labelling next: most uncertain, and not alike.

    Parameters
    ----------
    scores_or_texts : list of str, Series or DataFrame
        Passages, an export read with :func:`kmlang.read`, or a score frame
        from :func:`kmlang.score`. With ``model=None`` a score frame's
        positions and relevances are used as they are (they determine the
        model's probabilities); otherwise the passages are parsed and the
        model's ``predict_proba`` is used.
    n : int
        How many passages to suggest.
    model : None, path or ShiftClassifier
        Default: the model shipped with kmlang.
    random_state : int or None
        Seed for breaking ties in uncertainty.
    text : str
        Text column of a DataFrame.
    source : str
        Written into each record's ``source`` (e.g. the export's file name).
    similarity : float
        A candidate whose TF-IDF cosine similarity to a passage already chosen
        exceeds this is skipped.
    id_column : str
        Column with passage ids (default ``id``); ids become ``<prefix>-<id>``,
        or ``<prefix>-row<index>`` without one.
    id_prefix : str, optional
        Default: ``source`` without its file extension.

    Returns
    -------
    DataFrame
        Up to ``n`` rows, most uncertain first, with the columns of
        :data:`SUGGEST_COLUMNS`: ``id``, ``text``, ``labels`` (a dict with the
        eleven shift ids, each ``None``), ``overall`` (``None``), ``split``
        (``"train"``), ``register`` (``""``), ``source`` and ``uncertainty``
        (see the module docstring). Only passages scored as English text are
        candidates. Fewer than ``n`` rows (with a warning) when there are not
        enough distinct candidates. ``attrs``: ``n_candidates``, ``similarity``.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    if not 0 < similarity <= 1:
        raise ValueError(f"similarity must be in (0, 1], got {similarity!r}")
    frame = as_frame(scores_or_texts, text)
    original_index = list(frame.index)
    frame = frame.reset_index(drop=True)
    prefix = id_prefix if id_prefix is not None else (Path(source).stem or source)
    if model is None and _has_scores(frame):
        proba = _proba_from_scores(frame, TARGETS)
        if "status" in frame.columns:
            statuses = frame["status"].astype("object").fillna("missing").tolist()
        else:
            statuses = ["ok" if isinstance(v, str) and v.strip() else "missing"
                        for v in frame[text]]
    else:
        proba, statuses = _model_proba(frame, text, model)
    unc = uncertainty(proba)
    ok = np.array([s in _LABELLED_STATUSES for s in statuses]) & np.isfinite(unc)
    ok &= frame[text].map(lambda v: isinstance(v, str) and bool(v.strip())).to_numpy()
    candidates = np.flatnonzero(ok)
    rng = np.random.default_rng(random_state)
    tie = rng.permutation(len(candidates))
    order = candidates[np.lexsort((tie, -unc[candidates]))]
    texts = frame[text].tolist()
    picked = _greedy(order, texts, int(n), float(similarity)) if len(order) else []
    if len(picked) < n:
        warnings.warn(f"Only {len(picked)} of the {n} passages asked for could be suggested: "
                      f"{len(candidates)} passages were scored as English text and the rest of "
                      f"them repeat or closely resemble ones already chosen.", stacklevel=2)

    def ident(i: int) -> str:
        if id_column in frame.columns:
            v = frame.at[i, id_column]
            if v is not None and not (isinstance(v, float) and np.isnan(v)) and v is not pd.NA:
                return f"{prefix}-{v}"
        return f"{prefix}-row{original_index[i]}"

    rows = [{"id": ident(i), "text": texts[i], "labels": dict.fromkeys(SHIFT_IDS),
             "overall": None, "split": "train", "register": "", "source": source,
             "uncertainty": round(float(unc[i]), 4)} for i in picked]
    out = pd.DataFrame(rows, columns=list(SUGGEST_COLUMNS))
    out["uncertainty"] = out["uncertainty"].astype(float)
    out.attrs = {"n_candidates": int(len(candidates)), "similarity": float(similarity)}
    return out


def write_suggestions(frame: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write :func:`suggest`'s frame as JSONL label records (one object per line, UTF-8)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = []
    for rec in frame[list(SUGGEST_COLUMNS)].to_dict(orient="records"):
        rec["labels"] = {s: rec["labels"].get(s) for s in SHIFT_IDS}
        if rec["overall"] is not None and pd.isna(rec["overall"]):
            rec["overall"] = None
        lines.append(json.dumps(rec, ensure_ascii=False))
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    os.replace(tmp, path)
    return path
