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

from .features import CueFeaturizer
from .shifts import TARGETS

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
    random_state : int
        Seed of the folds.
    """

    def __init__(self, C: float = 4.0, class_weight=None, calibration: str | None = "vector",
                 calibration_cv: int = 3, random_state: int = 0, max_iter: int = 3000):
        self.C = C
        self.class_weight = class_weight
        self.calibration = calibration
        self.calibration_cv = calibration_cv
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
        oof = np.zeros((X.shape[0], len(self.classes_)))
        splitter = StratifiedKFold(folds, shuffle=True, random_state=self.random_state)
        for tr, te in splitter.split(np.zeros(len(y)), y):
            if len(np.unique(y[tr])) < len(self.classes_):
                self._compact()
                return self
            m = self._base().fit(X[tr], y[tr], sample_weight=None if sw is None else sw[tr])
            oof[te] = self._logits(m, X[te])
        cw = np.ones(len(y)) if calibration_weight is None else np.asarray(calibration_weight, dtype=float)
        if len(np.unique(y[cw > 0])) < len(self.classes_):
            cw = np.where(cw > 0, cw, 1e-3)
        self.calibrator_ = LogisticRegression(C=100.0, max_iter=self.max_iter, solver="newton-cg")
        self.calibrator_.fit(oof, y, sample_weight=cw)
        #: calibrated out-of-fold probabilities of the training rows (used to tune label thresholds)
        self.oof_proba_ = self.calibrator_.predict_proba(oof)
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
    chosen when its probability reaches its threshold (the larger ratio of
    probability to threshold wins when both do), else 0.
    """
    if tau_neg <= 0 and tau_pos <= 0:
        return CLASSES[np.argmax(p, axis=1)]
    neg = p[:, 0] / max(tau_neg, 1e-9)
    pos = p[:, 2] / max(tau_pos, 1e-9)
    return np.where((pos >= 1) & (pos >= neg), 1, np.where(neg >= 1, -1, 0))


_GRID = (0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9)


def tune_thresholds(y: np.ndarray, p: np.ndarray) -> tuple[float, float]:
    """Thresholds (for -1, for +1) from the grid that maximise macro-F1 of ``apply_thresholds``.

    Macro-F1 runs over the classes present in truth or prediction (scikit-learn's
    default), so a pole never seen in ``y`` is only predicted at the top of the grid.
    Ties go to the higher threshold (fewer labels).
    """
    from sklearn.metrics import f1_score

    best, best_f1 = (0.5, 0.5), -1.0
    for tn in _GRID:
        for tp in _GRID:
            f1 = f1_score(y, apply_thresholds(p, tn, tp), average="macro", zero_division=0)
            if f1 >= best_f1 - 1e-12:
                best, best_f1 = (tn, tp), f1
    return best


