"""kmlang.trend does not over-claim: small periods left out, gaps kept, smoothing that
never bridges a long gap, slopes per year and the "changing" rule, and a plot that draws
no line across a gap."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402

import kmlang  # noqa: E402
from kmlang.analysis import plot  # noqa: E402
from kmlang.analysis.trend import (  # noqa: E402
    Trend,
    describe_trend,
    periods_per_year,
    trend,
)
from kmlang.shifts import TARGETS  # noqa: E402
from tests.test_aggregate import rising_frame, tiny  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def monthly(levels, per_month=30, seed=0, noise=0.35, author="team", start="2019-01-01",
            skip=(), small=None):
    """A score frame with ``per_month`` passages a month around ``levels[m]`` (positions
    N(level, noise) clipped to [-1, 1]); months in ``skip`` are empty, months in ``small``
    (a dict month -> count) have that many passages."""
    rng = np.random.default_rng(seed)
    small = small or {}
    parts = []
    for m, level in enumerate(levels):
        if m in skip:
            continue
        n = small.get(m, per_month)
        x = np.clip(rng.normal(level, noise, n), -1, 1) if noise else np.full(n, float(level))
        part = tiny(x, rng.uniform(0.3, 1, n) if noise else np.ones(n), author=author)
        part["timestamp"] = (pd.Timestamp(start, tz="UTC") + pd.DateOffset(months=m)
                             + pd.to_timedelta(rng.uniform(0, 25, n), unit="D"))
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


# ------------------------------------------------------------------ left-out periods


def test_periods_under_min_passages_are_left_out_and_keep_their_width():
    df = monthly([0.0] * 8, small={2: 3, 5: 4}, skip=(6,))
    tr = trend(df, min_passages=5)
    assert isinstance(tr, Trend) and tr.min_passages == 5
    assert list(tr.periods["period_index"]) == [0, 1, 3, 4, 7]
    assert (tr.periods["n_passages"] >= 5).all()
    assert tr.periods.attrs["dropped_groups"] == 2
    assert tr.periods.attrs["dropped_passages"] == 7
    assert tr.slopes["n_periods"].iloc[0] == 5
    # with min_passages=1 the small months come back (the empty one cannot)
    assert list(trend(df, min_passages=1).periods["period_index"]) == [0, 1, 2, 3, 4, 5, 7]


def test_package_exports():
    assert kmlang.trend is trend and kmlang.Trend is Trend
    assert callable(kmlang.changepoints)


# ------------------------------------------------------------------------ smoothing


def test_smoothing_is_a_passage_weighted_centred_mean():
    counts = {0: 10, 1: 20, 2: 30, 3: 40, 4: 50, 5: 60, 6: 70}
    levels = [-0.6, -0.3, 0.0, 0.1, 0.4, 0.2, 0.5]
    df = monthly(levels, noise=0, small=counts)
    tr = trend(df, min_passages=5, smooth=5)
    p = tr.periods
    v, n = p["overall"].to_numpy(), p["n_passages"].to_numpy(dtype=float)
    np.testing.assert_allclose(v, levels)
    for i in range(len(p)):
        lo, hi = max(0, i - 2), min(len(p), i + 3)  # cut short at the ends
        want = np.sum(n[lo:hi] * v[lo:hi]) / np.sum(n[lo:hi])
        assert p["overall_smooth"].iloc[i] == pytest.approx(want)
    assert all(f"{t}_smooth" in p.columns for t in TARGETS)
    assert p.columns.get_loc("knowing_smooth") == p.columns.get_loc("knowing_expressed") + 1
    three = trend(df, smooth=3).periods["overall_smooth"].iloc[3]
    assert three == pytest.approx((30 * 0.0 + 40 * 0.1 + 50 * 0.4) / 120)
    assert "overall_smooth" not in trend(df, smooth=None).periods.columns
    assert np.allclose(trend(df, smooth=1).periods["overall_smooth"], levels)


def test_smoothing_does_not_bridge_gaps():
    # -0.5 for six months, three months missing, then +0.5: no smoothed value mixes them
    levels = [-0.5] * 6 + [0.0] * 3 + [0.5] * 6
    df = monthly(levels, noise=0, skip=(6, 7, 8))
    p = trend(df, smooth=5).periods
    assert list(p["period_index"]) == [0, 1, 2, 3, 4, 5, 9, 10, 11, 12, 13, 14]
    before = p["period_index"] < 6
    np.testing.assert_allclose(p.loc[before, "overall_smooth"], -0.5)
    np.testing.assert_allclose(p.loc[~before, "overall_smooth"], 0.5)
    # even with a 7-period window (+/- 3) a gap of three missing periods is not crossed
    p7 = trend(df, smooth=7).periods
    np.testing.assert_allclose(p7.loc[before, "overall_smooth"], -0.5)
    np.testing.assert_allclose(p7.loc[~before, "overall_smooth"], 0.5)


def test_smoothing_is_per_group():
    df = pd.concat([monthly([-0.5] * 6, noise=0, author="ann"),
                    monthly([0.5] * 6, noise=0, author="bo", seed=1)], ignore_index=True)
    p = trend(df, by="author").periods.set_index("author")
    np.testing.assert_allclose(p.loc["ann", "overall_smooth"], -0.5)
    np.testing.assert_allclose(p.loc["bo", "overall_smooth"], 0.5)


@pytest.mark.parametrize("bad", [4, 0, -3, 2.5, True, "5"])
def test_smooth_must_be_a_positive_odd_number(bad):
    with pytest.raises(ValueError, match="smooth"):
        trend(rising_frame(), smooth=bad)


# ------------------------------------------------------------ slopes and the rule


def test_slope_per_year_converts_the_period_slope():
    tr = trend(rising_frame(), freq="M")
    s = tr.slopes.iloc[0]
    for suffix in ("", "_lo", "_hi"):
        assert s[f"overall_slope_per_year{suffix}"] == pytest.approx(
            12 * s[f"overall_slope{suffix}"])
    # the change over the span: slope x (last - first period index), 5 months here
    assert s["overall_change"] == pytest.approx(5 * s["overall_slope"])
    assert periods_per_year("M") == 12 and periods_per_year("Q") == 4
    assert periods_per_year("Y") == 1 and periods_per_year("D") == 365.25
    assert periods_per_year("W") == pytest.approx(52.18, abs=0.005)
    assert periods_per_year("W-SAT") == periods_per_year("W")
    q = trend(monthly([0.0, 0.1, 0.2, 0.3] * 3, seed=4), freq="Q").slopes.iloc[0]
    assert q["overall_slope_per_year"] == pytest.approx(4 * q["overall_slope"])


def test_strong_ramp_is_changing():
    tr = trend(rising_frame(), freq="M")  # +0.1 a month for six months
    s = tr.slopes.iloc[0]
    assert s["overall_changing"] and s["overall_slope_per_year_lo"] > 0
    assert s["overall_change"] == pytest.approx(0.5, abs=0.15)
    text = tr.describe("overall")
    assert text.startswith("changing: toward 'we' by +0.")
    assert "over 2024-01 to 2024-06" in text and "/year, 95% +" in text
    falling = trend(rising_frame(step=-0.1)).describe()
    assert falling.startswith("changing: toward 'I' by -0.")


def test_flat_noisy_series_is_not_changing():
    for seed in range(5):
        tr = trend(monthly([0.1] * 24, seed=seed), targets=("overall", "knowing"))
        s = tr.slopes.iloc[0]
        assert not s["overall_changing"] and not s["knowing_changing"]
        assert tr.describe().startswith("no clear change (")
    assert tr.slopes["overall_changing"].dtype == bool


def test_a_certain_but_small_drift_is_not_changing():
    # +0.002 a month over 24 months (+0.046 in all) with 1,500 passages a month: the slope's
    # interval excludes 0, but the change is under min_change (0.10)
    levels = [0.002 * m for m in range(24)]
    df = monthly(levels, per_month=1500, noise=0.3, seed=3)
    tr = trend(df, targets=("overall",))
    s = tr.slopes.iloc[0]
    assert s["overall_slope_per_year_lo"] > 0
    assert abs(s["overall_change"]) < 0.10
    assert not s["overall_changing"]
    assert "is under 0.10" in tr.describe()
    # a lower threshold makes the same drift "changing"
    assert trend(df, targets=("overall",), min_change=0.02).slopes["overall_changing"].iloc[0]
    with pytest.raises(ValueError, match="min_change"):
        trend(df, min_change=-0.1)


def test_describe_without_a_slope_and_without_an_interval():
    once = monthly([0.2], per_month=8)
    tr = trend(once)
    assert not tr.slopes["overall_changing"].iloc[0]
    assert tr.describe().startswith("no trend")
    two = trend(monthly([0.0, 0.5]), weights="n").slopes.iloc[0]  # t interval needs 3 periods
    assert "no interval" in describe_trend(two, "overall", freq="M")
    assert not two["overall_changing"]


# ---------------------------------------------------------------------------- plot


def _segments(ax, periods):
    """Line segments (pairs of consecutive finite points) drawn in data coordinates, as
    period_index pairs; fails on a point that is not a period."""
    where = {round(float(mdates.date2num(pd.Timestamp(p).to_pydatetime())), 6): int(i)
             for p, i in zip(periods["period"], periods["period_index"], strict=True)}
    out = []
    for line in ax.get_lines():
        if line.get_transform() != ax.transData or line.get_linestyle() in ("None", ""):
            continue
        x = mdates.date2num(list(line.get_xdata()))
        y = np.asarray(line.get_ydata(), dtype=float)
        for j in range(len(x) - 1):
            if np.isfinite(y[j]) and np.isfinite(y[j + 1]):
                out.append((where[round(float(x[j]), 6)], where[round(float(x[j + 1]), 6)],
                            line.get_linewidth()))
    return out


def test_plot_draws_no_line_across_a_gap():
    levels = [0.1 * (m % 4) for m in range(14)]
    df = monthly(levels, small={3: 2}, skip=(8, 9))
    tr = trend(df, min_passages=5)
    assert list(tr.periods["period_index"]) == [0, 1, 2, 4, 5, 6, 7, 10, 11, 12, 13]
    ax = plot.trend(tr, shifts=("overall", "knowing"))
    segments = _segments(ax, tr.periods)
    assert segments, "no line drawn at all"
    assert all(b - a == 1 for a, b, _ in segments), segments
    # the smoothed line is there (thicker), and broken too
    thick = [s for s in segments if s[2] > 2]
    assert thick and {(a, b) for a, b, _ in thick} == {(0, 1), (1, 2), (4, 5), (5, 6), (6, 7),
                                                        (10, 11), (11, 12), (12, 13)}
    # points: one marker per kept period, in the legend with the per-year verdict
    labelled = [ln for ln in ax.get_lines() if not ln.get_label().startswith("_")]
    assert len(labelled) == 2 and all(len(ln.get_xdata()) == 11 for ln in labelled)
    assert "/year" in labelled[0].get_label()
    assert "no clear change" in labelled[0].get_label() or "changing" in labelled[0].get_label()
    # the 95% band is one shape per run of consecutive periods (three runs here)
    for band in ax.collections:
        assert len([p for p in band.get_paths() if len(p.vertices)]) == 3
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(t.startswith("smoothed (5-month window") for t in legend)
    assert any("no line across missing months" in t for t in legend)


def test_plot_of_an_aggregate_with_a_gap_is_broken_too():
    df = monthly([0.0, 0.2, 0.4, 0.2, 0.0, 0.2], skip=(2,))
    periods = trend(df, smooth=None).periods
    agg = periods.drop(columns="period_index")  # what kmlang.aggregate(freq="M") gives
    agg.attrs = dict(periods.attrs)
    ax = plot.trend(agg)
    assert list(periods["period_index"]) == [0, 1, 3, 4, 5]
    segments = _segments(ax, periods)
    assert segments and all(b - a == 1 for a, b, _ in segments)


def test_changing_wording_in_the_legend():
    ax = plot.trend(trend(rising_frame()))
    label = [ln.get_label() for ln in ax.get_lines() if not ln.get_label().startswith("_")][0]
    assert label.startswith("overall: changing toward 'we' (+")
    assert "/year, 95% +" in label
