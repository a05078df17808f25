"""Trends: the mean position per period, a smoothed line, and whether it is changing.

:func:`trend` rolls a score frame up by period (and optionally by group) with
:func:`kmlang.aggregate`, then fits a slope per group and target and says, in a
rule stated below, whether the position is *changing* or shows *no clear
change*. It is careful not to over-claim:

* periods with fewer than ``min_passages`` passages are left out, and the
  periods that remain keep their calendar spacing (``period_index``), so a gap
  stays a gap (nothing is interpolated across it);
* the smoothed line (``<t>_smooth``) is a centred rolling mean over a window of
  *calendar* periods, so it never reaches across a long gap;
* slopes are given per year with a 95% interval, and "changing" needs both an
  interval that excludes 0 *and* a fitted change over the data's span of at
  least ``min_change`` (0.10 by default) on the -1..+1 position scale.

Change points (a level that moves at one time rather than a steady slope) are
in :mod:`kmlang.analysis.changepoints`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from kmlang.analysis.aggregation import (
    _Z,
    DEFAULT_STATUSES,
    _aggregate,
    _by_columns,
    period_alias,
)
from kmlang.shifts import TARGETS

__all__ = [
    "DEFAULT_MIN_CHANGE",
    "DEFAULT_SMOOTH",
    "Trend",
    "describe_trend",
    "period_label",
    "periods_per_year",
    "trend",
]

#: Smallest fitted change over the data's span, on the -1..+1 position scale, that
#: :func:`trend` calls "changing" (a tenth of the distance from neutral to a pole).
DEFAULT_MIN_CHANGE = 0.10
#: Default width of the smoothing window, in calendar periods (centred: +/- 2 periods).
DEFAULT_SMOOTH = 5

_SE_FLOOR = 1e-3  # floor of a period's SE when it is used as a 1/se^2 weight
_PER_YEAR = {"D": 365.25, "W": 365.25 / 7, "M": 12.0, "Q": 4.0, "Y": 1.0}
_POLE = {1: "we", -1: "I"}


# ------------------------------------------------------------------------ helpers


def periods_per_year(freq: str) -> float:
    """How many periods of ``freq`` make a year: M 12, Q 4, W 52.18, D 365.25, Y 1.

    Anchored aliases (``"W-SAT"``, ``"Q-JUN"``) count like their base; any other
    pandas period alias is converted through its length in days
    (365.25 days a year).
    """
    alias = period_alias(freq)
    base = alias.split("-")[0].upper()
    if base in _PER_YEAR:
        return _PER_YEAR[base]
    p = pd.Period("2001-01-01", freq=alias)
    length = (p + 1).start_time - p.start_time
    return float(pd.Timedelta(days=365.25) / length)


def period_label(value, freq: str | None) -> str:
    """A period's start as people write it: ``2019-01`` (month), ``2019-Q1``,
    ``2019``, or the first day (``2019-01-07``) for weeks and days."""
    if value is None or pd.isna(value):
        return "no period"
    ts = pd.Timestamp(value)
    base = str(freq or "").split("-")[0].upper()
    if base == "M":
        return ts.strftime("%Y-%m")
    if base == "Q":
        return f"{ts.year}-Q{ts.quarter}"
    if base == "Y":
        return str(ts.year)
    return ts.strftime("%Y-%m-%d")


def _num(*values: float) -> list[str]:
    """Signed numbers with two decimals (three when all are under 0.05), no "-0.00"."""
    finite = [abs(v) for v in values if v is not None and math.isfinite(v)]
    digits = 3 if finite and max(finite) < 0.05 else 2
    out = []
    for v in values:
        if v is None or not math.isfinite(v):
            out.append("n/a")
            continue
        text = f"{v:+.{digits}f}"
        out.append(text[1:] if float(text) == 0 else text)
    return out


def describe_trend(row, target: str = "overall", *, freq: str = "M",
                   min_change: float = DEFAULT_MIN_CHANGE) -> str:
    """One row of :attr:`Trend.slopes` as a plain sentence, for ``target``.

    ``"changing: toward 'we' by +0.14 over 2019-01 to 2021-06 (+0.06/year, 95%
    +0.02 to +0.10)"`` when the row's ``<target>_changing`` is true (``'I'`` for
    a change toward the individual pole); otherwise ``"no clear change
    (+0.01/year, 95% -0.03 to +0.05)"``, with the fitted change and the
    threshold spelt out when the interval excludes 0 but the change is smaller
    than ``min_change``; ``"no trend: fewer than two periods"`` when there is
    no slope.
    """
    t = target
    b = float(row[f"{t}_slope_per_year"])
    lo = float(row[f"{t}_slope_per_year_lo"])
    hi = float(row[f"{t}_slope_per_year_hi"])
    if not math.isfinite(b):
        return "no trend: fewer than two periods with a usable mean"
    sb, slo, shi = _num(b, lo, hi)
    rate = (f"{sb}/year, 95% {slo} to {shi}" if math.isfinite(lo) and math.isfinite(hi)
            else f"{sb}/year, no interval with two periods")
    change = float(row[f"{t}_change"])
    span = (f"{period_label(row['first_period'], freq)} to "
            f"{period_label(row['last_period'], freq)}")
    if bool(row[f"{t}_changing"]):
        return (f"changing: toward '{_POLE[1 if change > 0 else -1]}' by {change:+.2f} "
                f"over {span} ({rate})")
    if math.isfinite(lo) and math.isfinite(hi) and (lo > 0 or hi < 0):
        return (f"no clear change: the fitted change over {span}, {change:+.2f}, is under "
                f"{min_change:.2f} ({rate})")
    return f"no clear change ({rate})"


# ------------------------------------------------------------------------- Trend


@dataclass(frozen=True, eq=False)
class Trend:
    """What :func:`trend` returns.

    Attributes
    ----------
    periods : DataFrame
        One row per group and period with at least ``min_passages`` passages
        (smaller periods are left out, not filled in): the columns of
        :func:`kmlang.aggregate` with ``freq``, plus ``period_index`` (0 for
        the first period in the data, counting calendar periods, so gaps keep
        their width) after ``period``, and for each target ``t`` a column
        ``t_smooth`` (the smoothed line, see :func:`trend`; absent with
        ``smooth=None``). ``attrs["dropped_groups"]`` and
        ``attrs["dropped_passages"]`` count the periods left out and their
        passages.
    slopes : DataFrame
        One row per group: the group columns, ``n_periods``, ``first_period``,
        ``last_period``, then for each target ``t``:

        - ``t_slope``, ``t_slope_se``, ``t_slope_lo``, ``t_slope_hi``: the
          change of the mean position per period (e.g. per month), its SE and
          95% interval (kept for compatibility);
        - ``t_slope_per_year``, ``t_slope_per_year_lo``,
          ``t_slope_per_year_hi``: the same per year (x12 for months, x4 for
          quarters, x52.18 for weeks, x365.25 for days);
        - ``t_change``: the fitted change from the first to the last period,
          ``t_slope * (last - first period_index)``;
        - ``t_changing``: ``True`` only when the 95% interval excludes 0 and
          ``|t_change| >= min_change``.

        NaN slopes (and ``t_changing`` False) for a group with fewer than two
        usable periods.
    freq : str
        The pandas period alias used (``"W"``, ``"M"``, ``"Q"``...).
    by : tuple of str
        The group columns.
    min_passages, min_change, smooth
        The parameters the trend was made with.
    """

    periods: pd.DataFrame
    slopes: pd.DataFrame
    freq: str
    by: tuple[str, ...] = ()
    min_passages: int = 5
    min_change: float = DEFAULT_MIN_CHANGE
    smooth: int | None = DEFAULT_SMOOTH

    def describe(self, target: str = "overall", group=None) -> str:
        """:func:`describe_trend` of one group's row (``group=None`` when not grouped)."""
        if f"{target}_slope_per_year" not in self.slopes.columns:
            raise KeyError(f"No slope for {target!r} in this trend")
        if self.by:
            if group is None:
                raise ValueError(f"The trend is by {list(self.by)}; pass group=...")
            want = group if isinstance(group, tuple) else (group,)
            match = np.ones(len(self.slopes), dtype=bool)
            for c, v in zip(self.by, want, strict=True):
                match &= (self.slopes[c] == v).to_numpy()
            hit = self.slopes[match]
            if len(hit) != 1:
                raise KeyError(f"No group {group!r} in the trend")
        else:
            hit = self.slopes
        return describe_trend(hit.iloc[0], target, freq=self.freq, min_change=self.min_change)


