"""The classifier: one calibrated 3-class model (-1/0/+1) per shift and ``overall``.

* :class:`PolarityClassifier` is a plain scikit-learn classifier on numeric
  features: logistic regression whose probabilities are calibrated by
  cross-validated sigmoid (Platt) scaling. It passes scikit-learn's estimator checks.
* :class:`ShiftClassifier` takes passages: a :class:`~kmlang.features.CueFeaturizer`
  (one spaCy pass per passage) and one :class:`PolarityClassifier` per target.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data
from spacy.tokens import Doc

from kmlang.model.features import (
    CONTEXT_FREE_FAMILIES,
    FIRST_PERSON_SINGULAR,
    UNIGRAMS_LEFT_OUT,
    CueFeaturizer,
    analysis_covariates,
)
from kmlang.shifts import SHIFT_IDS, TARGETS

__all__ = ["PolarityClassifier", "ShiftClassifier", "CLASSES"]

#: Label values, in the column order of every ``predict_proba`` output.
CLASSES = np.array([-1, 0, 1])


class PolarityClassifier(ClassifierMixin, BaseEstimator):
    """Logistic regression for one axis, with probabilities calibrated by vector scaling.

    The logistic regression is fitted on all rows. Its out-of-fold logits
    (``calibration_cv`` stratified folds) are then mapped to probabilities by a second,
    3-input multinomial logistic regression (vector scaling), fitted with
    ``calibration_weight`` per row, so the probabilities can be calibrated to the
    mix of the text they will meet (real passages) while the features are learned
    from everything. The whole model stays linear in the features, so
    :meth:`effective_coef` gives exact per-feature contributions.

    Parameters
    ----------
    C : float
        Inverse regularisation strength of the feature model.
    class_weight : dict, "balanced" or None
        Passed to the feature model.
    calibration : {"vector", None}
        ``None`` keeps the raw logistic-regression probabilities.
    calibration_cv : int
        Folds for the out-of-fold logits; reduced to the size of the rarest class
        (with fewer than 2 examples of a class, no calibration).
    calibration_repeats : int
        How many different fold splits (seeds ``random_state``, ``random_state + 1``, ...) give
        out-of-fold logits: the calibrator is fitted on all of them and ``oof_proba_`` is their
        mean, so calibration and the thresholds tuned on it depend less on one split.
    random_state : int
        Seed of the folds.
    """

    def __init__(self, C: float = 4.0, class_weight=None, calibration: str | None = "vector",
                 calibration_cv: int = 3, calibration_repeats: int = 1, random_state: int = 0,
                 max_iter: int = 3000):
        self.C = C
        self.class_weight = class_weight
        self.calibration = calibration
        self.calibration_cv = calibration_cv
        self.calibration_repeats = calibration_repeats
        self.random_state = random_state
        self.max_iter = max_iter

    def _base(self) -> LogisticRegression:
        return LogisticRegression(C=self.C, class_weight=self.class_weight, max_iter=self.max_iter,
                                  solver="newton-cg")

    def fit(self, X, y, sample_weight=None, calibration_weight=None):
        X, y = validate_data(self, X, y, accept_sparse="csr")
        check_classification_targets(y)
        self.classes_ = np.unique(y)
        if len(self.classes_) == 1:
            self.base_, self.calibrator_ = None, None
            return self
        sw = None if sample_weight is None else np.asarray(sample_weight, dtype=float)
        self.base_ = self._base().fit(X, y, sample_weight=sw)
        self.calibrator_ = None
        self.oof_proba_ = None
        _, counts = np.unique(y, return_counts=True)
        folds = min(self.calibration_cv, int(counts.min()))
        if self.calibration is None or folds < 2:
            self._compact()
            return self
        if self.calibration != "vector":
            raise ValueError(f"calibration must be 'vector' or None, got {self.calibration!r}")
        oofs = []
        for r in range(max(1, int(self.calibration_repeats))):
            oof = np.zeros((X.shape[0], len(self.classes_)))
            splitter = StratifiedKFold(folds, shuffle=True, random_state=self.random_state + r)
            for tr, te in splitter.split(np.zeros(len(y)), y):
                if len(np.unique(y[tr])) < len(self.classes_):
                    self._compact()
                    return self
                m = self._base().fit(X[tr], y[tr], sample_weight=None if sw is None else sw[tr])
                oof[te] = self._logits(m, X[te])
            oofs.append(oof)
        cw = np.ones(len(y)) if calibration_weight is None else np.asarray(calibration_weight, dtype=float)
        if len(np.unique(y[cw > 0])) < len(self.classes_):
            cw = np.where(cw > 0, cw, 1e-3)
        self.calibrator_ = LogisticRegression(C=100.0, max_iter=self.max_iter, solver="newton-cg")
        self.calibrator_.fit(np.vstack(oofs), np.tile(y, len(oofs)), sample_weight=np.tile(cw, len(oofs)))
        #: calibrated out-of-fold probabilities of the training rows (used to tune label thresholds),
        #: averaged over the repeats of the fold split
        self.oof_proba_ = np.mean([self.calibrator_.predict_proba(o) for o in oofs], axis=0)
        self._compact()
        return self

    def _compact(self) -> None:
        """Store the feature weights as float32 (halves the model file; scores change < 1e-6)."""
        self.base_.coef_ = self.base_.coef_.astype(np.float32)

    @staticmethod
    def _logits(model: LogisticRegression, X) -> np.ndarray:
        z = model.decision_function(X)
        if z.ndim == 1:  # binary: sklearn gives one column
            z = np.column_stack([-z / 2, z / 2])
        return z

    def effective_coef(self) -> tuple[np.ndarray, np.ndarray]:
        """``(coef, intercept)`` of the whole (linear) model: logits = X @ coef.T + intercept."""
        check_is_fitted(self, "classes_")
        if self.base_ is None:
            raise ValueError("A one-class model has no coefficients")
        coef, b = self.base_.coef_.astype(np.float64), self.base_.intercept_
        if coef.shape[0] == 1:
            coef = np.vstack([-coef / 2, coef / 2])
            b = np.array([-b[0] / 2, b[0] / 2])
        if self.calibrator_ is None:
            return coef, b
        W, c = self.calibrator_.coef_, self.calibrator_.intercept_
        if W.shape[0] == 1:
            W = np.vstack([-W / 2, W / 2])
            c = np.array([-c[0] / 2, c[0] / 2])
        return W @ coef, W @ b + c

    def _logit_matrix(self, X) -> np.ndarray:
        coef, b = self.effective_coef()
        return np.asarray(X @ coef.T) + b

    def decision_function(self, X):
        """Logits per class (for two classes, scikit-learn's single column: logit of the second)."""
        check_is_fitted(self, "classes_")
        X = validate_data(self, X, accept_sparse="csr", reset=False)
        z = self._logit_matrix(X)
        return z[:, 1] - z[:, 0] if z.shape[1] == 2 else z

    @property
    def n_iter_(self):
        check_is_fitted(self, "classes_")
        return None if self.base_ is None else self.base_.n_iter_

    def predict_proba(self, X):
        check_is_fitted(self, "classes_")
        X = validate_data(self, X, accept_sparse="csr", reset=False)
        if self.base_ is None:
            return np.ones((X.shape[0], 1))
        z = self._logit_matrix(X)
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def predict(self, X):
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


def apply_thresholds(p: np.ndarray, tau_neg: float, tau_pos: float) -> np.ndarray:
    """-1/0/+1 per row of ``p`` (columns -1, 0, +1).

    With both thresholds 0 this is the most probable class. Otherwise a pole is
    given when its probability reaches its threshold **and** is at least the other
    pole's probability (so a label never has the opposite sign to the position
    P(+1) - P(-1)); when both poles qualify, the more probable one wins; else 0.
    """
    if tau_neg <= 0 and tau_pos <= 0:
        return CLASSES[np.argmax(p, axis=1)]
    neg_ok = (p[:, 0] >= tau_neg) & (p[:, 0] >= p[:, 2])
    pos_ok = (p[:, 2] >= tau_pos) & (p[:, 2] > p[:, 0])
    return np.where(pos_ok, 1, np.where(neg_ok, -1, 0))


#: Thresholds tried for each pole.
_GRID = tuple(round(x, 3) for x in np.arange(0.05, 0.951, 0.025))
#: A pole needs this many labelled tuning rows to get a tuned threshold; rarer poles get
#: :data:`DEFAULT_POLE_THRESHOLD`: they are labelled when the model finds them more likely
#: than not (the old floor of 0.98, applied to every pole rarer than 0.5% of real text, made
#: them unreachable). 0.9 was measured too: real-text pole-F1 the same, dev macro-F1 +0.03
#: (fewer labels of poles dev never holds), behavioural failures 24.2% instead of 21.7%.
MIN_TUNE_SUPPORT = 8
DEFAULT_POLE_THRESHOLD = 0.5


def _pole_f1(g: np.ndarray, pred: np.ndarray) -> float:
    tp = int((g & pred).sum())
    if tp == 0:
        return 0.0
    return 2 * tp / (int(g.sum()) + int(pred.sum()))


def tune_thresholds(y: np.ndarray, p: np.ndarray, min_support: int = MIN_TUNE_SUPPORT,
                    default: float = DEFAULT_POLE_THRESHOLD) -> tuple[float, float]:
    """Thresholds (for -1, for +1) that maximise each pole's F1 on out-of-fold probabilities.

    Each pole is tuned on its own (F1 of that pole against the rest, the terms of
    pole-F1), under :func:`apply_thresholds`'s rule that a pole must also beat the
    other pole. A pole with fewer than ``min_support`` rows in ``y`` gets
    ``default``. Ties go to the higher threshold (fewer labels).
    """
    y = np.asarray(y)
    out = []
    for col, pole in ((0, -1), (2, 1)):
        g = y == pole
        if int(g.sum()) < min_support:
            out.append(default)
            continue
        other = p[:, 2 - col]
        beats = p[:, col] >= other if pole == -1 else p[:, col] > other
        best, best_f1 = default, -1.0
        for tau in _GRID:
            f1 = _pole_f1(g, beats & (p[:, col] >= tau))
            if f1 >= best_f1 - 1e-12:
                best, best_f1 = tau, f1
        out.append(float(best))
    return out[0], out[1]


def text_hashes(texts) -> np.ndarray:
    """Sorted unique 64-bit BLAKE2 hashes of passages (whitespace-normalised), for overlap checks."""
    import hashlib

    out = set()
    for t in texts:
        t = t.text if isinstance(t, Doc) else t
        if isinstance(t, str):
            key = " ".join(t.split()).encode("utf-8", "surrogatepass")
            out.add(int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "little"))
    return np.array(sorted(out), dtype=np.uint64)


