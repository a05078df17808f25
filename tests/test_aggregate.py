"""kmlang.aggregate: weighted means, intervals, shrinkage, periods, map-reduce, trends."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import kmlang
from kmlang.analysis.aggregation import (
    aggregate,
    combine_partials,
    partial_aggregate,
    period_alias,
)
from kmlang.analysis.trend import Trend, trend
from kmlang.shifts import TARGETS


def make_scores(n: int = 400, authors=("alice", "bob", "carol", "dan"), seed: int = 0,
                start: str = "2024-01-01", days: float = 180, tz: str | None = "Europe/Berlin",
                loc: float = 0.1) -> pd.DataFrame:
    """A synthetic score frame shaped like ``kmlang.score()`` output (seeded)."""
    rng = np.random.default_rng(seed)
    ts = pd.Timestamp(start, tz=tz) + pd.to_timedelta(rng.uniform(0, days, n), unit="D")
    df = pd.DataFrame({
        "text": [f"passage {i}" for i in range(n)],
        "author": rng.choice(list(authors), n),
        "doc_id": rng.choice(["d1", "d2", "d3"], n),
        "timestamp": ts,
        "id": np.arange(n),
        "n_tokens": rng.integers(5, 200, n),
        "status": "ok",
    })
    for t in TARGETS:
        pos = np.clip(rng.normal(loc, 0.4, n), -1, 1)
        rel = rng.uniform(0, 1, n)
        lab = np.where(rel > 0.5, np.sign(np.round(pos / 0.3)), 0).astype(int)
        df[t] = pos
        df[f"{t}_relevance"] = rel
        df[f"{t}_label"] = pd.array(lab, dtype="Int8")
    return df


def tiny(x, w, author="a", labels=None) -> pd.DataFrame:
    """Every target gets the same positions ``x`` and relevances ``w``."""
    n = len(x)
    df = pd.DataFrame({"author": [author] * n if isinstance(author, str) else author,
                       "n_tokens": [10] * n, "status": ["ok"] * n})
    for t in TARGETS:
        df[t] = np.asarray(x, dtype=float)
        df[f"{t}_relevance"] = np.asarray(w, dtype=float)
        df[f"{t}_label"] = pd.array(labels if labels is not None else [0] * n, dtype="Int8")
    return df


def unscore(df: pd.DataFrame, rows, status: str) -> pd.DataFrame:
    df = df.copy()
    df.loc[rows, "status"] = status
    for t in TARGETS:
        df.loc[rows, [t, f"{t}_relevance"]] = np.nan
        df.loc[rows, f"{t}_label"] = pd.NA
    return df


# ----------------------------------------------------------------- the figures


def test_weighted_mean_and_se_by_hand():
    x = [0.5, -0.5, 1.0, 0.0, 0.2]
    w = [1.0, 0.5, 0.25, 0.0, 1.0]
    out = aggregate(tiny(x, w, labels=[1, -1, 1, 0, 0]), shrink=False)
    assert len(out) == 1
    mean = (0.5 * 1 - 0.5 * 0.5 + 1.0 * 0.25 + 0.2 * 1) / 2.75  # 0.7 / 2.75
    var_w = sum(wi * (xi - mean) ** 2 for xi, wi in zip(x, w, strict=True)) / 2.75
    n_eff = 2.75 ** 2 / (1 + 0.25 + 0.0625 + 0 + 1)
    se = np.sqrt(var_w * n_eff / (n_eff - 1) / n_eff)
    row = out.iloc[0]
    for t in ("knowing", "overall"):
        assert row[f"{t}_raw"] == pytest.approx(mean)
        assert row[t] == pytest.approx(mean)
        assert row[f"{t}_se"] == pytest.approx(se)
        assert row[f"{t}_lo"] == pytest.approx(mean - 1.959964 * se, abs=1e-6)
        assert row[f"{t}_hi"] == pytest.approx(mean + 1.959964 * se, abs=1e-6)
        assert row[f"{t}_expressed"] == pytest.approx(3 / 5)
    assert row["n_passages"] == 5 and row["n_tokens"] == 50


def test_equal_weights_give_the_classical_standard_error():
    x = np.array([0.1, 0.4, -0.2, 0.3, 0.0, 0.6])
    out = aggregate(tiny(x, np.ones(6)), shrink=False)
    assert out["sharing_se"].iloc[0] == pytest.approx(x.std(ddof=1) / np.sqrt(6))


def test_all_zero_weights_mean_is_zero():
    out = aggregate(tiny([0.9, 0.8, 0.7, 0.6, 0.5], [0, 0, 0, 0, 0]), shrink=False)
    assert out["knowing"].iloc[0] == 0.0
    assert out["knowing_raw"].iloc[0] == 0.0
    assert np.isnan(out["knowing_se"].iloc[0])


def test_intervals_clipped_to_the_scale():
    out = aggregate(tiny([1, 1, 1, 0.9, -1], [1, 1, 1, 1, 0.01]), shrink=False)
    assert out["knowing_hi"].iloc[0] <= 1.0
    assert out["knowing_lo"].iloc[0] >= -1.0


def test_column_order_and_types():
    out = aggregate(make_scores(), by="author", freq="M")
    expected = ["author", "period", "n_passages", "n_tokens"]
    for t in TARGETS:
        expected += [t, f"{t}_lo", f"{t}_hi", f"{t}_se", f"{t}_raw", f"{t}_expressed"]
        expected += [f"share_{t}_{p}{s}" for p in ("pos", "neg") for s in ("", "_lo", "_hi")]
    assert list(out.columns) == expected
    assert out["n_passages"].dtype == "int64" and out["n_tokens"].dtype == "int64"
    assert isinstance(out.index, pd.RangeIndex)
    boot = aggregate(make_scores(), by="author", interval="bootstrap", n_boot=50)
    assert "knowing_se" not in boot.columns
    assert list(boot.columns[:7]) == ["author", "n_passages", "n_tokens", "knowing",
                                      "knowing_lo", "knowing_hi", "knowing_raw"]


def test_result_is_a_copy_and_input_untouched():
    df = make_scores()
    before = df.copy()
    out = aggregate(df, by="author")
    out.loc[:, "knowing"] = 99
    pd.testing.assert_frame_equal(df, before)


def test_by_none_is_the_whole_community():
    df = make_scores()
    out = aggregate(df, by=None)
    assert len(out) == 1 and out.columns[0] == "n_passages"
    assert out["n_passages"].iloc[0] == len(df)
    w, x = df["overall_relevance"], df["overall"]
    assert out["overall_raw"].iloc[0] == pytest.approx((w * x).sum() / w.sum())
    # a single group has nothing to shrink toward
    assert out["overall"].iloc[0] == pytest.approx(out["overall_raw"].iloc[0])


def test_package_exports_work_in_any_import_order():
    # this file imported kmlang.aggregation first: the package's function must still be the function
    df = make_scores(n=60)
    pd.testing.assert_frame_equal(kmlang.aggregate(df, by="author"), aggregate(df, by="author"))
    assert kmlang.trend is trend


# ------------------------------------------------------------- groups, dropping


def test_min_passages_drops_small_groups_and_reports_them():
    df = make_scores(n=200, authors=("alice", "bob"))
    extra = make_scores(n=3, authors=("zoe",), seed=5)
    out = aggregate(pd.concat([df, extra], ignore_index=True), by="author")
    assert list(out["author"]) == ["alice", "bob"]
    assert out.attrs["dropped_groups"] == 1
    assert out.attrs["dropped_passages"] == 3
    assert out.attrs["excluded_status"] == {}
    loose = aggregate(pd.concat([df, extra], ignore_index=True), by="author", min_passages=1)
    assert "zoe" in set(loose["author"]) and loose.attrs["dropped_groups"] == 0


def test_by_list_of_columns():
    df = make_scores()
    out = aggregate(df, by=["author", "doc_id"], min_passages=1)
    assert list(out.columns[:3]) == ["author", "doc_id", "n_passages"]
    assert len(out) == df.groupby(["author", "doc_id"]).ngroups
    assert out["n_passages"].sum() == len(df)
    assert out[["author", "doc_id"]].equals(out[["author", "doc_id"]].sort_values(
        ["author", "doc_id"]).reset_index(drop=True))


def test_missing_group_value_is_its_own_group_not_dropped():
    df = make_scores(n=100, authors=("alice",))
    df.loc[:9, "author"] = None
    out = aggregate(df, by="author")
    assert out["n_passages"].sum() == 100
    assert out["author"].isna().sum() == 1


def test_missing_columns_raise_key_error_naming_them():
    df = make_scores()
    with pytest.raises(KeyError, match="forum"):
        aggregate(df, by="forum")
    with pytest.raises(KeyError, match="forum"):
        aggregate(df, by=["author", "forum"])
    with pytest.raises(KeyError, match="created"):
        aggregate(df, freq="M", timestamp="created")
    with pytest.raises(KeyError, match="knowing_relevance"):
        aggregate(df.drop(columns="knowing_relevance"))
    # without freq the timestamp column is not needed
    aggregate(df.drop(columns="timestamp"), by="author")


def test_bad_arguments_are_clear_errors():
    df = make_scores()
    with pytest.raises(ValueError, match="interval"):
        aggregate(df, interval="jackknife")
    with pytest.raises(ValueError, match="freq"):
        aggregate(df, freq="fortnight")
    with pytest.raises(TypeError, match="DataFrame"):
        aggregate([1, 2, 3])
    with pytest.raises(ValueError, match="min_passages"):
        aggregate(df, min_passages=0)


def test_unscored_statuses_excluded_and_counted():
    df = make_scores(n=120, authors=("alice", "bob"))
    df = unscore(df, [0, 1, 2], "empty")
    df = unscore(df, [3], "missing")
    df.loc[[4, 5], "status"] = "non_english"
    df.loc[[6], "status"] = "truncated"
    out = aggregate(df, by="author")
    assert out["n_passages"].sum() == 120 - 6
    assert out.attrs["excluded_status"] == {"empty": 3, "missing": 1, "non_english": 2}
    wider = aggregate(df, by="author", statuses=("ok", "truncated", "non_english"))
    assert wider["n_passages"].sum() == 120 - 4
    # the unscored NaN rows never reach the means
    assert np.isfinite(out[list(TARGETS)].to_numpy()).all()


# ------------------------------------------------------------------- shrinkage


def shrink_frame() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    parts = []
    for author, n, mu in [("big_pos", 300, 0.3), ("big_neg", 300, 0.0), ("mid", 30, 0.2),
                          ("small", 6, 0.5)]:
        x = np.clip(rng.normal(mu, 0.4, n), -1, 1)
        parts.append(tiny(x, rng.uniform(0.2, 1, n), author=author))
    return pd.concat(parts, ignore_index=True)


def test_shrinkage_pulls_small_groups_more_and_keeps_raw():
    df = shrink_frame()
    out = aggregate(df, by="author").set_index("author")
    raw = aggregate(df, by="author", shrink=False).set_index("author")
    pop = out.attrs["population"]["knowing"]
    w, x = df["knowing_relevance"], df["knowing"]
    assert pop == pytest.approx((w * x).sum() / w.sum())
    pd.testing.assert_series_equal(out["knowing_raw"], raw["knowing"], check_names=False)
    assert (raw["knowing"] == raw["knowing_raw"]).all()

    def pulled(g):  # share of the way from raw to the population mean
        return (out.loc[g, "knowing_raw"] - out.loc[g, "knowing"]) / (
            out.loc[g, "knowing_raw"] - pop)

    for g in out.index:  # shrunk mean lies between raw and population
        assert 0 <= pulled(g) < 1
    assert pulled("small") > pulled("mid") > pulled("big_pos")
    assert out.attrs["tau2"]["knowing"] > 0
    # interval is around the shrunk mean
    assert (out["knowing_lo"] <= out["knowing"]).all()
    assert (out["knowing"] <= out["knowing_hi"]).all()


def test_shrinkage_toward_population_with_no_between_group_variance():
    df = make_scores(n=400, seed=1)  # every author drawn from the same distribution
    out = aggregate(df, by="author")
    pop = out.attrs["population"]["overall"]
    assert (abs(out["overall"] - pop) <= abs(out["overall_raw"] - pop) + 1e-12).all()


# ------------------------------------------------------------------- bootstrap


def test_bootstrap_interval_contains_mean_and_is_seeded():
    df = make_scores()
    a = aggregate(df, by="author", interval="bootstrap", n_boot=300, shrink=False)
    b = aggregate(df, by="author", interval="bootstrap", n_boot=300, shrink=False)
    pd.testing.assert_frame_equal(a, b)
    for t in TARGETS:
        assert (a[f"{t}_lo"] <= a[t]).all() and (a[t] <= a[f"{t}_hi"]).all()
        assert (a[f"{t}_lo"] < a[f"{t}_hi"]).all()
    c = aggregate(df, by="author", interval="bootstrap", n_boot=300, shrink=False,
                  random_state=1)
    assert not np.allclose(a["knowing_lo"], c["knowing_lo"])
    # point estimates do not depend on the interval method
    se = aggregate(df, by="author", shrink=False)
    np.testing.assert_allclose(a["knowing"], se["knowing"])


def test_bootstrap_roughly_agrees_with_se_interval():
    df = make_scores(n=600)
    se = aggregate(df, by=None, shrink=False)
    bs = aggregate(df, by=None, shrink=False, interval="bootstrap", n_boot=2000)
    width_se = se["overall_hi"] - se["overall_lo"]
    width_bs = bs["overall_hi"] - bs["overall_lo"]
    assert float(width_bs.iloc[0]) == pytest.approx(float(width_se.iloc[0]), rel=0.15)


def test_bootstrap_with_shrinkage_contains_shrunk_mean():
    out = aggregate(shrink_frame(), by="author", interval="bootstrap", n_boot=200)
    assert (out["knowing_lo"] <= out["knowing"]).all()
    assert (out["knowing"] <= out["knowing_hi"]).all()
    assert out.attrs["interval"] == "bootstrap"


# --------------------------------------------------------------------- periods


def test_monthly_periods_in_the_data_time_zone():
    tz = "Europe/Berlin"
    stamps = pd.to_datetime(["2024-01-05 10:00", "2024-01-31 23:30", "2024-02-01 00:30",
                              "2024-02-29 12:00", "2024-03-31 23:59"]).tz_localize(tz)
    df = tiny([0.1] * 5, [1] * 5)
    df["timestamp"] = stamps
    out = aggregate(df, by=None, freq="M", min_passages=1)
    # 2024-02-01 00:30 Berlin is still January in UTC, but February where it was written
    assert list(out["period"]) == [pd.Timestamp("2024-01-01", tz=tz),
                                   pd.Timestamp("2024-02-01", tz=tz),
                                   pd.Timestamp("2024-03-01", tz=tz)]
    assert list(out["n_passages"]) == [2, 2, 1]
    assert str(out["period"].dt.tz) == tz
    assert out.attrs["freq"] == "M"


def test_string_timestamps_are_parsed_as_utc_and_missing_ones_counted():
    df = tiny([0.1] * 6, [1] * 6)
    df["timestamp"] = ["2024-01-05T10:00:00Z", "2024-01-20T10:00:00+02:00", "2024-04-02",
                       "2024-05-17 08:00", None, "2024-06-30"]
    out = aggregate(df, by=None, freq="Q", min_passages=1)
    assert list(out["period"]) == [pd.Timestamp("2024-01-01", tz="UTC"),
                                   pd.Timestamp("2024-04-01", tz="UTC")]
    assert list(out["n_passages"]) == [2, 3]
    assert out.attrs["missing_timestamp"] == 1


def test_weekly_periods_start_on_monday():
    df = make_scores(n=200)
    out = aggregate(df, by=None, freq="W", min_passages=1)
    assert (out["period"].dt.day_of_week == 0).all()
    assert (out["period"].dt.hour == 0).all()
    assert out["n_passages"].sum() == 200


def test_period_aliases():
    assert period_alias("M") == "M" and period_alias("ME") == "M" and period_alias("m") == "M"
    assert period_alias("QE") == "Q" and period_alias("W") == "W"
    assert period_alias("W-SAT") == "W-SAT"
    with pytest.raises(ValueError, match="freq"):
        period_alias("sometimes")


def test_by_and_freq_together_sorted_by_group_then_period():
    out = aggregate(make_scores(), by="author", freq="M")
    assert out["period"].nunique() == 6
    assert list(out.columns[:2]) == ["author", "period"]
    key = out[["author", "period"]]
    assert key.equals(key.sort_values(["author", "period"]).reset_index(drop=True))


# ------------------------------------------------------------------ map-reduce


@pytest.mark.parametrize("by,freq", [("author", None), (["author", "doc_id"], None),
                                     (None, None), ("author", "M"), (None, "W")])
def test_combine_of_halves_equals_aggregate(by, freq):
    df = make_scores(n=500)
    df = unscore(df, [1, 7, 300], "empty")
    rng = np.random.default_rng(0)
    mask = rng.uniform(size=len(df)) < 0.5
    halves = [partial_aggregate(df[mask], by, freq), partial_aggregate(df[~mask], by, freq)]
    combined = combine_partials(halves, min_passages=5, shrink=True)
    whole = aggregate(df, by, freq, min_passages=5, shrink=True)
    pd.testing.assert_frame_equal(combined, whole, check_exact=False, rtol=1e-9, atol=1e-12)
    for key in ("dropped_groups", "dropped_passages", "excluded_status"):
        assert combined.attrs[key] == whole.attrs[key]
    assert combined.attrs["excluded_status"] == {"empty": 3}


def test_partial_has_sufficient_statistics():
    df = make_scores(n=50, authors=("a", "b"))
    part = partial_aggregate(df, by="author")
    assert list(part.columns[:3]) == ["author", "n_passages", "n_tokens"]
    for s in ("sum_w", "sum_wx", "sum_w2", "sum_wx2", "n_expressed"):
        assert f"knowing_{s}" in part.columns
    a = df[df["author"] == "a"]
    row = part.set_index("author").loc["a"]
    assert row["knowing_sum_w"] == pytest.approx(a["knowing_relevance"].sum())
    assert row["knowing_sum_wx"] == pytest.approx((a["knowing_relevance"] * a["knowing"]).sum())
    assert row["knowing_n_expressed"] == (a["knowing_label"] != 0).sum()


def test_combine_rejects_mismatched_partials():
    df = make_scores(n=50)
    with pytest.raises(ValueError, match="same"):
        combine_partials([partial_aggregate(df, "author"), partial_aggregate(df, "doc_id")])


# ----------------------------------------------------------------------- trend


def rising_frame(months: int = 6, per_month: int = 40, step: float = 0.1) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    parts = []
    for m in range(months):
        x = np.clip(rng.normal(-0.3 + step * m, 0.2, per_month), -1, 1)
        part = tiny(x, rng.uniform(0.3, 1, per_month), author="team")
        part["timestamp"] = pd.Timestamp(2024, m + 1, 10, tz="UTC") + pd.to_timedelta(
            rng.uniform(0, 15, per_month), unit="D")
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def test_trend_slope_sign_on_rising_positions():
    tr = trend(rising_frame(), by=None, freq="M")
    assert isinstance(tr, Trend)
    assert len(tr.periods) == 6
    assert list(tr.periods["period_index"]) == list(range(6))
    s = tr.slopes.iloc[0]
    assert s["n_periods"] == 6
    assert s["overall_slope"] == pytest.approx(0.1, abs=0.03)
    assert s["overall_slope_lo"] > 0 and s["overall_slope_lo"] < s["overall_slope"] < s[
        "overall_slope_hi"]
    falling = rising_frame(step=-0.1)
    assert trend(falling, by=None).slopes["knowing_slope"].iloc[0] < 0
    by_n = trend(rising_frame(), weights="n").slopes.iloc[0]
    assert by_n["overall_slope"] == pytest.approx(s["overall_slope"], abs=0.02)
    assert by_n["overall_slope_lo"] > 0


def test_trend_group_with_one_period_has_nan_slope():
    df = rising_frame()
    once = tiny([0.2] * 8, [1] * 8, author="newcomer")
    once["timestamp"] = pd.Timestamp("2024-03-15", tz="UTC")
    tr = trend(pd.concat([df, once], ignore_index=True), by="author", freq="M")
    slopes = tr.slopes.set_index("author")
    assert list(slopes.index) == ["newcomer", "team"]
    assert slopes.loc["newcomer", "n_periods"] == 1
    assert np.isnan(slopes.loc["newcomer", "overall_slope"])
    assert np.isnan(slopes.loc["newcomer", "overall_slope_lo"])
    assert slopes.loc["team", "overall_slope"] > 0
    assert list(tr.slopes.columns[:4]) == ["author", "n_periods", "first_period", "last_period"]
    assert tr.by == ("author",) and tr.freq == "M"
    # newcomer's only month is the third month of the data
    assert tr.periods.set_index("author").loc["newcomer", "period_index"] == 2


def test_trend_periods_match_aggregate():
    df = make_scores()
    tr = trend(df, by="author", freq="M")
    agg = aggregate(df, by="author", freq="M", shrink=False, shares=False)
    smoothed = [f"{t}_smooth" for t in TARGETS]
    pd.testing.assert_frame_equal(tr.periods.drop(columns=["period_index", *smoothed]), agg)


def test_trend_gap_keeps_calendar_spacing():
    df = rising_frame()
    df = df[df["timestamp"].dt.month != 3]  # no March
    tr = trend(df, by=None)
    assert list(tr.periods["period_index"]) == [0, 1, 3, 4, 5]
    assert tr.slopes["overall_slope"].iloc[0] == pytest.approx(0.1, abs=0.03)


def test_trend_needs_freq():
    with pytest.raises(ValueError, match="freq"):
        trend(make_scores(), freq=None)
