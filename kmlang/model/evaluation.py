"""Evaluation against labelled passages: pole-F1 first, three-class macro-F1 beside it.

**Pole-F1** of a target is the mean of F1(-1) and F1(+1) over the poles that the
gold labels hold at least :data:`MIN_POLE_SUPPORT` times (F1 of a pole: that
pole against everything else). A model that always says 0 scores 0 on it, so it
shows whether the stances readers find are found. A target with no eligible
pole is *not measured* (``None``). The **mean pole-F1** averages the shifts
(not ``overall``) that are measured. Three-class macro-F1 stays beside it, but
the neutral class's F1 is near 1 on every shift, which hides a model that never
finds a stance.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score

from kmlang.cues.frame import cues as cue_frame
from kmlang.shifts import TARGETS

__all__ = ["evaluate", "evaluation_report", "MIN_NONZERO_FOR_MEAN", "MIN_POLE_SUPPORT", "POLE_RULE",
           "macro_f1_table", "pole_f1", "pole_f1_table", "pronoun_ratio_predict", "load_eval_set",
           "BowBaseline"]

#: A pole counts in a target's pole-F1 when the gold labels hold it at least this many times.
MIN_POLE_SUPPORT = 5
POLE_RULE = (f"pole-F1 = mean of F1(-1) and F1(+1) over the poles the gold labels hold >= {MIN_POLE_SUPPORT} "
             "times; mean pole-F1 = mean over the shifts (not overall) with at least one such pole")


#: A shift counts in the mean shift macro-F1 when the gold labels have at least this many non-zero labels.
MIN_NONZERO_FOR_MEAN = 5


def _scored_shifts(truth: pd.DataFrame, targets) -> list[str]:
    return [t for t in targets if t != "overall" and int((truth[t].astype(int) != 0).sum()) >= MIN_NONZERO_FOR_MEAN]


def _pole_prf(gold, pred, pole: int) -> tuple[float, float, float, int, int]:
    g, p = np.asarray(gold, int) == pole, np.asarray(pred, int) == pole
    tp = int((g & p).sum())
    prec = tp / int(p.sum()) if p.any() else 0.0
    rec = tp / int(g.sum()) if g.any() else 0.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec > 0 else 0.0
    return prec, rec, f1, int(g.sum()), int(p.sum())


def pole_scores(gold, pred, pole: int) -> dict:
    """Precision, recall, F1 (rounded to 4 places) and gold support of one pole (that pole against the rest)."""
    prec, rec, f1, support, predicted = _pole_prf(gold, pred, pole)
    return {"precision": round(prec, 4), "recall": round(rec, 4), "f1": round(f1, 4),
            "support": support, "predicted": predicted}


def pole_f1(gold, pred) -> float | None:
    """Mean F1 over the poles with at least :data:`MIN_POLE_SUPPORT` gold labels (``None``: none has)."""
    gold = np.asarray(gold, int)
    poles = [c for c in (-1, 1) if int((gold == c).sum()) >= MIN_POLE_SUPPORT]
    if not poles:
        return None
    return float(np.mean([_pole_prf(gold, pred, c)[2] for c in poles]))


def pole_f1_table(truth: pd.DataFrame, pred: pd.DataFrame, targets=TARGETS) -> pd.Series:
    """Pole-F1 per target (NaN when not measured), plus ``mean_shift`` over the measured shifts."""
    vals = {t: pole_f1(truth[t], pred[t]) for t in targets}
    shifts = [t for t in targets if t != "overall" and vals[t] is not None]
    out = {t: (np.nan if v is None else v) for t, v in vals.items()}
    out["mean_shift"] = float(np.mean([vals[t] for t in shifts])) if shifts else float("nan")
    return pd.Series(out)


def macro_f1_table(truth: pd.DataFrame, pred: pd.DataFrame, targets=TARGETS) -> pd.Series:
    """Macro-F1 for each target, plus ``mean_shift``.

    As scikit-learn's default (``f1_score(gold, pred, average="macro",
    zero_division=0)``), the macro average runs over the classes that occur in the
    gold labels or the predictions: a shift that is 0 everywhere and predicted 0
    everywhere scores 1.0, and one spurious non-zero prediction halves it.
    ``mean_shift`` is the mean over the shifts with at least
    :data:`MIN_NONZERO_FOR_MEAN` non-zero gold labels.
    """
    vals = {t: f1_score(truth[t].astype(int), pred[t].astype(int), average="macro", zero_division=0)
            for t in targets}
    shifts = _scored_shifts(truth, targets)
    vals["mean_shift"] = float(np.mean([vals[t] for t in shifts])) if shifts else float("nan")
    return pd.Series(vals)


#: Version of the ``kmlang evaluate --json`` schema (bumped when a key changes meaning).
REPORT_SCHEMA = 2


def evaluation_report(truth: pd.DataFrame, pred: pd.DataFrame, targets=TARGETS) -> dict:
    """Everything ``kmlang evaluate --json`` prints (schema version :data:`REPORT_SCHEMA`).

    Shape::

        {"schema": 2, "n": passages, "rule": POLE_RULE,
         "mean_pole_f1": float|None, "mean_pole_f1_over": [shift ids],
         "mean_pole_f1_gold_labels": non-zero gold labels behind the mean,
         "mean_shift_macro_f1": float|None, "mean_shift_over": [shift ids with >= 5 non-zero gold],
         "overall": {...}, "shifts": {"<id>": {...}}}

    and each target's ``{...}``: ``pole_f1`` (``None``: not measured),
    ``poles_measured`` (["-1", "1"] subset), ``poles`` ({"-1": {precision, recall,
    f1, support, predicted}, "1": {...}}), ``gold_labels`` (non-zero gold labels),
    ``macro_f1`` (three-class), ``accuracy``, ``support`` ({"-1", "0", "1"}) and
    ``confusion`` (rows gold -1/0/+1, columns predicted).
    """
    from sklearn.metrics import accuracy_score, confusion_matrix

    def one(t):
        g, p = truth[t].astype(int).to_numpy(), pred[t].astype(int).to_numpy()
        pf = pole_f1(g, p)
        return {"pole_f1": None if pf is None else round(pf, 4),
                "poles_measured": [str(c) for c in (-1, 1) if int((g == c).sum()) >= MIN_POLE_SUPPORT],
                "poles": {str(c): pole_scores(g, p, c) for c in (-1, 1)},
                "gold_labels": int((g != 0).sum()),
                "accuracy": round(float(accuracy_score(g, p)), 4),
                "macro_f1": round(float(f1_score(g, p, average="macro", zero_division=0)), 4),
                "support": {str(c): int((g == c).sum()) for c in (-1, 0, 1)},
                "confusion": confusion_matrix(g, p, labels=[-1, 0, 1]).tolist()}

    shifts = {t: one(t) for t in targets if t != "overall"}
    over = _scored_shifts(truth, targets)
    measured = [t for t, v in shifts.items() if v["pole_f1"] is not None]
    return {"schema": REPORT_SCHEMA, "n": int(len(truth)), "rule": POLE_RULE,
            "mean_pole_f1": round(float(np.mean([shifts[t]["pole_f1"] for t in measured])), 4) if measured else None,
            "mean_pole_f1_over": measured,
            "mean_pole_f1_gold_labels": int(sum(shifts[t]["gold_labels"] for t in measured)),
            "overall": one("overall") if "overall" in targets else None, "shifts": shifts,
            "mean_shift_macro_f1": round(float(np.mean([shifts[t]["macro_f1"] for t in over])), 4) if over else None,
            "mean_shift_over": over}


def pronoun_ratio_predict(texts, targets=TARGETS) -> pd.DataFrame:
    """LIWC-style baseline: we/(i+we) > 0.5 -> +1, < 0.5 -> -1, no such pronoun or a tie -> 0, for every target."""
    c = cue_frame(list(texts))
    i = c["cue_first_person_singular"].fillna(0).to_numpy()
    we = c["cue_first_person_plural"].fillna(0).to_numpy()
    lab = np.where(we > i, 1, np.where(i > we, -1, 0))
    return pd.DataFrame({t: lab for t in targets})


class BowBaseline:
    """TF-IDF word 1-2 grams + logistic regression per target (scikit-learn's tokenizer; no cues)."""

    def __init__(self, C: float = 4.0):
        self.C = C

    def fit(self, texts, Y: pd.DataFrame, targets=TARGETS):
        self.vec_ = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
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
    from kmlang.model.labelled import label_frame, read_label_file

    return label_frame(read_label_file(path))


def warn_if_trained_on(model, texts) -> int:
    """Warn when some of ``texts`` were in the model's training data; return how many."""
    import warnings

    from kmlang.model.classifier import training_overlap
    from kmlang.model.scoring import resolve_model

    n = training_overlap(resolve_model(model), list(texts))
    if n:
        warnings.warn(f"{n:,} of the {len(texts):,} passages evaluated on were in this model's training "
                      "data: figures on them overstate how well it does on new text.", UserWarning,
                      stacklevel=3)
    return n


def predict_labels(model, texts, *, nlp=None) -> pd.DataFrame:
    """The model's labels (unscored rows as 0), one column per target."""
    from kmlang.model.scoring import score

    scored = score(pd.Series(list(texts), dtype=object), model=model, nlp=nlp)
    return pd.DataFrame({t: scored[f"{t}_label"].fillna(0).astype(int) for t in TARGETS})


def evaluate(model, data: pd.DataFrame, *, baselines: bool = True, train: pd.DataFrame | None = None,
             text: str = "text", nlp=None, metric: str = "pole_f1", pred: pd.DataFrame | None = None,
             warn_overlap: bool = True) -> pd.DataFrame:
    """Pole-F1 (or ``metric="macro_f1"``) per target (rows) for the model and the baselines (columns).

    ``data`` has the text column and one column per target. The column
    ``gold_labels`` says how many non-zero gold labels each row rests on (NaN
    pole-F1: no pole held at least :data:`MIN_POLE_SUPPORT` times). The TF-IDF
    baseline needs ``train`` (a frame of the same shape) to be fitted on.
    ``nlp`` parses with another pipeline (e.g. the syntax path). ``pred`` reuses the
    model's labels from :func:`predict_labels` (e.g. to get both metrics from one
    scoring pass); ``warn_overlap=False`` skips the training-overlap warning.
    """
    if metric not in ("pole_f1", "macro_f1"):
        raise ValueError(f"metric must be 'pole_f1' or 'macro_f1', got {metric!r}")
    table_of = pole_f1_table if metric == "pole_f1" else macro_f1_table
    truth = data[list(TARGETS)].astype(int).reset_index(drop=True)
    texts = data[text].reset_index(drop=True)
    if warn_overlap:
        warn_if_trained_on(model, texts)
    pred = predict_labels(model, texts, nlp=nlp) if pred is None else pred.reset_index(drop=True)
    table = {"kmlang": table_of(truth, pred)}
    if baselines:
        table["always_neutral"] = table_of(truth, pd.DataFrame({t: np.zeros(len(truth), int) for t in TARGETS}))
        table["pronoun_ratio"] = table_of(truth, pronoun_ratio_predict(texts))
        if train is not None:
            bow = BowBaseline().fit(train[text], train)
            table["bow_logreg"] = table_of(truth, bow.predict(texts))
    out = pd.DataFrame(table)
    out["gold_labels"] = [int((truth[t] != 0).sum()) if t in truth.columns else np.nan for t in out.index]
    return out
