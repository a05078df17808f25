"""Shares of passages per pole, corrected for the classifier's error (quantification).

Counting labels (*classify and count*) is biased whenever a community's
prevalence differs from the mix the classifier was tuned on: a classifier that
finds 40% of the passages admitting not knowing, and fires on 2% of the others,
reports 0.4 * 10% + 0.02 * 90% = 5.8% where the truth is 10%. The adjusted
methods invert that relation. For one pole of one target, with ``q`` the mean
score of a group's passages (the share labelled with the pole, or the mean
probability of the pole), ``tpr`` the mean score on passages that readers
label with the pole and ``fpr`` the mean score on the others::

    share = (q - fpr) / (tpr - fpr), clipped to [0, 1]

Methods (Forman 2008; Bella et al. 2010):

``cc``    classify and count: the share of passages labelled with the pole.
``pcc``   probabilistic classify and count: the mean probability of the pole.
``acc``   adjusted classify and count: ``cc`` corrected with the label rates.
``pacc``  probabilistic adjusted classify and count: ``pcc`` corrected with the
          mean probabilities.

``pacc`` is the default, chosen by ``benchmarks/quantification.py`` on real test
passages drawn at random (error rates from one half, samples from the other): over
the models measured it is the method that never strayed far from the truth, where
``acc`` at times did worse than counting, because a pole's label rate rests on few
passages. The benchmark's figures for the shipped model are in its ``card.json``
(``shares_benchmark``; :func:`benchmark_summary` reads them).

``tpr`` and ``fpr`` come from the model's *error sample*
(``ShiftClassifier.error_sample_``, set by :meth:`~kmlang.model.classifier.ShiftClassifier.fit_error_sample`):
the final model's probabilities on labelled real passages it was not fitted
on, drawn at random (``kmlang train`` uses the real test passages drawn at
random). Passages chosen because the model found them likely would inflate both
rates (measured: overall +1 fired on 0.77 of such passages of that pole and 0.29
of the others, against 0.57 and 0.10 on passages drawn at random), and
out-of-fold predictions of the weaker fold models would deflate them. A pole
gets no corrected share when the error sample holds fewer than :data:`MIN_GOLD`
passages of it, or when ``tpr - fpr`` is below :data:`MIN_DISCRIMINATION` (the
correction would divide by nearly nothing).

Intervals (95%, percentile) combine both sources of uncertainty in ``n_boot``
replicates: the group's own sampling (``q`` drawn from a beta distribution with
its mean and standard error) and the error rates (``tpr`` and ``fpr`` recomputed
on a stratified bootstrap resample of the error sample).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["METHODS", "DEFAULT_METHOD", "MIN_GOLD", "MIN_DISCRIMINATION", "POLES", "ErrorModel",
           "PoleRates", "benchmark_summary", "community_means", "error_model", "has_communities"]

METHODS = ("cc", "pcc", "acc", "pacc")
DEFAULT_METHOD = "pacc"
#: Gold passages of a pole the error sample must hold for a corrected share.
MIN_GOLD = 15
#: Smallest ``tpr - fpr`` (with the point estimates) for which a share is corrected.
MIN_DISCRIMINATION = 0.10
#: Pole names used in column names: ``share_<target>_pos`` (+1) and ``_neg`` (-1).
POLES = {"pos": 1, "neg": -1}
_PROBA_COLUMN = {-1: 0, 1: 2}


@dataclass(frozen=True)
class PoleRates:
    """How the classifier's score behaves on one pole of one target (see the module docstring)."""

    tpr: float
    fpr: float
    tpr_boot: np.ndarray
    fpr_boot: np.ndarray
    n_gold: int
    n_other: int
    min_gold: int = MIN_GOLD
    #: between-community SD of ``tpr`` and ``fpr`` (random effects; 0 without communities)
    tau_tpr: float = 0.0
    tau_fpr: float = 0.0

    @property
    def usable(self) -> bool:
        return self.n_gold >= self.min_gold and self.tpr - self.fpr >= MIN_DISCRIMINATION