def training_overlap(model, texts) -> int:
    """How many of ``texts`` the model was trained on (0 for models that did not record it)."""
    seen = getattr(model, "train_text_hashes_", None)
    if seen is None or not len(seen):
        return 0
    return int(np.isin(text_hashes(texts), seen).sum())


def overall_from_shifts(labels: dict[str, np.ndarray], overall_proba: np.ndarray) -> np.ndarray:
    """``overall`` from the shifts' labels (the guide's rule), 0 where it opposes the position."""
    L = np.column_stack([labels[s] for s in SHIFT_IDS])
    pos, neg = (L == 1).sum(axis=1), (L == -1).sum(axis=1)
    lab = np.where(pos > neg, 1, np.where(neg > pos, -1, 0))
    position = overall_proba[:, 2] - overall_proba[:, 0]
    return np.where(lab * position < 0, 0, lab)


def _fit_targets(base, F, Y, targets, sample_weight=None, calibration_weight=None) -> dict:
    """One fitted estimator per target; ``sample_weight`` may be a dict of per-target weights."""
    def sw(t):
        return sample_weight.get(t) if isinstance(sample_weight, dict) else sample_weight

    return {t: clone(base).fit(F, Y[t].to_numpy(), sample_weight=sw(t), calibration_weight=calibration_weight)
            for t in targets}


