"""aggregate(shares=True): share of passages per pole, corrected for the model's error."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import kmlang
from kmlang.analysis.aggregation import combine_partials, partial_aggregate
from kmlang.model.quantify import error_model
from tests.test_report import synthetic


def _share_cols(frame, t="not_knowing"):
    return [c for c in frame.columns if c.startswith(f"share_{t}_")]


def _frame(n=400, seed=0):
    """A score frame whose not_knowing +1 probability is high on a known share of passages."""
    df = synthetic(n_per_author=(n // 4,) * 4, seed=seed)
    rng = np.random.default_rng(seed)
    hit = rng.random(len(df)) < 0.25
    df.loc[hit, "not_knowing"] = 0.85
    df.loc[hit, "not_knowing_relevance"] = 0.9
    df.loc[hit, "not_knowing_label"] = 1
    return df, hit


def test_shares_come_beside_the_positions_with_intervals(model):
    df, _ = _frame()
    agg = kmlang.aggregate(df, by="author", model=model)
    cols = list(agg.columns)
    assert _share_cols(agg) == ["share_not_knowing_pos", "share_not_knowing_pos_lo", "share_not_knowing_pos_hi",
                                "share_not_knowing_neg", "share_not_knowing_neg_lo", "share_not_knowing_neg_hi"]
    assert cols.index("share_not_knowing_pos") > cols.index("not_knowing_expressed")
    est, lo, hi = (agg[f"share_not_knowing_pos{s}"].to_numpy() for s in ("", "_lo", "_hi"))
    assert ((0 <= lo) & (lo <= est + 1e-12) & (est <= hi + 1e-12) & (hi <= 1)).all()
    assert agg.attrs["share_method"] == "pacc"


def test_the_corrected_share_moves_with_the_true_share(model):
    low, _ = _frame(seed=1)
    high = low.copy()
    high["not_knowing"] = 0.85
    high["not_knowing_relevance"] = 0.9
    high["not_knowing_label"] = 1
    a = kmlang.aggregate(low, by=None, model=model)["share_not_knowing_pos"].iloc[0]
    b = kmlang.aggregate(high, by=None, model=model)["share_not_knowing_pos"].iloc[0]
    assert a < b


def test_counting_is_the_share_of_labels(model):
    df, hit = _frame()
    agg = kmlang.aggregate(df, by=None, model=model, share_method="cc")
    assert agg["share_not_knowing_pos"].iloc[0] == pytest.approx(hit.mean())


def test_shares_off_and_unknown_method(model):
    df, _ = _frame()
    assert not _share_cols(kmlang.aggregate(df, by="author", shares=False))
    with pytest.raises(ValueError, match="share_method"):
        kmlang.aggregate(df, by="author", model=model, share_method="guess")


def test_partials_combine_to_the_same_shares(model):
    df, _ = _frame()
    whole = kmlang.aggregate(df, by="author", model=model)
    parts = [partial_aggregate(df.iloc[:150], by="author"), partial_aggregate(df.iloc[150:], by="author")]
    combined = combine_partials(parts, model=model)
    cols = _share_cols(whole) + _share_cols(whole, "overall")
    pd.testing.assert_frame_equal(whole[cols], combined[cols])


def test_a_model_without_error_sample_warns_and_gives_no_shares(model):
    import copy

    old = copy.copy(model)
    old.__dict__.pop("_error_model_cache", None)
    old.error_sample_ = None
    assert error_model(old) is None
    df, _ = _frame()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        agg = kmlang.aggregate(df, by="author", model=old)
    assert any("error sample" in str(w.message) for w in caught)
    assert not _share_cols(agg)


def test_rows_without_a_position_do_not_count_in_the_share(model):
    df, _ = _frame()
    df.loc[:49, "not_knowing"] = np.nan
    agg = kmlang.aggregate(df, by=None, model=model, share_method="cc")
    scored = df["not_knowing"].notna()
    expected = (df.loc[scored, "not_knowing_label"] == 1).mean()
    assert agg["share_not_knowing_pos"].iloc[0] == pytest.approx(expected)


def test_between_community_intervals_are_wider_and_the_cli_offers_them(model, tmp_path):
    from typer.testing import CliRunner

    from kmlang.cli import aggregate as _aggregate_cmd  # noqa: F401  (registers the command)
    from kmlang.cli._app import app

    df, _ = _frame()
    pooled = kmlang.aggregate(df, by=None, model=model)
    wide = kmlang.aggregate(df, by=None, model=model, share_communities=True)
    width = lambda a: float(a["share_not_knowing_pos_hi"].iloc[0] - a["share_not_knowing_pos_lo"].iloc[0])  # noqa: E731
    assert width(wide) > width(pooled)
    assert wide["share_not_knowing_pos"].iloc[0] == pytest.approx(pooled["share_not_knowing_pos"].iloc[0])
    src = tmp_path / "scores.csv"
    df.to_csv(src, index=False)
    for flag, expected in (([], pooled), (["--share-communities"], wide)):
        out = tmp_path / f"agg{len(flag)}.csv"
        res = CliRunner().invoke(app, ["aggregate", str(src), "-o", str(out), "--by", "none", *flag])
        assert res.exit_code == 0, res.output
        got = pd.read_csv(out)
        assert got["share_not_knowing_pos_hi"].iloc[0] == pytest.approx(expected["share_not_knowing_pos_hi"].iloc[0])