class ErrorModel:
    """Error rates of a classifier per target, pole and method, with bootstrap replicates.

    Parameters
    ----------
    gold : (n, T) int array
        Reader labels (-1/0/+1) of the labelled real passages.
    proba : (n, T, 3) float array
        Out-of-fold probabilities of -1, 0, +1 for the same passages.
    labels : (n, T) int array
        The labels the model's decision rule gives those probabilities.
    targets : sequence of str
        The ``T`` target ids, in column order.
    n_boot : int
        Bootstrap replicates of the error rates.
    random_state : int
        Seed of the replicates.
    min_gold : int
        Gold passages a pole needs for a corrected share (default :data:`MIN_GOLD`).
    groups : (n,) array, optional
        The community (corpus) of each passage. Error rates differ between
        communities (on kmlang's error sample, overall +1 got a mean probability
        of 0.25 on the other passages of the R mailing lists and 0.10-0.17
        elsewhere), and a new community's rates are unknown. With ``groups``,
        every replicate adds a draw of that between-community variation (its SD
        ``tau`` estimated by the DerSimonian-Laird method of moments), so the
        intervals hold for a community that is not in the error sample.
    """

    def __init__(self, gold, proba, labels, targets, *, n_boot: int = 1000, random_state: int = 0,
                 min_gold: int = MIN_GOLD, groups=None):
        self.gold = np.asarray(gold)
        self.proba = np.asarray(proba, dtype=float)
        self.labels = np.asarray(labels)
        self.targets = tuple(targets)
        if self.gold.shape != self.labels.shape or self.proba.shape != (*self.gold.shape, 3):
            raise ValueError(f"gold {self.gold.shape}, labels {self.labels.shape} and proba "
                             f"{self.proba.shape} do not match (n, T) / (n, T, 3)")
        if self.gold.shape[1] != len(self.targets):
            raise ValueError(f"{self.gold.shape[1]} label columns for {len(self.targets)} targets")
        self.n_boot = int(n_boot)
        self.random_state = random_state
        self.min_gold = int(min_gold)
        self.groups = None if groups is None else np.asarray(groups)
        if self.groups is not None and self.groups.shape != (self.gold.shape[0],):
            raise ValueError(f"groups has shape {self.groups.shape}; expected ({self.gold.shape[0]},)")
        self._rates: dict[tuple[str, int, bool], PoleRates] = {}

    @property
    def n(self) -> int:
        return int(self.gold.shape[0])

    def rates(self, target: str, pole: int, method: str = DEFAULT_METHOD) -> PoleRates:
        """:class:`PoleRates` of ``target``'s ``pole`` (+1 or -1) for ``method``'s score."""
        check_method(method)
        probabilistic = method in ("pcc", "pacc")
        key = (target, int(pole), probabilistic)
        if key not in self._rates:
            j = self.targets.index(target)
            score = (self.proba[:, j, _PROBA_COLUMN[pole]] if probabilistic
                     else (self.labels[:, j] == pole).astype(float))
            is_pole = self.gold[:, j] == pole
            # a seed per (target, pole, kind): the same replicates whatever was asked before
            seed = [int(self.random_state), j, int(pole) + 1, int(probabilistic)]
            rng = np.random.default_rng(seed)
            tpr_boot = _boot_means(score[is_pole], self.n_boot, rng)
            fpr_boot = _boot_means(score[~is_pole], self.n_boot, rng)
            tau_tpr = tau_fpr = 0.0
            if self.groups is not None:
                # on the logit scale, where rates stay in (0, 1) and a community's rate can be
                # a few times another's (overall +1: 0.10 to 0.25 on the others' passages)
                tau_tpr = _tau(score[is_pole], self.groups[is_pole])
                tau_fpr = _tau(score[~is_pole], self.groups[~is_pole])
                tpr_boot = _expit(_logit(tpr_boot) + rng.normal(0.0, tau_tpr, self.n_boot))
                fpr_boot = _expit(_logit(fpr_boot) + rng.normal(0.0, tau_fpr, self.n_boot))
            self._rates[key] = PoleRates(
                tpr=_mean(score[is_pole]), fpr=_mean(score[~is_pole]),
                tpr_boot=tpr_boot, fpr_boot=fpr_boot,
                n_gold=int(is_pole.sum()), n_other=int((~is_pole).sum()), min_gold=self.min_gold,
                tau_tpr=tau_tpr, tau_fpr=tau_fpr)
        return self._rates[key]

    def estimate(self, target: str, pole: int, q, q_se, method: str = DEFAULT_METHOD, *,
                 n=None, random_state: int | None = 0):
        """Shares of ``target``'s ``pole`` for groups with mean score ``q`` (and its SE).

        Parameters
        ----------
        q, q_se : array-like
            Per group: the mean score (share labelled with the pole for ``cc``/``acc``,
            mean probability of the pole for ``pcc``/``pacc``) and its standard error.
        n : array-like, optional
            Passages per group, used when ``q_se`` is 0 (a count of 0 or of all:
            the sampling draw is then a Jeffreys beta on ``q * n`` of ``n``).

        Returns
        -------
        (share, lo, hi) : three float arrays
            The point estimate and the 95% interval. NaN for groups without
            passages, and for the adjusted methods when the pole is not usable
            (:attr:`PoleRates.usable`).
        """
        check_method(method)
        q = np.atleast_1d(np.asarray(q, dtype=float))
        q_se = np.broadcast_to(np.asarray(q_se, dtype=float), q.shape)
        n_arr = np.broadcast_to(np.asarray(np.nan if n is None else n, dtype=float), q.shape)
        nan = np.full(q.shape, np.nan)
        rates = self.rates(target, pole, method)
        adjusted = method in ("acc", "pacc")
        if adjusted and not rates.usable:
            return nan, nan.copy(), nan.copy()
        rng = np.random.default_rng(random_state)
        qb = _draw_q(q, q_se, n_arr, self.n_boot, rng)  # (G, B)
        if adjusted:
            denom = np.maximum(rates.tpr_boot - rates.fpr_boot, 1e-3)
            pb = np.clip((qb - rates.fpr_boot) / denom, 0.0, 1.0)
            est = np.clip((q - rates.fpr) / (rates.tpr - rates.fpr), 0.0, 1.0)
        else:
            pb, est = qb, np.clip(q, 0.0, 1.0)
        ok = np.isfinite(q)
        lo, hi = np.full(q.shape, np.nan), np.full(q.shape, np.nan)
        if ok.any():
            lo[ok], hi[ok] = np.percentile(pb[ok], [2.5, 97.5], axis=1)
        return np.where(ok, est, np.nan), lo, hi