def decorrelation_weights(y: np.ndarray, covariates: Sequence[np.ndarray], bins: int = 6) -> np.ndarray:
    """Row weights under which the label ``y`` is independent of the binned ``covariates``.

    Rows are put in cells by the quantile bins of each covariate (e.g. passage
    length and the rate of "I"); a row of class ``c`` in cell ``k`` gets
    ``P(c) / P(c | k)``. A model fitted with these weights cannot learn a label
    from length or pronoun rate alone (the shortcut check of the model card);
    weights are normalised to mean 1.
    """
    y = np.asarray(y)
    cell = np.zeros(len(y), dtype=np.int64)
    for cov in covariates:
        cov = np.asarray(cov, dtype=float)
        q = np.quantile(cov, np.linspace(0, 1, bins + 1)[1:-1])
        cell = cell * bins + np.searchsorted(q, cov, side="right")
    w = np.ones(len(y))
    classes = np.unique(y)
    prior = {c: np.mean(y == c) for c in classes}
    for k in np.unique(cell):
        m = cell == k
        for c in classes:
            mc = m & (y == c)
            if mc.any():
                w[mc] = prior[c] / (mc.sum() / m.sum())
    return w / w.mean()


def shortcut_covariates(texts, nlp=None) -> tuple[np.ndarray, np.ndarray]:
    """``(log1p(tokens), rate of first-person-singular pronouns)`` per passage (see
    :func:`~kmlang.model.features.analysis_covariates`)."""
    return analysis_covariates(CueFeaturizer(nlp=nlp).analyses(list(texts)))


