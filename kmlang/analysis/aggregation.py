"""Roll passage scores up by author, document, period or any column.

Everything here is a pure function of a *score frame* (what :func:`kmlang.score`
returns): no printing, no plotting, and every function returns new objects.

How a group's figures are computed
----------------------------------
For each target ``t`` (the eleven shifts and ``overall``, :data:`kmlang.TARGETS`)
a passage has a position ``x`` in [-1, 1] and a relevance ``w`` in [0, 1]. Per
group:

``t_raw``
    the relevance-weighted mean ``sum(w*x) / sum(w)`` (0 when every weight is 0:
    nothing in the group speaks to the shift, which reads as neutral).
``t_se``
    its standard error with Kish's effective sample size
    ``n_eff = sum(w)**2 / sum(w**2)``: ``se = sqrt(s2 / (n_eff - 1))`` where
    ``s2 = sum(w*(x - mean)**2) / sum(w)`` is the weighted variance (this is
    ``sqrt(s2 * n_eff/(n_eff-1) / n_eff)``, the usual SE when all weights are
    equal). NaN when ``n_eff <= 1`` (at most one passage carries weight).
``t``
    with ``shrink=True`` the empirical-Bayes mean
    ``B * t_raw + (1 - B) * population`` with ``B = tau2 / (tau2 + se**2)``.
    ``population`` is the weighted mean over every included passage (including
    those of groups too small to report); ``tau2`` is the between-group variance
    of the raw means, estimated by the method of moments
    (``var(t_raw, ddof=1) - mean(se**2)`` over the reported groups with a finite
    SE, floored at ``1e-4``, i.e. a between-group SD of 0.01). Small or noisy
    groups are pulled toward the community, large ones barely move. A group with
    no usable SE gets ``B = 0``. With fewer than two groups there is nothing to
    estimate ``tau2`` from and ``t == t_raw``. With ``shrink=False``, ``t == t_raw``.
``t_lo``, ``t_hi``
    a 95% interval for ``t``, clipped to [-1, 1]. ``interval="se"``:
    ``t -/+ 1.96 * sd`` where ``sd = se`` unshrunk and the posterior SD
    ``sqrt(B) * se`` when shrunk (groups with no usable SE: ``sqrt(tau2)``).
    ``interval="bootstrap"``: the 95% percentile interval of the raw weighted
    mean over ``n_boot`` resamples of the group's passages (seeded by
    ``random_state``); when shrunk, its distances from ``t_raw`` are scaled by
    ``sqrt(B)`` around ``t`` in the same way.
``t_expressed``
    share of the group's passages whose label is not 0 (a missing label counts
    as not expressed).

Rows whose ``status`` is not in ``statuses`` are left out and counted in
``attrs["excluded_status"]``; rows with a NaN position or relevance for a target
count as passages but carry no weight for that target.

Map-reduce
----------
:func:`partial_aggregate` turns a chunk of a score frame into per-group sums
(sufficient statistics) and :func:`combine_partials` turns any number of such
chunks into the final table. :func:`aggregate` with ``interval="se"`` is exactly
``combine_partials([partial_aggregate(scores, ...)], ...)``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from kmlang.shifts import TARGETS

__all__ = [
    "DEFAULT_STATUSES",
    "aggregate",
    "combine_partials",
    "partial_aggregate",
    "period_alias",
]

#: Statuses counted by default: rows that were scored as English.
DEFAULT_STATUSES: tuple[str, ...] = ("ok", "truncated")

_Z = 1.959963984540054  # two-sided 95% normal quantile
_TAU2_FLOOR = 1e-4  # floor of the between-group variance (SD 0.01 on a [-1, 1] scale)
_BOOT_CELLS = 2_000_000  # resample counts held in memory at once

_FREQ = {"W": "W", "M": "M", "ME": "M", "MS": "M", "Q": "Q", "QE": "Q", "QS": "Q",
         "Y": "Y", "YE": "Y", "YS": "Y", "A": "Y", "D": "D"}
_STAT_SUFFIXES = ("sum_w", "sum_wx", "sum_w2", "sum_wx2", "n_expressed",
                  # for the shares: scored rows, labels of each pole, P(pole) and its square
                  "n_scored", "n_lpos", "n_lneg", "sum_ppos", "sum_ppos2", "sum_pneg", "sum_pneg2")


# --------------------------------------------------------------------------- input


def period_alias(freq: str) -> str:
    """The pandas *period* alias for ``freq``.

    ``"W"`` (weeks starting Monday), ``"M"`` (months), ``"Q"`` (calendar
    quarters), ``"Y"`` and ``"D"``; the offset spellings ``"ME"``, ``"MS"``,
    ``"QE"``, ``"QS"``, ``"YE"`` are accepted too, as is any other period alias
    pandas knows (``"W-SAT"``, ``"Q-JUN"``...).
    """
    if not isinstance(freq, str):
        raise TypeError(f"freq must be a string such as 'W', 'M' or 'Q', got {type(freq).__name__}")
    alias = _FREQ.get(freq.upper(), freq)
    try:
        pd.Period("2000-01-01", freq=alias)
    except (ValueError, TypeError):
        raise ValueError(f"freq must be 'W', 'M', 'Q' (or another pandas period alias), "
                         f"got {freq!r}") from None
    return alias


def _by_columns(by) -> list[str]:
    if by is None:
        return []
    if isinstance(by, str):
        return [by]
    if isinstance(by, Iterable):
        return list(by)
    return [by]


def _columns_hint(frame: pd.DataFrame) -> str:
    cols = ", ".join(map(str, frame.columns[:15]))
    return cols + (", ..." if len(frame.columns) > 15 else "")


def _timestamps(frame: pd.DataFrame, column: str) -> pd.Series:
    ts = frame[column]
    if isinstance(ts.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(ts.dtype):
        return ts
    try:
        return pd.to_datetime(ts, utc=True)
    except (ValueError, TypeError):
        try:
            return pd.to_datetime(ts, utc=True, format="mixed")
        except (ValueError, TypeError) as err:
            raise ValueError(f"Column {column!r} holds values that are not timestamps "
                             f"({err}). Pass timestamp='<column>' or convert it with "
                             f"pd.to_datetime.") from None


def _period_start(ts: pd.Series, alias: str) -> pd.Series:
    """Start of each timestamp's period, in the timestamps' own time zone."""
    tz = ts.dt.tz
    naive = ts.dt.tz_localize(None) if tz is not None else ts
    start = naive.dt.to_period(alias).dt.start_time
    if tz is not None:
        start = start.dt.tz_localize(tz, ambiguous=False, nonexistent="shift_forward")
    return start


def _prepare(scores, by, freq, timestamp, statuses, targets):
    """Check the frame, filter statuses, add ``period``: (frame, keys, info)."""
    if not isinstance(scores, pd.DataFrame):
        raise TypeError(f"scores must be a DataFrame as returned by kmlang.score(), "
                        f"got {type(scores).__name__}")
    by_cols = _by_columns(by)
    for c in by_cols:
        if c not in scores.columns:
            raise KeyError(f"Group column {c!r} is not in the score frame; columns are: "
                           f"{_columns_hint(scores)}")
    if len(set(by_cols)) != len(by_cols):
        raise ValueError(f"by names a column twice: {by_cols}")
    needed = ["n_tokens"]
    for t in targets:
        needed += [t, f"{t}_relevance", f"{t}_label"]
    clash = [c for c in by_cols if c in needed]
    if clash:
        raise ValueError(f"Cannot group by score column(s) {clash}; group by an input column "
                         f"such as 'author' or 'doc_id'")
    missing = [c for c in needed if c not in scores.columns]
    if missing:
        raise KeyError(f"Score column(s) {', '.join(map(repr, missing))} not in the frame; "
                       f"pass the output of kmlang.score() (columns are: {_columns_hint(scores)})")
    alias = None
    if freq is not None:
        alias = period_alias(freq)
        if timestamp not in scores.columns:
            raise KeyError(f"Timestamp column {timestamp!r} is not in the score frame (needed for "
                           f"freq={freq!r}); columns are: {_columns_hint(scores)}. "
                           f"Pass timestamp='<column>'.")
        if "period" in by_cols:
            raise ValueError("by cannot include a column named 'period' when freq is given; "
                             "rename it first")

    statuses = tuple(statuses)
    if "status" in scores.columns:
        keep = scores["status"].isin(statuses).to_numpy()
        counts = scores.loc[~keep, "status"].astype("object").fillna("<NA>").value_counts()
        excluded = {str(k): int(v) for k, v in counts.items()}
    else:
        keep = np.ones(len(scores), dtype=bool)
        excluded = {}
    frame = scores.loc[keep, by_cols + needed + ([timestamp] if alias else [])]

    missing_ts = 0
    if alias is not None:
        period = _period_start(_timestamps(frame, timestamp), alias)
        has = period.notna().to_numpy()
        missing_ts = int((~has).sum())
        frame = frame.loc[has].drop(columns=[timestamp])
        frame = frame.assign(period=period[has])
    keys = by_cols + (["period"] if alias else [])
    info = {"excluded_status": excluded, "missing_timestamp": missing_ts,
            "by": by_cols, "freq": alias, "statuses": statuses, "targets": tuple(targets)}
    return frame, keys, info


# ------------------------------------------------------------------- partial sums


def _stat_columns(targets) -> list[str]:
    cols = ["n_passages", "n_tokens"]
    for t in targets:
        cols += [f"{t}_{s}" for s in _STAT_SUFFIXES]
    return cols


def _sum_groups(df: pd.DataFrame, keys: list[str], stat_cols: list[str]) -> pd.DataFrame:
    if keys:
        gb = df.groupby(keys, dropna=False, sort=True, observed=True)[stat_cols]
        return gb.sum().reset_index()
    return pd.DataFrame({c: [df[c].sum()] for c in stat_cols})


def _passage_stats(frame: pd.DataFrame, keys: list[str], targets) -> pd.DataFrame:
    cols: dict[str, object] = {k: frame[k].to_numpy() for k in keys}
    cols["n_passages"] = np.ones(len(frame), dtype="int64")
    cols["n_tokens"] = (pd.to_numeric(frame["n_tokens"], errors="coerce").fillna(0)
                        .to_numpy().astype("int64"))
    for t in targets:
        x, w = _position_weight(frame, t)
        cols[f"{t}_sum_w"] = w
        cols[f"{t}_sum_wx"] = w * x
        cols[f"{t}_sum_w2"] = w * w
        cols[f"{t}_sum_wx2"] = w * x * x
        label = pd.to_numeric(frame[f"{t}_label"], errors="coerce")
        cols[f"{t}_n_expressed"] = (label.fillna(0) != 0).to_numpy().astype("int64")
        # P(+1) and P(-1) back from position = P(+1) - P(-1) and relevance = 1 - P(0)
        scored = _scored(frame, t)
        lab = label.fillna(0).to_numpy()
        p_pos = np.where(scored, np.clip((w + x) / 2, 0.0, 1.0), 0.0)
        p_neg = np.where(scored, np.clip((w - x) / 2, 0.0, 1.0), 0.0)
        cols[f"{t}_n_scored"] = scored.astype("int64")
        cols[f"{t}_n_lpos"] = (scored & (lab == 1)).astype("int64")
        cols[f"{t}_n_lneg"] = (scored & (lab == -1)).astype("int64")
        cols[f"{t}_sum_ppos"] = p_pos
        cols[f"{t}_sum_ppos2"] = p_pos * p_pos
        cols[f"{t}_sum_pneg"] = p_neg
        cols[f"{t}_sum_pneg2"] = p_neg * p_neg
    out = pd.DataFrame(cols, index=frame.index)
    for k in keys:  # keep categorical / datetime dtypes of the key columns
        out[k] = frame[k]
    return out


def _scored(frame: pd.DataFrame, t: str) -> np.ndarray:
    """Rows with a position and a relevance for ``t`` (the denominator of its shares)."""
    x = pd.to_numeric(frame[t], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    w = pd.to_numeric(frame[f"{t}_relevance"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    return np.isfinite(x) & np.isfinite(w)


def _position_weight(frame: pd.DataFrame, t: str) -> tuple[np.ndarray, np.ndarray]:
    x = pd.to_numeric(frame[t], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    w = pd.to_numeric(frame[f"{t}_relevance"], errors="coerce").to_numpy(dtype=float,
                                                                         na_value=np.nan)
    ok = np.isfinite(x) & np.isfinite(w)
    return np.where(ok, x, 0.0), np.where(ok, np.clip(w, 0.0, None), 0.0)


def partial_aggregate(scores: pd.DataFrame, by="author", freq: str | None = None, *,
                      timestamp: str = "timestamp", statuses: Sequence[str] = DEFAULT_STATUSES,
                      targets: Sequence[str] = TARGETS) -> pd.DataFrame:
    """Per-group sufficient statistics of one chunk of a score frame (the *map* step).

    Parameters are as for :func:`aggregate`. No group is dropped here: small
    groups may grow when chunks are combined.

    Returns
    -------
    DataFrame
        One row per group: the group columns, ``period`` (with ``freq``),
        ``n_passages``, ``n_tokens`` and for each target ``<t>_sum_w`` (sum of
        relevances), ``<t>_sum_wx``, ``<t>_sum_w2``, ``<t>_sum_wx2`` and
        ``<t>_n_expressed``. ``attrs`` holds ``excluded_status`` (status ->
        count), ``missing_timestamp`` (rows without a timestamp, with ``freq``),
        ``by``, ``freq``, ``statuses`` and ``targets``. Combine chunks with
        :func:`combine_partials`.
    """
    frame, keys, info = _prepare(scores, by, freq, timestamp, statuses, targets)
    return _partial(frame, keys, info)


def _partial(frame, keys, info) -> pd.DataFrame:
    stat_cols = _stat_columns(info["targets"])
    out = _sum_groups(_passage_stats(frame, keys, info["targets"]), keys, stat_cols)
    out.attrs = dict(info)
    return out


# ------------------------------------------------------------------------ combine


def _infer_keys(partial: pd.DataFrame) -> list[str]:
    cols = list(partial.columns)
    if "n_passages" not in cols:
        raise ValueError("Not a partial aggregate: no 'n_passages' column; "
                         "make partials with kmlang.aggregation.partial_aggregate")
    return cols[:cols.index("n_passages")]


def _infer_targets(partial: pd.DataFrame) -> tuple[str, ...]:
    targets = partial.attrs.get("targets")
    if targets:
        return tuple(targets)
    suffix = "_sum_wx2"
    return tuple(c[:-len(suffix)] for c in partial.columns if c.endswith(suffix))


def _tau2(raw: np.ndarray, se: np.ndarray) -> float:
    finite = np.isfinite(se)
    if finite.sum() < 2:
        return float("nan")
    est = np.var(raw[finite], ddof=1) - np.mean(se[finite] ** 2)
    return float(max(est, _TAU2_FLOOR))


@dataclass(frozen=True)
class _Shares:
    """How share columns are made: an :class:`~kmlang.model.quantify.ErrorModel` and a method."""

    em: object
    method: str
    random_state: int | None

    def columns(self, base: pd.DataFrame, t: str) -> dict[str, np.ndarray]:
        from kmlang.model.quantify import POLES

        out: dict[str, np.ndarray] = {}
        n = base[f"{t}_n_scored"].to_numpy(dtype=float)
        safe = np.where(n > 0, n, np.nan)
        for name, pole in POLES.items():
            cols = [f"share_{t}_{name}", f"share_{t}_{name}_lo", f"share_{t}_{name}_hi"]
            if t not in self.em.targets:
                out.update({c: np.full(len(n), np.nan) for c in cols})
                continue
            if self.method in ("cc", "acc"):
                q = base[f"{t}_n_l{name}"].to_numpy(dtype=float) / safe
                se = np.sqrt(np.clip(q * (1 - q), 0.0, None) / safe)
            else:
                q = base[f"{t}_sum_p{name}"].to_numpy(dtype=float) / safe
                # rounded, so that sums added in another order (map-reduce) give the same draws
                var = np.round(np.clip(base[f"{t}_sum_p{name}2"].to_numpy(dtype=float) / safe - q * q,
                                       0.0, None), 12)
                se = np.where(n > 1, np.sqrt(var / np.where(n > 1, n - 1, 1.0)), 0.0)
            q = np.round(q, 12)
            est, lo, hi = self.em.estimate(t, pole, q, se, self.method, n=n,
                                           random_state=self.random_state)
            out.update(dict(zip(cols, (est, lo, hi), strict=True)))
        return out


def _share_spec(shares: bool, model, method: str, random_state, communities: bool = False) -> _Shares | None:
    """The share recipe for ``aggregate(shares=...)``: ``None`` when off or not possible."""
    if not shares:
        return None
    from kmlang.model.quantify import check_method, error_model
    from kmlang.model.scoring import resolve_model

    check_method(method, "share_method")
    em = error_model(resolve_model(model), communities=communities)
    if em is None:
        import warnings

        warnings.warn("The model has no error sample (held-out passages with its error rates), so "
                      "shares corrected for its error cannot be made; retrain it with `kmlang train`, "
                      "call model.fit_error_sample(texts, labels), or pass shares=False",
                      stacklevel=3)
        return None
    return _Shares(em, method, random_state)


def _combine(stats: pd.DataFrame, keys: list[str], targets, min_passages: int, shrink: bool,
             regroup: bool = True, shares: _Shares | None = None):
    """Sums -> result table. Returns (result, aux, kept) where ``aux[t]`` holds the
    per-row arrays needed for intervals and ``kept`` the kept rows of ``stats``."""
    if int(min_passages) < 1:
        raise ValueError(f"min_passages must be at least 1, got {min_passages!r}")
    stat_cols = _stat_columns(targets)
    if regroup:
        stats = _sum_groups(stats, keys, stat_cols)
    stats = stats.reset_index(drop=True)
    nonempty = stats["n_passages"].to_numpy() > 0
    keep = nonempty & (stats["n_passages"].to_numpy() >= min_passages)
    small = nonempty & ~keep
    kept = np.flatnonzero(keep)
    base = stats.iloc[kept].reset_index(drop=True)

    cols: dict[str, object] = {k: base[k] for k in keys}
    cols["n_passages"] = base["n_passages"].astype("int64")
    cols["n_tokens"] = base["n_tokens"].astype("int64")
    aux: dict[str, dict] = {}
    population: dict[str, float] = {}
    tau2s: dict[str, float] = {}
    n = base["n_passages"].to_numpy(dtype=float)
    for t in targets:
        sw = base[f"{t}_sum_w"].to_numpy(dtype=float)
        swx = base[f"{t}_sum_wx"].to_numpy(dtype=float)
        sw2 = base[f"{t}_sum_w2"].to_numpy(dtype=float)
        swx2 = base[f"{t}_sum_wx2"].to_numpy(dtype=float)
        pos = sw > 0
        safe = np.where(pos, sw, 1.0)
        raw = np.where(pos, swx / safe, 0.0)
        var_w = np.where(pos, np.clip(swx2 / safe - raw ** 2, 0.0, None), 0.0)
        n_eff = np.where(sw2 > 0, sw ** 2 / np.where(sw2 > 0, sw2, 1.0), 0.0)
        multi = n_eff > 1 + 1e-9
        se = np.where(multi, np.sqrt(var_w / np.where(multi, n_eff - 1, 1.0)), np.inf)

        tot_w = float(stats[f"{t}_sum_w"].sum())
        pop = float(stats[f"{t}_sum_wx"].sum()) / tot_w if tot_w > 0 else 0.0
        tau2 = _tau2(raw, se) if shrink else float("nan")
        finite = np.isfinite(se)
        se_f = np.where(finite, se, 0.0)
        if np.isfinite(tau2):
            shrink_w = np.where(finite, tau2 / (tau2 + se_f ** 2), 0.0)
            sd = np.where(finite, np.sqrt(shrink_w) * se_f, np.sqrt(tau2))
        else:
            shrink_w = np.ones_like(raw)
            sd = se
        est = shrink_w * raw + (1 - shrink_w) * pop
        with np.errstate(invalid="ignore"):
            lo = np.where(np.isfinite(sd), np.clip(est - _Z * sd, -1, 1), np.nan)
            hi = np.where(np.isfinite(sd), np.clip(est + _Z * sd, -1, 1), np.nan)
        cols[t] = est
        cols[f"{t}_lo"] = lo
        cols[f"{t}_hi"] = hi
        cols[f"{t}_se"] = np.where(np.isfinite(se), se, np.nan)
        cols[f"{t}_raw"] = raw
        with np.errstate(invalid="ignore", divide="ignore"):
            cols[f"{t}_expressed"] = base[f"{t}_n_expressed"].to_numpy(dtype=float) / n
        if shares is not None:
            cols.update(shares.columns(base, t))
        aux[t] = {"raw": raw, "se": se, "shrink": shrink_w, "tau2": tau2, "est": est}
        population[t] = pop
        tau2s[t] = tau2
    result = pd.DataFrame(cols, columns=list(cols))
    result.attrs.update({
        "dropped_groups": int(small.sum()),
        "dropped_passages": int(stats.loc[small, "n_passages"].sum()),
        "min_passages": int(min_passages),
        "shrink": bool(shrink),
        "population": population,
        "tau2": tau2s,
    })
    if shares is not None:
        result.attrs["share_method"] = shares.method
    return result, aux, kept


def _order_columns(result: pd.DataFrame, keys, targets, interval: str) -> pd.DataFrame:
    cols = list(keys) + ["n_passages", "n_tokens"]
    for t in targets:
        cols += [t, f"{t}_lo", f"{t}_hi"] + ([f"{t}_se"] if interval == "se" else [])
        cols += [f"{t}_raw", f"{t}_expressed"]
        cols += [c for name in ("pos", "neg") for c in
                 (f"share_{t}_{name}", f"share_{t}_{name}_lo", f"share_{t}_{name}_hi")
                 if c in result.columns]
    out = result[cols].copy()
    out.attrs = dict(result.attrs)
    return out


def combine_partials(partials, *, min_passages: int = 5, shrink: bool = True, shares: bool = True,
                     model=None, share_method: str = "pacc", share_communities: bool = False,
                     random_state: int | None = 0) -> pd.DataFrame:
    """Combine per-chunk sums from :func:`partial_aggregate` (the *reduce* step).

    Parameters
    ----------
    partials : DataFrame or list of DataFrames
        Outputs of :func:`partial_aggregate` made with the same ``by``, ``freq``
        and targets; a group may appear in several of them.
    min_passages, shrink, shares, model, share_method, share_communities, random_state
        As for :func:`aggregate`.

    Returns
    -------
    DataFrame
        The same table as ``aggregate(all_chunks, ..., interval="se")``; the
        partials' ``excluded_status`` and ``missing_timestamp`` attrs are summed.
    """
    spec = _share_spec(shares, model, share_method, random_state, share_communities)
    return _combine_partials(partials, min_passages, shrink, spec)[0]


def _combine_partials(partials, min_passages, shrink, shares=None):
    if isinstance(partials, pd.DataFrame):
        partials = [partials]
    partials = list(partials)
    if not partials:
        raise ValueError("combine_partials needs at least one partial aggregate")
    keys = _infer_keys(partials[0])
    targets = _infer_targets(partials[0])
    for p in partials[1:]:
        if list(p.columns) != list(partials[0].columns):
            raise ValueError("Partials have different columns; make them all with the same "
                             f"by, freq and targets (got {list(p.columns)[:4]}... vs "
                             f"{list(partials[0].columns)[:4]}...)")
    excluded: dict[str, int] = {}
    missing_ts = 0
    for p in partials:
        for k, v in p.attrs.get("excluded_status", {}).items():
            excluded[k] = excluded.get(k, 0) + int(v)
        missing_ts += int(p.attrs.get("missing_timestamp", 0))
    stats = pd.concat(partials, ignore_index=True) if len(partials) > 1 else partials[0]
    result, aux, _ = _combine(stats, keys, targets, min_passages, shrink, shares=shares)
    first = partials[0].attrs
    result.attrs.update({
        "excluded_status": excluded,
        "missing_timestamp": missing_ts,
        "by": list(first.get("by", [k for k in keys if k != "period"])),
        "freq": first.get("freq"),
        "statuses": tuple(first.get("statuses", DEFAULT_STATUSES)),
        "interval": "se",
    })
    return _order_columns(result, keys, targets, "se"), aux


# ----------------------------------------------------------------------- aggregate


def aggregate(scores: pd.DataFrame, by="author", freq: str | None = None, *,
              min_passages: int = 5, timestamp: str = "timestamp", interval: str = "se",
              n_boot: int = 1000, shrink: bool = True, random_state: int | None = 0,
              statuses: Sequence[str] = DEFAULT_STATUSES,
              targets: Sequence[str] = TARGETS, shares: bool = True, model=None,
              share_method: str = "pacc", share_communities: bool = False) -> pd.DataFrame:
    """Relevance-weighted mean positions and corrected shares per group, with intervals.

    Parameters
    ----------
    scores : DataFrame
        A score frame from :func:`kmlang.score`.
    by : str, list of str or None
        Group column(s); ``None`` puts the whole community in one group.
        Missing values of a group column form a group of their own.
    freq : {"W", "M", "Q"} or None
        Also group by period of ``timestamp``: weeks (starting Monday), months
        or quarters (see :func:`period_alias` for more).
    min_passages : int
        Groups (group x period cells) with fewer passages are left out, for
        privacy and because their means are noise.
    timestamp : str
        Timestamp column (used only with ``freq``). Values that are not
        datetimes are parsed with ``pd.to_datetime(..., utc=True)``; rows
        without a timestamp are left out and counted in
        ``attrs["missing_timestamp"]``.
    interval : {"se", "bootstrap"}
        How ``t_lo``/``t_hi`` are made (see the module docstring).
    n_boot, random_state
        Bootstrap resamples and seed (``interval="bootstrap"`` only).
    shrink : bool
        Empirical-Bayes shrinkage of each group's mean toward the community
        mean (see the module docstring); ``t_raw`` always keeps the unshrunk mean.
    statuses : sequence of str
        Row statuses that count; other rows are counted in
        ``attrs["excluded_status"]``. A frame without a ``status`` column
        counts every row.
    targets : sequence of str
        Targets to aggregate (default: the eleven shifts and ``overall``).
    shares : bool
        Also estimate the share of passages that express each pole, corrected
        for the classifier's error (:mod:`kmlang.model.quantify`): a reader can
        take "17% [13, 21] of passages admit not knowing" at its word, unlike
        a count of labels. Needs the model that scored the passages.
    model : ShiftClassifier, model directory or None
        The model that scored ``scores``, whose error rates correct the shares
        (default: the packaged model).
    share_method : {"pacc", "acc", "cc", "pcc"}
        Quantification method (see :mod:`kmlang.model.quantify`); ``cc`` is
        plain counting of labels, for comparison.
    share_communities : bool
        The shares' intervals assume the model errs on these passages as it does,
        on average, on the labelled communities, where they cover the truth about
        as often as a 95% interval should. The model's error rates differ between
        communities, though: with one community held out at a time, the corrected
        shares can be further from the truth than counting and their intervals
        cover it far less often. ``True`` adds that between-community variation to
        the intervals: much wider, still short of nominal, meant for a community
        unlike the labelled ones. The measured figures for a model are in its
        card (``shares_benchmark``, written by ``benchmarks/quantification.py
        --write``; for the default model also in ``docs/shares.md``).

    Returns
    -------
    DataFrame
        A new frame, one row per reported group, sorted by the group columns
        then period: the group columns, ``period`` (with ``freq``: a
        ``Timestamp`` at the start of the period, midnight in the data's time
        zone; tz-aware when the timestamps are, UTC when they were parsed from
        strings), ``n_passages``, ``n_tokens``, then for each target ``t``:
        ``t``, ``t_lo``, ``t_hi``, ``t_se`` (``interval="se"`` only), ``t_raw``,
        ``t_expressed``, and with ``shares``: ``share_<t>_pos``,
        ``share_<t>_pos_lo``, ``share_<t>_pos_hi`` (share of the group's
        scored passages that express the collective pole, +1, with its 95%
        interval covering both the group's sampling and the uncertainty of the
        model's error rates; NaN where the pole cannot be corrected, see
        :data:`kmlang.model.quantify.MIN_GOLD`) and the same for ``_neg`` (-1).
        ``attrs``: ``dropped_groups``, ``dropped_passages``
        (groups under ``min_passages`` and their passages), ``excluded_status``
        (status -> count), ``missing_timestamp``, ``population`` and ``tau2``
        (per target), ``by``, ``freq``, ``interval``, ``shrink``.

    Raises
    ------
    KeyError
        A ``by`` column, the timestamp column or a score column is missing.
    """
    result, _ = _aggregate(scores, by, freq, min_passages=min_passages, timestamp=timestamp,
                           interval=interval, n_boot=n_boot, shrink=shrink,
                           random_state=random_state, statuses=statuses, targets=targets,
                           shares=shares, model=model, share_method=share_method,
                           share_communities=share_communities)
    return result


def _aggregate(scores, by, freq, *, min_passages, timestamp, interval, n_boot, shrink,
               random_state, statuses, targets, shares=False, model=None, share_method="pacc",
               share_communities=False):
    if interval not in ("se", "bootstrap"):
        raise ValueError(f"interval must be 'se' or 'bootstrap', got {interval!r}")
    targets = tuple(targets)
    frame, keys, info = _prepare(scores, by, freq, timestamp, statuses, targets)
    spec = _share_spec(shares, model, share_method, random_state, share_communities)
    if interval == "se":
        return _combine_partials([_partial(frame, keys, info)], min_passages, shrink, spec)

    if int(n_boot) < 1:
        raise ValueError(f"n_boot must be a positive integer, got {n_boot!r}")
    passages = _passage_stats(frame, keys, targets)
    if keys:
        codes = passages.groupby(keys, dropna=False, sort=True, observed=True).ngroup().to_numpy()
    else:
        codes = np.zeros(len(passages), dtype="int64")
    stats = _sum_groups(passages, keys, _stat_columns(targets))
    result, aux, kept = _combine(stats, keys, targets, min_passages, shrink, regroup=False, shares=spec)
    _bootstrap_intervals(result, aux, frame, codes, kept, targets, int(n_boot), random_state)
    result.attrs.update({"excluded_status": info["excluded_status"],
                         "missing_timestamp": info["missing_timestamp"], "by": info["by"],
                         "freq": info["freq"], "statuses": info["statuses"],
                         "interval": "bootstrap", "n_boot": int(n_boot)})
    return _order_columns(result, keys, targets, "bootstrap"), aux


def _bootstrap_intervals(result, aux, frame, codes, kept, targets, n_boot, random_state):
    """Replace ``t_lo``/``t_hi`` in ``result`` by percentile-bootstrap intervals."""
    rng = np.random.default_rng(random_state)
    n_t = len(targets)
    xw = [_position_weight(frame, t) for t in targets]
    x_all = np.column_stack([x for x, _ in xw]) if n_t else np.zeros((len(frame), 0))
    w_all = np.column_stack([w for _, w in xw]) if n_t else np.zeros((len(frame), 0))
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(codes.max() + 2 if len(codes) else 1))
    lo_b = np.full((len(kept), n_t), np.nan)
    hi_b = np.full((len(kept), n_t), np.nan)
    for row, g in enumerate(kept):
        idx = order[bounds[g]:bounds[g + 1]]
        w, wx = w_all[idx], w_all[idx] * x_all[idx]
        n = len(idx)
        means = np.empty((n_boot, n_t))
        chunk = max(1, _BOOT_CELLS // max(n, 1))
        for start in range(0, n_boot, chunk):
            b = min(chunk, n_boot - start)
            draws = rng.integers(0, n, size=(b, n)) + (np.arange(b) * n)[:, None]
            counts = np.bincount(draws.ravel(), minlength=b * n).reshape(b, n).astype(float)
            sw, swx = counts @ w, counts @ wx
            means[start:start + b] = np.where(sw > 0, swx / np.where(sw > 0, sw, 1.0), 0.0)
        lo_b[row], hi_b[row] = np.percentile(means, [2.5, 97.5], axis=0)
    for j, t in enumerate(targets):
        a = aux[t]
        scale = np.sqrt(a["shrink"])
        lo = a["est"] - scale * (a["raw"] - lo_b[:, j])
        hi = a["est"] + scale * (hi_b[:, j] - a["raw"])
        if np.isfinite(a["tau2"]):  # shrunk groups without a usable SE: prior spread
            none = ~np.isfinite(a["se"])
            lo = np.where(none, a["est"] - _Z * np.sqrt(a["tau2"]), lo)
            hi = np.where(none, a["est"] + _Z * np.sqrt(a["tau2"]), hi)
        result[f"{t}_lo"] = np.clip(lo, -1, 1)
        result[f"{t}_hi"] = np.clip(hi, -1, 1)