def error_model(model, *, communities: bool = False) -> ErrorModel | None:
    """The :class:`ErrorModel` of a fitted ``ShiftClassifier`` (cached on it), or ``None``
    when the model has no error sample (models saved before error samples existed, or fitted
    without :meth:`~kmlang.model.classifier.ShiftClassifier.fit_error_sample`).

    ``communities=True`` adds the between-community variation of the error rates to the
    replicates (``groups``; needs an error sample with communities), for intervals meant to
    hold in a community unlike the labelled ones; they are much wider."""
    cache = model.__dict__.setdefault("_error_model_cache", {})
    if communities in cache:
        return cache[communities]
    sample = getattr(model, "error_sample_", None)
    if not sample:
        return None
    targets = tuple(model.targets_)
    proba = np.asarray(sample["proba"], dtype=float)
    labels = model.decide({t: proba[:, j, :] for j, t in enumerate(targets)})
    groups = sample.get("group") if communities else None
    if communities and not has_communities(model):
        raise ValueError("This model's error sample does not say which community each passage "
                         "comes from; retrain it with `kmlang train` to use communities=True")
    em = ErrorModel(sample["gold"], proba, np.column_stack([labels[t] for t in targets]), targets,
                    groups=None if groups is None else np.asarray(groups))
    cache[communities] = em
    return em


def has_communities(model) -> bool:
    """Whether ``model``'s error sample says which community each passage comes from (what
    ``error_model(model, communities=True)`` needs)."""
    sample = getattr(model, "error_sample_", None)
    return bool(sample) and sample.get("group") is not None


def community_means(model, target: str = "overall", pole: int = 1) -> dict[str, float]:
    """Mean probability of ``target``'s ``pole`` over the passages of each community in
    ``model``'s error sample (empty without communities): how far the model's reading of
    text drawn at random moves from one community to another."""
    if not has_communities(model):
        return {}
    sample = model.error_sample_
    proba = np.asarray(sample["proba"], dtype=float)[:, list(model.targets_).index(target), _PROBA_COLUMN[pole]]
    groups, names = np.asarray(sample["group"]), list(sample["group_names"])
    return {names[g]: round(float(proba[groups == g].mean()), 2) for g in np.unique(groups)}