def _full_proba(est, F) -> np.ndarray:
    p = est.predict_proba(F)
    full = np.zeros((F.shape[0], 3))
    for j, c in enumerate(est.classes_):
        full[:, int(c) + 1] = p[:, j]
    return full


def _full_oof(est) -> np.ndarray | None:
    """The calibrated out-of-fold probabilities of a fitted PolarityClassifier, columns -1, 0, +1."""
    if getattr(est, "oof_proba_", None) is None:
        return None
    p = est.oof_proba_
    full = np.zeros((p.shape[0], 3))
    for j, c in enumerate(est.classes_):
        full[:, int(c) + 1] = p[:, j]
    return full


def _oof_proba(base, F, Y, targets, folds, seed, sample_weight=None, calibration_weight=None):
    """Out-of-fold probabilities per target (folds stratified on ``overall`` when present)."""
    strat = Y["overall"].to_numpy() if "overall" in Y.columns else np.zeros(len(Y))
    splitter = StratifiedKFold(folds, shuffle=True, random_state=seed)
    out = {t: np.zeros((len(Y), 3)) for t in targets}
    for tr, te in splitter.split(np.zeros(len(Y)), strat):
        kw = {"sample_weight": None if sample_weight is None else np.asarray(sample_weight)[tr],
              "calibration_weight": None if calibration_weight is None else np.asarray(calibration_weight)[tr]}
        for t in targets:
            est = clone(base).fit(F[tr], Y[t].to_numpy()[tr], **kw)
            out[t][te] = _full_proba(est, F[te])
    return out


def _as_targets(y, targets: Sequence[str]) -> pd.DataFrame:
    if isinstance(y, pd.DataFrame):
        missing = [t for t in targets if t not in y.columns]
        if missing:
            raise KeyError(f"Label frame lacks columns {missing}; expected {list(targets)}")
        return y[list(targets)].astype(int)
    arr = np.asarray(y)
    if arr.ndim != 2 or arr.shape[1] != len(targets):
        raise ValueError(f"y must have one column per target ({len(targets)}: {', '.join(targets)}), "
                         f"got shape {arr.shape}")
    return pd.DataFrame(arr.astype(int), columns=list(targets))


