"""Evaluation: macro-F1 per target against labelled passages, beside simple baselines."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score

from .cues import cues as cue_frame
from .shifts import TARGETS

__all__ = ["evaluate", "macro_f1_table", "pronoun_ratio_predict", "load_eval_set", "BowBaseline"]


def macro_f1_table(truth: pd.DataFrame, pred: pd.DataFrame, targets=TARGETS) -> pd.Series:
    """Macro-F1 for each target, plus ``mean_shift`` (mean over the eleven shifts).

    As scikit-learn's default, the macro average runs over the classes that occur in
    the truth or the predictions: a shift that is 0 everywhere and predicted 0
    everywhere scores 1.0, and one spurious non-zero prediction halves it.
    """
    vals = {t: f1_score(truth[t].astype(int), pred[t].astype(int), average="macro", zero_division=0)
            for t in targets}
    shifts = [t for t in targets if t != "overall"]
    vals["mean_shift"] = float(np.mean([vals[t] for t in shifts])) if shifts else float("nan")
    return pd.Series(vals)


def pronoun_ratio_predict(texts, targets=TARGETS) -> pd.DataFrame:
    """LIWC-style baseline: we/(i+we) > 0.5 -> +1, < 0.5 -> -1, no such pronoun or a tie -> 0, for every target."""
    c = cue_frame(list(texts))
    i = c["cue_first_person_singular"].fillna(0).to_numpy()
    we = c["cue_first_person_plural"].fillna(0).to_numpy()
    lab = np.where(we > i, 1, np.where(i > we, -1, 0))
    return pd.DataFrame({t: lab for t in targets})


class BowBaseline:
    """Bag-of-words logistic regression per target (scikit-learn's plain text tokenizer)."""

    def __init__(self, C: float = 1.0):
        self.C = C

    def fit(self, texts, Y: pd.DataFrame, targets=TARGETS):
        self.vec_ = CountVectorizer(ngram_range=(1, 2), min_df=2, binary=True)
        X = self.vec_.fit_transform(list(texts))
        self.models_ = {}
        for t in targets:
            y = Y[t].astype(int).to_numpy()
            self.models_[t] = (LogisticRegression(C=self.C, max_iter=2000).fit(X, y)
                               if len(np.unique(y)) > 1 else int(y[0]))
        return self

    def predict(self, texts) -> pd.DataFrame:
        X = self.vec_.transform(list(texts))
        return pd.DataFrame({t: (m.predict(X) if not isinstance(m, int) else np.full(X.shape[0], m))
                             for t, m in self.models_.items()})


def load_eval_set(path: str | Path) -> pd.DataFrame:
    """A labelled JSONL file with ``text`` (e.g. ``../shared/dev/dev.jsonl``) as a frame."""
    from .labelled import label_frame, read_label_file

    return label_frame(read_label_file(path))


def evaluate(model, data: pd.DataFrame, *, baselines: bool = True, train: pd.DataFrame | None = None,
             text: str = "text") -> pd.DataFrame:
    """Macro-F1 per target (rows) for the model and, optionally, the baselines (columns).

    ``data`` has the text column and one column per target. The bag-of-words
    baseline needs ``train`` (a frame of the same shape) to be fitted on.
    """
    from .scoring import score

    truth = data[list(TARGETS)].astype(int).reset_index(drop=True)
    texts = data[text].reset_index(drop=True)
    scored = score(texts, model=model)
    pred = pd.DataFrame({t: scored[f"{t}_label"].fillna(0).astype(int) for t in TARGETS})
    table = {"kmlang": macro_f1_table(truth, pred)}
    if baselines:
        table["always_neutral"] = macro_f1_table(truth, pd.DataFrame({t: np.zeros(len(truth), int) for t in TARGETS}))
        table["pronoun_ratio"] = macro_f1_table(truth, pronoun_ratio_predict(texts))
        if train is not None:
            bow = BowBaseline().fit(train[text], train)
            table["bow_logreg"] = macro_f1_table(truth, bow.predict(texts))
    return pd.DataFrame(table)
