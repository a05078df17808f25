"""kmlang.changepoints: a known break is found where it is, in the right direction; a
series without one stays quiet; bad input says what is wrong."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import kmlang
from kmlang.analysis.changepoints import changepoints, default_penalty
from kmlang.analysis.trend import trend
from tests.test_trend_gaps import monthly

COLUMNS = ["period", "level_before", "level_after", "change", "n_periods_before",
           "n_periods_after", "description"]


def test_a_known_break_is_found_in_the_right_place_and_direction():
    levels = [0.0] * 14 + [0.3] * 10  # the new level starts in month 14: 2020-03
    cps = kmlang.changepoints(monthly(levels, seed=1), freq="M")
    assert list(cps.columns) == COLUMNS
    assert len(cps) == 1
    cp = cps.iloc[0]
    true = pd.Timestamp("2020-03-01", tz="UTC")
    months = (cp["period"].year - true.year) * 12 + cp["period"].month - true.month
    assert abs(months) <= 1
    assert cp["change"] > 0.15 and cp["level_after"] > cp["level_before"]
    assert cp["change"] == pytest.approx(cp["level_after"] - cp["level_before"])
    assert cp["level_before"] == pytest.approx(0.0, abs=0.08)
    assert cp["level_after"] == pytest.approx(0.3, abs=0.08)
    assert cp["n_periods_before"] + cp["n_periods_after"] == 24
    label = cp["period"].strftime("%Y-%m")
    assert cp["description"] == (f"moved toward 'we' around {label} "
                                 f"(from {cp['level_before']:+.2f} to {cp['level_after']:+.2f})")
    assert cps.attrs["shift"] == "overall" and cps.attrs["freq"] == "M"
    assert cps.attrs["fits"][0]["penalty"] == pytest.approx(3 * math.log(24))


@pytest.mark.parametrize("seed", range(5))
def test_breaks_are_found_within_one_period(seed):
    rng = np.random.default_rng(100 + seed)
    at = int(rng.integers(6, 18))
    drop = -0.3 if seed % 2 else 0.3
    levels = [0.1] * at + [0.1 + drop] * (24 - at)
    cps = changepoints(monthly(levels, seed=seed), shift="knowing")
    assert len(cps) >= 1
    index = trend(monthly(levels, seed=seed), smooth=None).periods.set_index("period")
    found = [int(index.loc[p, "period_index"]) for p in cps["period"]]
    best = min(found, key=lambda i: abs(i - at))
    assert abs(best - at) <= 1
    row = cps.iloc[found.index(best)]
    assert np.sign(row["change"]) == np.sign(drop)
    assert ("toward 'I'" if drop < 0 else "toward 'we'") in row["description"]


def test_two_breaks_and_a_gap():
    levels = [0.0] * 8 + [0.35] * 8 + [-0.1] * 8
    df = monthly(levels, seed=5, skip=(11,))
    cps = changepoints(df)
    assert len(cps) == 2
    assert cps["change"].iloc[0] > 0 > cps["change"].iloc[1]
    assert list(cps["n_periods_before"]) == [8, 7] and list(cps["n_periods_after"]) == [7, 8]


def test_no_break_no_change_point():
    assert changepoints(monthly([0.1] * 24, seed=2)).empty


def test_null_series_rarely_give_a_change_point():
    false_alarms = sum(len(changepoints(monthly([0.05] * 24, seed=1000 + s))) > 0
                       for s in range(30))
    assert false_alarms <= 3, f"{false_alarms} of 30 series without a break had a change point"


def test_per_group():
    df = pd.concat([monthly([0.0] * 12 + [0.4] * 12, seed=7, author="ann"),
                    monthly([0.0] * 24, seed=8, author="bo")], ignore_index=True)
    cps = changepoints(df, by="author")
    assert list(cps.columns) == ["author", *COLUMNS]
    assert set(cps["author"]) == {"ann"}
    assert [f["author"] for f in cps.attrs["fits"]] == ["ann", "bo"]


def test_from_a_trend_and_the_penalty():
    df = monthly([0.0] * 12 + [0.3] * 12, seed=9)
    tr = kmlang.trend(df)
    pd.testing.assert_frame_equal(changepoints(tr), changepoints(df))
    assert changepoints(df, penalty=1e6).empty
    assert len(changepoints(df, penalty=0.5)) >= len(changepoints(df))
    assert default_penalty(24) == pytest.approx(3 * math.log(24))
    # too short to hold two levels of min_size periods
    assert changepoints(monthly([0.0] * 3 + [0.6] * 2, seed=1)).empty
    assert changepoints(df, min_size=12).shape[0] <= 1


def test_bad_input_says_what_is_wrong():
    df = monthly([0.0] * 12, seed=1)
    with pytest.raises(KeyError, match="Unknown shift 'kowing'"):
        changepoints(df, shift="kowing")
    with pytest.raises(TypeError, match="shift"):
        changepoints(df, shift=["overall"])
    with pytest.raises(KeyError, match="Timestamp column 'timestamp'"):
        changepoints(df.drop(columns="timestamp"))
    with pytest.raises(KeyError, match="'when'"):
        changepoints(df, timestamp="when")
    with pytest.raises(ValueError, match="freq"):
        changepoints(df, freq=None)
    with pytest.raises(ValueError, match="freq"):
        changepoints(df, freq="fortnightly")
    with pytest.raises(ValueError, match="penalty"):
        changepoints(df, penalty=-1)
    with pytest.raises(ValueError, match="min_size"):
        changepoints(df, min_size=0)
    with pytest.raises(KeyError, match="knowing_raw"):
        changepoints(trend(df, targets=("overall",)), shift="knowing")


def test_the_plot_draws_the_change_points():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from kmlang.analysis import plot

    df = monthly([0.0] * 12 + [0.35] * 12, seed=11)
    tr = kmlang.trend(df)
    cps = changepoints(tr)
    try:
        for arg in (cps, True):
            ax = plot.trend(tr, changepoints=arg)
            dashed = [ln for ln in ax.get_lines() if ln.get_linestyle() == "--"]
            assert len(dashed) == len(cps) == 1
            texts = [t.get_text() for t in ax.texts]
            before, after = cps["level_before"].iloc[0], cps["level_after"].iloc[0]
            want = f"{before:+.2f} \u2192 {after:+.2f}".replace("-", "\u2212")
            assert want in texts
            legend = [t.get_text() for t in ax.get_legend().get_texts()]
            assert any(t.startswith("change point") for t in legend)
        ax = plot.trend(tr)
        assert not [ln for ln in ax.get_lines() if ln.get_linestyle() == "--"]
        with pytest.raises(TypeError, match="changepoints"):
            plot.trend(tr, changepoints="yes")
    finally:
        plt.close("all")