class ShiftClassifier(ClassifierMixin, BaseEstimator):
    """Scores passages on the eleven shifts and ``overall``.

    ``fit(X, y)``: ``X`` passages (strings or parsed ``Doc``), ``y`` a frame with one
    column per target (``kmlang.TARGETS``) of labels -1/0/+1. ``predict_proba``
    returns ``{target: array (n, 3)}`` with columns for -1, 0, +1.

    Parameters
    ----------
    nlp : None, str or Path
        Pipeline spec (``None``: blank English default).
    C, class_weight, calibration, calibration_cv, calibration_repeats : see :class:`PolarityClassifier`.
    ngram_range, min_df, max_features, cue_weight : see :class:`CueFeaturizer`.
    targets : tuple of str
        What to predict (default: the eleven shifts and ``overall``).
    thresholds : {"cv", None}
        How a label is decided from the probabilities. ``None``: the most probable
        class. ``"cv"``: per target, a minimum probability for -1 and for +1, chosen
        to maximise pole F1 on the calibrated out-of-fold predictions (the
        calibration folds; ``threshold_cv`` folds when uncalibrated) of the rows
        given by ``tune_mask`` in :meth:`fit` (kmlang tunes on real
        passages, so labels follow the base rates of real text). Positions and
        relevances do not depend on the thresholds. Each pole's threshold
        maximises that pole's F1 (the terms of pole-F1), see :func:`tune_thresholds`.
    threshold_cv : int
        Folds for the out-of-fold predictions.
    min_tune_support : int
        A pole with fewer labelled tuning rows than this is not tuned: it is given
        as a label when its probability reaches 0.5 and beats the other pole's
        (see :func:`tune_thresholds`).
    length_feature, context_free_families, drop_unigrams, drop_ngram_words, sentence_weight :
        See :class:`CueFeaturizer`.
    decorrelate_bins : int or None
        Fit each target with :func:`decorrelation_weights` over ``bins`` quantile bins
        of passage length and of the rate of "I" (``None``: no reweighting), so that
        neither can stand in for stance.
    overall_rule : {"shifts", "model"}
        How the ``overall`` *label* is decided: ``"shifts"`` (default) from the
        shifts' labels as the guide defines ``overall`` (see :meth:`decide`);
        ``"model"`` from the ``overall`` classifier's own thresholds. The
        ``overall`` position and relevance always come from its classifier.
    random_state : int
        Seed; the same data and seed give the same model.
    """

    def __init__(self, nlp=None, C: float = 4.0, class_weight=None, calibration="vector", calibration_cv: int = 3,
                 calibration_repeats: int = 1,
                 ngram_range=(1, 2), min_df: int = 2, max_features: int | None = 60000,
                 cue_weight: float = 0.5, targets: tuple[str, ...] = TARGETS, thresholds: str | None = "cv",
                 threshold_cv: int = 4, min_tune_support: int = MIN_TUNE_SUPPORT,
                 length_feature: bool = False, context_free_families: tuple[str, ...] = CONTEXT_FREE_FAMILIES,
                 drop_unigrams: tuple[str, ...] = UNIGRAMS_LEFT_OUT,
                 drop_ngram_words: tuple[str, ...] = FIRST_PERSON_SINGULAR, sentence_weight: float = 0.0,
                 decorrelate_bins: int | None = 8, overall_rule: str = "shifts", random_state: int = 0):
        self.nlp = nlp
        self.C = C
        self.class_weight = class_weight
        self.calibration = calibration
        self.calibration_cv = calibration_cv
        self.calibration_repeats = calibration_repeats
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.max_features = max_features
        self.cue_weight = cue_weight
        self.targets = targets
        self.thresholds = thresholds
        self.threshold_cv = threshold_cv
        self.min_tune_support = min_tune_support
        self.length_feature = length_feature
        self.context_free_families = context_free_families
        self.drop_unigrams = drop_unigrams
        self.drop_ngram_words = drop_ngram_words
        self.sentence_weight = sentence_weight
        self.decorrelate_bins = decorrelate_bins
        self.overall_rule = overall_rule
        self.random_state = random_state

    def fit(self, X, y, sample_weight=None, calibration_weight=None, tune_mask=None):
        """Fit on passages ``X`` and labels ``y``.

        ``sample_weight`` weights rows for the feature models; ``calibration_weight``
        weights rows for the probability calibration (e.g. real passages 1, written
        ones less, to calibrate for real text). ``tune_mask`` selects the rows the
        label thresholds are tuned on (default: all rows). The fitted model has no
        error sample until :meth:`fit_error_sample` is called with held-out passages.
        """
        targets = tuple(self.targets)
        Y = _as_targets(y, targets)
        X = list(X)
        if len(X) != len(Y):
            raise ValueError(f"X has {len(X)} passages but y has {len(Y)} rows")
        self.featurizer_ = CueFeaturizer(nlp=self.nlp, ngram_range=self.ngram_range, min_df=self.min_df,
                                         max_features=self.max_features, cue_weight=self.cue_weight,
                                         length_feature=self.length_feature,
                                         context_free_families=self.context_free_families,
                                         drop_unigrams=self.drop_unigrams,
                                         drop_ngram_words=self.drop_ngram_words,
                                         sentence_weight=self.sentence_weight)
        analyses = self.featurizer_.analyses(X)  # one spaCy pass for features and covariates
        F = self.featurizer_.fit_analyses(analyses)
        base = PolarityClassifier(C=self.C, class_weight=self.class_weight, calibration=self.calibration,
                                  calibration_cv=self.calibration_cv,
                                  calibration_repeats=self.calibration_repeats, random_state=self.random_state)
        for t in targets:
            bad = set(np.unique(Y[t])) - {-1, 0, 1}
            if bad:
                raise ValueError(f"Labels of {t!r} must be -1, 0 or 1; found {sorted(bad)}")
        fit_kw = {"sample_weight": sample_weight, "calibration_weight": calibration_weight}
        if self.decorrelate_bins:
            covs = analysis_covariates(analyses)
            sw0 = np.ones(len(Y)) if sample_weight is None else np.asarray(sample_weight, dtype=float)
            fit_kw["sample_weight"] = {t: sw0 * decorrelation_weights(Y[t].to_numpy(), covs, self.decorrelate_bins)
                                       for t in targets}
        del analyses
        self.estimators_ = _fit_targets(base, F, Y, targets, **fit_kw)
        self.thresholds_ = {t: (0.0, 0.0) for t in targets}
        self.error_sample_ = None
        if self.thresholds == "cv":
            oof = {t: _full_oof(est) for t, est in self.estimators_.items()}
            missing = [t for t, p in oof.items() if p is None]
            if missing:  # uncalibrated targets: out-of-fold fits of their own
                oof.update(_oof_proba(base, F, Y, missing, self.threshold_cv, self.random_state,
                                      sample_weight=sample_weight, calibration_weight=calibration_weight))
            mask = np.ones(len(Y), bool) if tune_mask is None else np.asarray(tune_mask, bool)
            self.thresholds_ = {}
            for t in targets:
                yt = Y[t].to_numpy()[mask]
                tn, tp = tune_thresholds(yt, oof[t][mask], min_support=self.min_tune_support)
                self.thresholds_[t] = (float(tn), float(tp))
            for est in self.estimators_.values():  # not needed after tuning; keeps the model file small
                est.oof_proba_ = None
        elif self.thresholds is not None:
            raise ValueError(f"thresholds must be 'cv' or None, got {self.thresholds!r}")
        self.targets_ = targets
        #: 64-bit hashes of the training passages (``text_hashes``), so that evaluating on them can warn
        self.train_text_hashes_ = text_hashes(X)
        self.classes_ = CLASSES
        self.n_features_in_ = 1
        return self

    def fit_error_sample(self, X, y, groups=None, *, proba=None):
        """Keep this model's probabilities and the gold labels of held-out passages ``X``.

        They are the error rates that correct the shares of :func:`kmlang.aggregate`
        (:mod:`kmlang.model.quantify`). Give passages the model was not fitted on,
        drawn at random from real text: passages chosen because they were likely
        poles, or the model's own training passages, give error rates that real
        text as it comes does not have. Out-of-fold predictions are not used: the
        fold models are weaker than the final one (on the real test passages
        drawn at random, overall +1 found 0.55 of its passages out of fold and
        0.64 with the final model), so their rates would bias the shares.
        ``groups`` names each passage's community (e.g. its corpus), so that the
        shares' intervals also cover how error rates vary between communities.
        ``proba``: this model's :meth:`predict_proba` of ``X``, when the caller has it already.
        """
        check_is_fitted(self, "estimators_")
        Y = _as_targets(y, self.targets_)
        X = list(X)
        if len(X) != len(Y):
            raise ValueError(f"X has {len(X)} passages but y has {len(Y)} rows")
        if proba is None:
            proba = self.predict_proba(X)
        elif any(np.shape(proba.get(t)) != (len(X), 3) for t in self.targets_):
            raise ValueError(f"proba must hold a ({len(X)}, 3) array for each of {list(self.targets_)}")
        #: gold labels (n, T) and probabilities (n, T, 3) of held-out real passages
        self.error_sample_ = {
            "gold": Y.to_numpy(dtype="int8"),
            "proba": np.stack([proba[t] for t in self.targets_], axis=1).astype("float32"),
        }
        if groups is not None:
            groups = np.asarray(groups)
            if groups.shape != (len(X),):
                raise ValueError(f"groups has {groups.shape[0]} entries for {len(X)} passages")
            names, codes = np.unique(groups.astype(str), return_inverse=True)
            self.error_sample_["group"] = codes.astype("int16")
            self.error_sample_["group_names"] = [str(n) for n in names]
        self.__dict__.pop("_error_model_cache", None)
        return self

    def _features(self, X):
        check_is_fitted(self, "estimators_")
        return self.featurizer_.transform(X)

    def _stacked(self):
        """Every target's effective coefficients in one matrix (built on first use, not saved):
        ``(W, b, [(target, columns, classes)])`` with the rows of each target's classes."""
        cached = self.__dict__.get("_stacked_cache")
        if cached is not None and cached[3] is self.estimators_:
            return cached[:3]
        Ws, bs, where, row = [], [], [], 0
        for t, est in self.estimators_.items():
            if getattr(est, "base_", None) is None:
                where.append((t, None, est.classes_))
                continue
            coef, b = est.effective_coef()
            Ws.append(coef)
            bs.append(b)
            where.append((t, slice(row, row + coef.shape[0]), est.classes_))
            row += coef.shape[0]
        W = np.vstack(Ws).T.copy() if Ws else None
        b = np.concatenate(bs) if bs else None
        self.__dict__["_stacked_cache"] = (W, b, where, self.estimators_)
        return W, b, where

    def __getstate__(self):
        state = dict(super().__getstate__())  # a copy: object.__getstate__ may return __dict__ itself
        state.pop("_stacked_cache", None)
        state.pop("_error_model_cache", None)
        return state

    def predict_proba_features(self, F) -> dict[str, np.ndarray]:
        """``{target: (n, 3) probabilities for -1, 0, +1}`` from a feature matrix.

        All targets' logits come from one product of the features with the stacked
        coefficients (the same numbers as each estimator's ``predict_proba``)."""
        check_is_fitted(self, "estimators_")
        W, b, where = self._stacked()
        Z = np.asarray(F @ W) + b if W is not None else None
        out = {}
        for t, cols, classes in where:
            full = np.zeros((F.shape[0], 3))
            if cols is None:
                full[:, int(classes[0]) + 1] = 1.0
            else:
                z = Z[:, cols]
                z = z - z.max(axis=1, keepdims=True)
                e = np.exp(z)
                p = e / e.sum(axis=1, keepdims=True)
                for j, c in enumerate(classes):
                    full[:, int(c) + 1] = p[:, j]
            out[t] = full
        return out

    def predict_proba(self, X) -> dict[str, np.ndarray]:
        return self.predict_proba_features(self._features(X))

    def decide(self, proba: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Labels from probabilities, with the fitted per-target thresholds.

        With ``overall_rule="shifts"`` (and all eleven shifts predicted), the
        ``overall`` label follows the shifts' labels as the annotation guide
        defines it: the pole with more non-zero shift labels, 0 when none or
        tied; and 0 when that pole has the opposite sign to the ``overall``
        position (so a label never opposes its position).
        """
        check_is_fitted(self, "estimators_")
        labels = {t: apply_thresholds(p, *self.thresholds_.get(t, (0.0, 0.0))) for t, p in proba.items()}
        if getattr(self, "overall_rule", "model") == "shifts" and "overall" in labels \
                and all(s in labels for s in SHIFT_IDS):
            labels["overall"] = overall_from_shifts(labels, proba["overall"])
        return labels

    def predict(self, X) -> pd.DataFrame:
        """Label per target (-1/0/+1), as a DataFrame with one column per target."""
        return pd.DataFrame(self.decide(self.predict_proba(X)))

    def score(self, X, y, sample_weight=None) -> float:
        """Mean macro-F1 over targets (the figure kmlang reports)."""
        from sklearn.metrics import f1_score

        Y = _as_targets(y, self.targets_)
        pred = self.predict(X)
        return float(np.mean([f1_score(Y[t], pred[t], labels=[-1, 0, 1], average="macro", zero_division=0)
                              for t in self.targets_]))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = False
        return tags