def trend(scores: pd.DataFrame, by=None, freq: str = "M", *, min_passages: int = 5,
          smooth: int | None = DEFAULT_SMOOTH, min_change: float = DEFAULT_MIN_CHANGE,
          weights: str = "se", timestamp: str = "timestamp", interval: str = "se",
          n_boot: int = 1000, shrink: bool = False, random_state: int | None = 0,
          statuses: Sequence[str] = DEFAULT_STATUSES,
          targets: Sequence[str] = TARGETS) -> Trend:
    """Figures per period, a smoothed line, and the change per year, per group.

    Periods
        The period rows are :func:`kmlang.aggregate` with ``freq`` (same
        parameters), except that ``shrink`` defaults to ``False`` here:
        shrinking every period toward the all-period mean would flatten the
        very change a trend is meant to show. Periods with fewer than
        ``min_passages`` passages are left out; the rest keep
        ``period_index`` counting calendar periods, so gaps keep their width.
    Smoothing (``smooth``, default 5; ``None`` for none)
        ``t_smooth`` at a period is the mean of the group's period values
        (``t``) over a centred window of ``smooth`` *calendar* periods
        (``smooth`` must be odd: +/- ``smooth // 2`` periods), weighted by
        ``n_passages``; left-out periods contribute nothing and the window is
        cut short at the ends. So a smoothed value never draws on periods more
        than ``smooth // 2`` periods away: it never bridges a gap of
        ``smooth // 2`` or more missing periods (let alone one longer than the
        window), and :func:`kmlang.plot.trend` breaks the line at every gap.
    Slope
        A weighted least-squares fit of the *unshrunk* period means
        (``t_raw``) on ``period_index``:

        - ``weights="se"`` (default): weights ``1/se**2`` (SE floored at
          0.001; periods without a usable SE get no weight). The slope's SE is
          the known-variance one, ``1/sqrt(sum w (x - xbar)**2)``, inflated by
          the residual over-dispersion ``chi2 / (k - 2)`` when that exceeds 1;
          95% interval ``+/- 1.96 SE``.
        - ``weights="n"``: weights ``n_passages``, ordinary WLS with the
          residual variance and a Student-t interval on ``k - 2`` degrees of
          freedom (NaN interval with two periods).

        It is reported per period (``t_slope``) and per year
        (``t_slope_per_year``: M x12, Q x4, W x52.18, D x365.25, Y x1), with
        ``t_change = t_slope * span`` (span: last minus first ``period_index``
        of the group), the fitted change over the data.
    The "changing" rule
        ``t_changing`` is ``True`` only when the slope's 95% interval excludes
        0 **and** ``|t_change| >= min_change``, where ``min_change`` defaults
        to **0.10 on the -1..+1 position scale** (a tenth of the way from
        neutral to a pole). A steady drift too small to matter, however
        certain with many passages, is "no clear change"; so is a large fitted
        change whose interval includes 0. :func:`describe_trend` (or
        :meth:`Trend.describe`) writes the verdict as a sentence.

    Groups with fewer than two weighted periods get NaN slopes.

    Returns
    -------
    Trend
        ``.periods`` and ``.slopes`` DataFrames (see :class:`Trend`).
    """
    if freq is None:
        raise ValueError("trend needs a freq such as 'W', 'M' or 'Q'")
    if weights not in ("se", "n"):
        raise ValueError(f"weights must be 'se' or 'n', got {weights!r}")
    if smooth is not None:
        if isinstance(smooth, bool) or not isinstance(smooth, (int, np.integer)) or smooth < 1:
            raise ValueError(f"smooth must be a positive odd number of periods or None, "
                             f"got {smooth!r}")
        if smooth % 2 == 0:
            raise ValueError(f"smooth must be odd (a window centred on each period), "
                             f"got {smooth}")
        smooth = int(smooth)
    min_change = float(min_change)
    if not math.isfinite(min_change) or min_change < 0:
        raise ValueError(f"min_change must be a number >= 0, got {min_change!r}")
    targets = tuple(targets)
    alias = period_alias(freq)
    periods, aux = _aggregate(scores, by, freq, min_passages=min_passages, timestamp=timestamp,
                              interval=interval, n_boot=n_boot, shrink=shrink,
                              random_state=random_state, statuses=statuses, targets=targets)
    by_cols = _by_columns(by)

    ps = periods["period"]
    naive = ps.dt.tz_localize(None) if ps.dt.tz is not None else ps
    ordinal = pd.PeriodIndex(naive.dt.to_period(alias)).asi8 if len(ps) else np.array([], int)
    index = ordinal - ordinal.min() if len(ordinal) else ordinal
    attrs = dict(periods.attrs)
    periods.insert(periods.columns.get_loc("period") + 1, "period_index", index.astype("int64"))
    if smooth is not None:
        _add_smooth(periods, by_cols, targets, smooth)
    attrs.update({"smooth": smooth, "min_change": min_change})
    periods.attrs = attrs

    per_year = periods_per_year(alias)
    work = periods[by_cols + ["period", "period_index", "n_passages"]].copy()
    for t in targets:
        work[f"_raw_{t}"] = aux[t]["raw"]
        work[f"_se_{t}"] = aux[t]["se"]
    rows = []
    groups = (work.groupby(by_cols, dropna=False, sort=True, observed=True) if by_cols
              else [((), work)])
    for key, g in groups:
        key = key if isinstance(key, tuple) else (key,)
        row: dict[str, object] = dict(zip(by_cols, key, strict=True))
        row["n_periods"] = len(g)
        row["first_period"] = g["period"].min() if len(g) else pd.NaT
        row["last_period"] = g["period"].max() if len(g) else pd.NaT
        x = g["period_index"].to_numpy(dtype=float)
        span = float(x.max() - x.min()) if len(x) else float("nan")
        for t in targets:
            y = g[f"_raw_{t}"].to_numpy(dtype=float)
            if weights == "se":
                se = g[f"_se_{t}"].to_numpy(dtype=float)
                w = np.where(np.isfinite(se), 1.0 / np.maximum(se, _SE_FLOOR) ** 2, 0.0)
            else:
                w = g["n_passages"].to_numpy(dtype=float)
            b, b_se, crit = _wls_slope(x, y, w, known_variance=weights == "se")
            lo, hi = b - crit * b_se, b + crit * b_se
            change = b * span
            row[f"{t}_slope"] = b
            row[f"{t}_slope_se"] = b_se
            row[f"{t}_slope_lo"] = lo
            row[f"{t}_slope_hi"] = hi
            row[f"{t}_slope_per_year"] = b * per_year
            row[f"{t}_slope_per_year_lo"] = lo * per_year
            row[f"{t}_slope_per_year_hi"] = hi * per_year
            row[f"{t}_change"] = change
            row[f"{t}_changing"] = bool(np.isfinite(lo) and np.isfinite(hi) and (lo > 0 or hi < 0)
                                        and abs(change) >= min_change)
        rows.append(row)
    slope_cols = by_cols + ["n_periods", "first_period", "last_period"]
    for t in targets:
        slope_cols += [f"{t}_slope", f"{t}_slope_se", f"{t}_slope_lo", f"{t}_slope_hi",
                       f"{t}_slope_per_year", f"{t}_slope_per_year_lo",
                       f"{t}_slope_per_year_hi", f"{t}_change", f"{t}_changing"]
    slopes = pd.DataFrame(rows, columns=slope_cols)
    slopes = slopes.astype({c: (bool if c.endswith("_changing") else float)
                            for c in slope_cols[len(by_cols) + 3:]})
    slopes.attrs = {"freq": alias, "by": by_cols, "weights": weights,
                    "min_change": min_change, "min_passages": int(min_passages),
                    "periods_per_year": per_year}
    return Trend(periods=periods, slopes=slopes, freq=alias, by=tuple(by_cols),
                 min_passages=int(min_passages), min_change=min_change, smooth=smooth)