def _fit_targets(base, F, Y, targets, **fit_kw) -> dict:
    return {t: clone(base).fit(F, Y[t].to_numpy(), **fit_kw) for t in targets}


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
    C, class_weight, calibration, calibration_cv : see :class:`PolarityClassifier`.
    ngram_range, min_df, max_features, cue_weight : see :class:`CueFeaturizer`.
    targets : tuple of str
        What to predict (default: the eleven shifts and ``overall``).
    thresholds : {"cv", None}
        How a label is decided from the probabilities. ``None``: the most probable
        class. ``"cv"``: per target, a minimum probability for -1 and for +1, chosen
        to maximise macro-F1 on the calibrated out-of-fold predictions (the
        calibration folds; ``threshold_cv`` folds when uncalibrated) of the rows
        given by ``tune_mask`` in :meth:`fit` (kmlang tunes on real
        passages, so labels follow the base rates of real text). Positions and
        relevances do not depend on the thresholds.
    threshold_cv : int
        Folds for the out-of-fold predictions.
    min_pole_prevalence, rare_pole_floor : float
        A pole labelled in fewer than ``min_pole_prevalence`` of the tuning rows
        (rare in real text) is only given as a label when its probability is at
        least ``rare_pole_floor`` (default 0.98: only near-certain cases; its position and
        relevance still move). Such a pole's probabilities are learned mostly from
        written passages, where the individual pole is far commoner than in real
        text, and on real text its confident predictions were mostly wrong. Lower
        the floor (e.g. 0.9) to label strong cases.
    random_state : int
        Seed; the same data and seed give the same model.
    """

    def __init__(self, nlp=None, C: float = 4.0, class_weight=None, calibration="vector", calibration_cv: int = 3,
                 ngram_range=(1, 2), min_df: int = 2, max_features: int | None = 60000,
                 cue_weight: float = 0.5, targets: tuple[str, ...] = TARGETS, thresholds: str | None = "cv",
                 threshold_cv: int = 4, min_pole_prevalence: float = 0.005, rare_pole_floor: float = 0.98,
                 random_state: int = 0):
        self.nlp = nlp
        self.C = C
        self.class_weight = class_weight
        self.calibration = calibration
        self.calibration_cv = calibration_cv
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.max_features = max_features
        self.cue_weight = cue_weight
        self.targets = targets
        self.thresholds = thresholds
        self.threshold_cv = threshold_cv
        self.min_pole_prevalence = min_pole_prevalence
        self.rare_pole_floor = rare_pole_floor
        self.random_state = random_state

    def fit(self, X, y, sample_weight=None, calibration_weight=None, tune_mask=None):
        """Fit on passages ``X`` and labels ``y``.

        ``sample_weight`` weights rows for the feature models; ``calibration_weight``
        weights rows for the probability calibration (e.g. real passages 1, written
        ones less, to calibrate for real text). ``tune_mask`` selects the rows the
        label thresholds are tuned on (default: all rows).
        """
        targets = tuple(self.targets)
        Y = _as_targets(y, targets)
        X = list(X)
        if len(X) != len(Y):
            raise ValueError(f"X has {len(X)} passages but y has {len(Y)} rows")
        self.featurizer_ = CueFeaturizer(nlp=self.nlp, ngram_range=self.ngram_range, min_df=self.min_df,
                                         max_features=self.max_features, cue_weight=self.cue_weight)
        F = self.featurizer_.fit_transform(X)
        base = PolarityClassifier(C=self.C, class_weight=self.class_weight, calibration=self.calibration,
                                  calibration_cv=self.calibration_cv, random_state=self.random_state)
        for t in targets:
            bad = set(np.unique(Y[t])) - {-1, 0, 1}
            if bad:
                raise ValueError(f"Labels of {t!r} must be -1, 0 or 1; found {sorted(bad)}")
        fit_kw = {"sample_weight": sample_weight, "calibration_weight": calibration_weight}
        self.estimators_ = _fit_targets(base, F, Y, targets, **fit_kw)
        self.thresholds_ = {t: (0.0, 0.0) for t in targets}
        if self.thresholds == "cv":
            oof = {t: _full_oof(est) for t, est in self.estimators_.items()}
            missing = [t for t, p in oof.items() if p is None]
            if missing:  # uncalibrated targets: out-of-fold fits of their own
                oof.update(_oof_proba(base, F, Y, missing, self.threshold_cv, self.random_state, **fit_kw))
            mask = np.ones(len(Y), bool) if tune_mask is None else np.asarray(tune_mask, bool)
            self.thresholds_ = {}
            for t in targets:
                yt = Y[t].to_numpy()[mask]
                tn, tp = tune_thresholds(yt, oof[t][mask])
                if np.mean(yt == -1) < self.min_pole_prevalence:
                    tn = max(tn, self.rare_pole_floor)
                if np.mean(yt == 1) < self.min_pole_prevalence:
                    tp = max(tp, self.rare_pole_floor)
                self.thresholds_[t] = (float(tn), float(tp))
            for est in self.estimators_.values():  # not needed after tuning; keeps the model file small
                est.oof_proba_ = None
        elif self.thresholds is not None:
            raise ValueError(f"thresholds must be 'cv' or None, got {self.thresholds!r}")
        self.targets_ = targets
        self.classes_ = CLASSES
        self.n_features_in_ = 1
        return self

    def _features(self, X):
        check_is_fitted(self, "estimators_")
        return self.featurizer_.transform(X)

    def predict_proba_features(self, F) -> dict[str, np.ndarray]:
        """``{target: (n, 3) probabilities for -1, 0, +1}`` from a feature matrix."""
        check_is_fitted(self, "estimators_")
        return {t: _full_proba(est, F) for t, est in self.estimators_.items()}

    def predict_proba(self, X) -> dict[str, np.ndarray]:
        return self.predict_proba_features(self._features(X))

    def decide(self, proba: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Labels from probabilities, with the fitted per-target thresholds."""
        check_is_fitted(self, "estimators_")
        return {t: apply_thresholds(p, *self.thresholds_.get(t, (0.0, 0.0))) for t, p in proba.items()}

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
