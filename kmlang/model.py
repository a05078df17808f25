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
from sklearn.calibration import CalibratedClassifierCV
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
    """Calibrated logistic regression for one axis.

    Parameters
    ----------
    C : float
        Inverse regularisation strength.
    class_weight : dict, "balanced" or None
        Passed to ``LogisticRegression``.
    calibration : {"sigmoid", "isotonic", None}
        Cross-validated calibration of the probabilities (``None``: raw).
    cv : int
        Calibration folds; reduced to the size of the rarest class when needed
        (with fewer than 2 examples of a class, probabilities stay uncalibrated).
    random_state : int
        Seed for the calibration folds.
    """

    def __init__(self, C: float = 4.0, class_weight="balanced", calibration: str | None = "sigmoid",
                 cv: int = 3, random_state: int = 0, max_iter: int = 2000):
        self.C = C
        self.class_weight = class_weight
        self.calibration = calibration
        self.cv = cv
        self.random_state = random_state
        self.max_iter = max_iter

    def _base(self) -> LogisticRegression:
        return LogisticRegression(C=self.C, class_weight=self.class_weight, max_iter=self.max_iter,
                                  random_state=self.random_state)

    def fit(self, X, y, sample_weight=None):
        X, y = validate_data(self, X, y, accept_sparse="csr")
        check_classification_targets(y)
        self.classes_ = np.unique(y)
        if len(self.classes_) == 1:
            self.estimator_ = None
            return self
        _, counts = np.unique(y, return_counts=True)
        folds = min(self.cv, int(counts.min()))
        if self.calibration is None or folds < 2:
            self.estimator_ = self._base().fit(X, y, sample_weight=sample_weight)
            self.calibrated_ = False
        else:
            cv = StratifiedKFold(folds, shuffle=True, random_state=self.random_state)
            self.estimator_ = CalibratedClassifierCV(self._base(), method=self.calibration, cv=cv,
                                                     ensemble=False)
            self.estimator_.fit(X, y, sample_weight=sample_weight)
            self.calibrated_ = True
        return self

    def predict_proba(self, X):
        check_is_fitted(self, "classes_")
        X = validate_data(self, X, accept_sparse="csr", reset=False)
        if self.estimator_ is None:
            return np.ones((X.shape[0], 1))
        return self.estimator_.predict_proba(X)

    def predict(self, X):
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    @property
    def linear_model_(self) -> LogisticRegression | None:
        """The fitted logistic regression behind the calibrated probabilities (for explanations)."""
        check_is_fitted(self, "classes_")
        if self.estimator_ is None:
            return None
        if isinstance(self.estimator_, CalibratedClassifierCV):
            return self.estimator_.calibrated_classifiers_[0].estimator
        return self.estimator_


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
    C, class_weight, calibration, cv : see :class:`PolarityClassifier`.
    ngram_range, min_df, max_features, cue_weight : see :class:`CueFeaturizer`.
    targets : tuple of str
        What to predict (default: the eleven shifts and ``overall``).
    random_state : int
        Seed; the same data and seed give the same model.
    """

    def __init__(self, nlp=None, C: float = 4.0, class_weight="balanced", calibration="sigmoid", cv: int = 3,
                 ngram_range=(1, 2), min_df: int = 2, max_features: int | None = 60000,
                 cue_weight: float = 0.5, targets: tuple[str, ...] = TARGETS, random_state: int = 0):
        self.nlp = nlp
        self.C = C
        self.class_weight = class_weight
        self.calibration = calibration
        self.cv = cv
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.max_features = max_features
        self.cue_weight = cue_weight
        self.targets = targets
        self.random_state = random_state

    def fit(self, X, y, sample_weight=None):
        targets = tuple(self.targets)
        Y = _as_targets(y, targets)
        X = list(X)
        if len(X) != len(Y):
            raise ValueError(f"X has {len(X)} passages but y has {len(Y)} rows")
        self.featurizer_ = CueFeaturizer(nlp=self.nlp, ngram_range=self.ngram_range, min_df=self.min_df,
                                         max_features=self.max_features, cue_weight=self.cue_weight)
        F = self.featurizer_.fit_transform(X)
        base = PolarityClassifier(C=self.C, class_weight=self.class_weight, calibration=self.calibration,
                                  cv=self.cv, random_state=self.random_state)
        self.estimators_ = {}
        for t in targets:
            yt = Y[t].to_numpy()
            bad = set(np.unique(yt)) - {-1, 0, 1}
            if bad:
                raise ValueError(f"Labels of {t!r} must be -1, 0 or 1; found {sorted(bad)}")
            self.estimators_[t] = clone(base).fit(F, yt, sample_weight=sample_weight)
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
        out = {}
        for t, est in self.estimators_.items():
            p = est.predict_proba(F)
            full = np.zeros((F.shape[0], 3))
            for j, c in enumerate(est.classes_):
                full[:, int(c) + 1] = p[:, j]
            out[t] = full
        return out

    def predict_proba(self, X) -> dict[str, np.ndarray]:
        return self.predict_proba_features(self._features(X))

    def predict(self, X) -> pd.DataFrame:
        """Most probable label per target, as a DataFrame with one column per target."""
        proba = self.predict_proba(X)
        return pd.DataFrame({t: CLASSES[np.argmax(p, axis=1)] for t, p in proba.items()})

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