def _add_smooth(periods: pd.DataFrame, by_cols: list[str], targets, window: int) -> None:
    """Add ``<t>_smooth`` after each target's block (see :func:`trend` for the rule)."""
    half = window // 2
    n = len(periods)
    p = periods["period_index"].to_numpy(dtype="int64")
    if by_cols and n:
        codes = periods.groupby(by_cols, dropna=False, sort=False,
                                observed=True).ngroup().to_numpy(dtype="int64")
    else:
        codes = np.zeros(n, dtype="int64")
    # one sorted axis for all groups: groups are spaced further apart than any window
    stride = (int(p.max()) if n else 0) + 2 * half + 2
    pos = codes * stride + p
    order = np.argsort(pos, kind="stable")
    sorted_pos = pos[order]
    lo = np.searchsorted(sorted_pos, sorted_pos - half, side="left")
    hi = np.searchsorted(sorted_pos, sorted_pos + half, side="right")
    weight = periods["n_passages"].to_numpy(dtype=float)[order]
    for t in targets:
        v = periods[t].to_numpy(dtype=float)[order]
        ok = np.isfinite(v)
        w = np.where(ok, weight, 0.0)
        cw = np.concatenate([[0.0], np.cumsum(w)])
        cwv = np.concatenate([[0.0], np.cumsum(w * np.where(ok, v, 0.0))])
        sw = cw[hi] - cw[lo]
        with np.errstate(invalid="ignore", divide="ignore"):
            smooth_sorted = np.where(sw > 0, (cwv[hi] - cwv[lo]) / sw, np.nan)
        values = np.empty(n)
        values[order] = smooth_sorted
        after = f"{t}_expressed" if f"{t}_expressed" in periods.columns else t
        periods.insert(periods.columns.get_loc(after) + 1, f"{t}_smooth", values)


def _wls_slope(x, y, w, known_variance: bool) -> tuple[float, float, float]:
    """Weighted least-squares slope, its SE and the interval's critical value."""
    use = w > 0
    x, y, w = x[use], y[use], w[use]
    k = len(x)
    nan = float("nan")
    if k < 2:
        return nan, nan, nan
    xb = np.sum(w * x) / np.sum(w)
    yb = np.sum(w * y) / np.sum(w)
    sxx = np.sum(w * (x - xb) ** 2)
    if sxx <= 0:
        return nan, nan, nan
    b = float(np.sum(w * (x - xb) * (y - yb)) / sxx)
    chi2 = float(np.sum(w * (y - yb - b * (x - xb)) ** 2))
    if known_variance:
        phi = max(1.0, chi2 / (k - 2)) if k > 2 else 1.0
        return b, float(np.sqrt(phi / sxx)), _Z
    if k <= 2:
        return b, nan, nan
    from scipy.stats import t as student_t

    return b, float(np.sqrt(chi2 / (k - 2) / sxx)), float(student_t.ppf(0.975, k - 2))