def benchmark_summary(card) -> dict | None:
    """The figures of ``benchmarks/quantification.py --write`` stored in a model card
    (``card["shares_benchmark"]``), for the default method against counting: per table
    (``same_mix``, ``held_out``, ``held_out_communities``) the mean absolute errors in points at
    each true share (``error``, ``cc_error``) and the lowest and highest coverage of the 95%
    intervals in percent (``coverage``). ``None`` when the card has no benchmark."""
    bench = (card or {}).get("shares_benchmark")
    if not bench:
        return None
    method = bench.get("default_method", DEFAULT_METHOD)
    out = {"prevalences": bench["prevalences"], "pool": bench["pool"]}
    for key, table in bench["tables"].items():
        mine, cc = table["methods"][method], table["methods"]["cc"]
        cov = [c for c in mine["coverage_pct"] if c is not None]
        out[key] = {"error": mine["error_pp"], "cc_error": cc["error_pp"],
                    "coverage": (min(cov), max(cov)) if cov else None}
    return out


def check_method(method: str, name: str = "method") -> None:
    """Raise a ``ValueError`` naming the argument ``name`` unless ``method`` is one of ``METHODS``."""
    if method not in METHODS:
        raise ValueError(f"{name} must be one of {', '.join(METHODS)}, got {method!r}")


def _mean(x: np.ndarray) -> float:
    return float(x.mean()) if len(x) else float("nan")


#: a community needs this many passages in a rate's denominator to count in its tau
_TAU_MIN_ROWS = 5


_EPS = 1e-3


def _logit(p):
    p = np.clip(p, _EPS, 1 - _EPS)
    return np.log(p / (1 - p))


def _expit(z):
    return 1.0 / (1.0 + np.exp(-z))


def _tau(x: np.ndarray, groups: np.ndarray) -> float:
    """Between-group SD of the logit of the mean of ``x`` (DerSimonian-Laird on the logit
    scale, with delta-method variances; 0 with fewer than 2 groups)."""
    means, variances = [], []
    for g in np.unique(groups):
        xg = x[groups == g]
        if len(xg) < _TAU_MIN_ROWS:
            continue
        m = float(np.clip(xg.mean(), _EPS, 1 - _EPS))
        v = max(xg.var(ddof=1), m * (1 - m) if np.all((xg == 0) | (xg == 1)) else 0.0, 1e-4) / len(xg)
        means.append(np.log(m / (1 - m)))
        variances.append(v / (m * (1 - m)) ** 2)
    k = len(means)
    if k < 2:
        return 0.0
    w = 1.0 / np.asarray(variances)
    m = np.asarray(means)
    mean_w = np.sum(w * m) / np.sum(w)
    q = float(np.sum(w * (m - mean_w) ** 2))
    denom = float(np.sum(w) - np.sum(w ** 2) / np.sum(w))
    return float(np.sqrt(max(0.0, (q - (k - 1)) / denom))) if denom > 0 else 0.0


def _boot_means(x: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """Means of ``n_boot`` resamples of ``x`` (with replacement), in chunks to bound memory."""
    if not len(x):
        return np.full(n_boot, np.nan)
    if np.all((x == 0) | (x == 1)):  # label rates: a resample's mean is binomial
        return rng.binomial(len(x), x.mean(), size=n_boot) / len(x)
    out = np.empty(n_boot)
    chunk = max(1, 2_000_000 // len(x))
    for start in range(0, n_boot, chunk):
        b = min(chunk, n_boot - start)
        out[start:start + b] = x[rng.integers(0, len(x), size=(b, len(x)))].mean(axis=1)
    return out


def _draw_q(q, q_se, n, n_boot, rng) -> np.ndarray:
    """``n_boot`` draws per group of its mean score: a beta with the mean ``q`` and SD
    ``q_se`` (bounded in [0, 1], skewed near 0 as a rare pole's share is); a Jeffreys
    beta on ``q * n`` of ``n`` when the SE is 0 or the mean is 0 or 1."""
    q_c = np.clip(np.nan_to_num(q, nan=0.5), 0.0, 1.0)
    var = np.nan_to_num(q_se, nan=0.0) ** 2
    moment = (var > 0) & (q_c > 0) & (q_c < 1) & (var < q_c * (1 - q_c))
    kappa = np.where(moment, q_c * (1 - q_c) / np.where(moment, var, 1.0) - 1.0, 0.0)
    n_ok = np.where(np.isfinite(n) & (n > 0), n, 1.0)
    a = np.where(moment, q_c * kappa, q_c * n_ok + 0.5)
    b = np.where(moment, (1 - q_c) * kappa, (1 - q_c) * n_ok + 0.5)
    return rng.beta(np.maximum(a, 1e-6)[:, None], np.maximum(b, 1e-6)[:, None],
                    size=(len(q_c), n_boot))
