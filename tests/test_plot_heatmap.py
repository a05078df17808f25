"""Issue "Community numbers a reader can trust", item 5: a readable heatmap (sorted rows, a
colour scale fitted to the data, readable text, at most max_rows rows, no-estimate cells
hatched) and pseudonymised names in every plot."""

from __future__ import annotations

import re

import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402
from matplotlib.text import Text  # noqa: E402

from kmlang.analysis import plot  # noqa: E402
from kmlang.analysis.aggregation import aggregate  # noqa: E402
from kmlang.analysis.pseudonym import is_name_column, pseudonym, pseudonymise  # noqa: E402
from kmlang.analysis.trend import trend  # noqa: E402
from kmlang.shifts import TARGETS  # noqa: E402
from tests.test_aggregate import make_scores  # noqa: E402

IP = "192.0.2.17"
KEY = "a-test-key-of-at-least-16-bytes"
PSEUDO = re.compile(r"author-[0-9a-f]{16}")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def fake_agg(values, authors=None, n=None, targets=TARGETS) -> pd.DataFrame:
    """An aggregate shaped like kmlang.aggregate(by="author"): ``values[i]`` is row i's
    position on every target (or a dict target -> position)."""
    k = len(values)
    authors = authors or [f"user{i:02d}" for i in range(k)]
    n = n if n is not None else [10 + 3 * i for i in range(k)]
    cols = {"author": authors, "n_passages": n, "n_tokens": [100] * k}
    for t in targets:
        v = np.array([row[t] if isinstance(row, dict) else row for row in values], dtype=float)
        cols.update({t: v, f"{t}_lo": v - 0.05, f"{t}_hi": v + 0.05, f"{t}_se": [0.02] * k,
                     f"{t}_raw": v, f"{t}_expressed": [0.3] * k})
    frame = pd.DataFrame(cols)
    frame.attrs.update({"by": ["author"], "freq": None})
    return frame


def row_labels(ax):
    return [t.get_text() for t in ax.get_yticklabels()]


def names_of(labels):
    return [lab.split(" (n=")[0] for lab in labels]


def colorbar_axes(ax):
    return next(a for a in ax.figure.axes if a is not ax)


def all_text(fig) -> list[str]:
    return [t.get_text() for t in fig.findobj(Text)]


def cell(ax, i, j) -> float:
    return float(ax.get_images()[0].get_array()[i, j])


# ------------------------------------------------------------------------ sorting


def test_rows_sorted_by_overall_descending_nan_last():
    values = [{t: 0.01 * i for t in TARGETS} for i in range(6)]
    values[2]["overall"] = np.nan
    agg = fake_agg(values)
    ax = plot.heatmap(agg, names=True)
    got = names_of(row_labels(ax))
    # overall 0.05, 0.04, 0.03, 0.01, 0.00, then the NaN row
    assert got == ["user05", "user04", "user03", "user01", "user00", "user02"]
    assert "sorted by overall" in ax.get_xlabel()


def test_sort_by_another_target_and_none_keeps_input_order():
    agg = fake_agg([{**{t: 0.0 for t in TARGETS}, "sharing": s, "overall": -s}
                    for s in (0.02, -0.03, 0.05)])
    assert names_of(row_labels(plot.heatmap(agg, sort_by="sharing", names=True))) == [
        "user02", "user00", "user01"]
    assert names_of(row_labels(plot.heatmap(agg, names=True))) == ["user01", "user00", "user02"]
    assert names_of(row_labels(plot.heatmap(agg, sort_by=None, names=True))) == [
        "user00", "user01", "user02"]
    with pytest.raises(KeyError, match="nope"):
        plot.heatmap(agg, sort_by="nope")


def test_author_by_month_keeps_a_groups_periods_together_in_time_order():
    scores = make_scores(n=900, authors=["alice", "bob", "carol"], days=120)
    agg = aggregate(scores, by="author", freq="M")
    ax = plot.heatmap(agg, names=True)
    labels = names_of(row_labels(ax))
    authors = [lab.split(" \u00b7 ")[0] for lab in labels]
    # each author's rows are contiguous, months ascending within an author
    blocks = [a for i, a in enumerate(authors) if i == 0 or authors[i - 1] != a]
    assert sorted(blocks) == ["alice", "bob", "carol"]
    for a in blocks:
        months = [lab.split(" \u00b7 ")[1] for lab in labels if lab.startswith(a + " ")]
        assert months == sorted(months)
    # authors ordered by their passage-weighted overall
    mean = {a: np.average(g["overall"], weights=g["n_passages"]) for a, g in agg.groupby("author")}
    assert blocks == sorted(mean, key=mean.get, reverse=True)
    assert "author \u00d7 month" in ax.get_title(loc="left")


# ------------------------------------------------------------------- colour scale


@pytest.mark.parametrize("top", [0.013, 0.049, 0.05, 0.051, 0.08, 0.099, 0.2, 0.31, 0.77, 0.99])
def test_colour_limits_symmetric_and_fitted(top):
    rng = np.random.default_rng(3)
    values = [{t: float(rng.uniform(-top, top)) for t in TARGETS} for _ in range(5)]
    values[3]["novelty"] = -top  # the largest |value| is reached
    ax = plot.heatmap(fake_agg(values))
    vmin, vmax = ax.get_images()[0].get_clim()
    assert vmin == -vmax
    assert vmax >= top and vmax >= 0.05 and vmax <= 1
    assert vmax < 2 * max(top, 0.05)
    label = colorbar_axes(ax).get_ylabel()
    assert f"\u00b1{vmax:.2f}" in label and "fitted to the data" in label
    assert "individual" in label and "collective" in label


def test_data_within_008_gets_a_scale_of_010_and_vmax_overrides():
    values = [{t: v for t in TARGETS} for v in (-0.08, -0.02, 0.0, 0.03, 0.07)]
    ax = plot.heatmap(fake_agg(values))
    assert ax.get_images()[0].get_clim() == (-0.1, 0.1)
    assert "colour scale \u00b10.10" in colorbar_axes(ax).get_ylabel()
    ax = plot.heatmap(fake_agg(values), vmax=1)
    assert ax.get_images()[0].get_clim() == (-1, 1)
    assert "\u00b11.00" in colorbar_axes(ax).get_ylabel()
    with pytest.raises(ValueError, match="vmax"):
        plot.heatmap(fake_agg(values), vmax=0)


# ------------------------------------------------------------------------- size


def test_text_is_at_least_8_points_and_the_figure_grows_with_rows():
    small = plot.heatmap(fake_agg([0.01 * i for i in range(3)]))
    big = plot.heatmap(fake_agg([0.01 * i for i in range(20)]))
    for ax in (small, big):
        sizes = [t.get_fontsize() for t in ax.texts]
        sizes += [t.get_fontsize() for t in ax.get_yticklabels() + ax.get_xticklabels()]
        cbar = colorbar_axes(ax)
        sizes += [cbar.yaxis.label.get_fontsize()]
        sizes += [t.get_fontsize() for t in cbar.get_yticklabels()]
        assert min(sizes) >= 8
        assert len(ax.texts) == len(row_labels(ax)) * len(TARGETS)
        assert all(len(t.get_text()) <= 5 for t in ax.texts)  # "+0.05", "\u22120.12", "0.00"
    assert big.figure.get_size_inches()[1] > small.figure.get_size_inches()[1] + 4


# --------------------------------------------------------------------- max_rows


def test_max_rows_and_the_summary_row():
    k = 40
    values = [{t: 0.002 * i - 0.03 for t in TARGETS} for i in range(k)]
    n = [5 + (7 * i) % 23 for i in range(k)]
    agg = fake_agg(values, n=n)
    ax = plot.heatmap(agg, names=True)
    labels = row_labels(ax)
    assert len(labels) == 26 == ax.get_images()[0].get_array().shape[0]
    rest = agg.sort_values("overall", ascending=False).iloc[25:]
    assert labels[-1] == f"+ 15 more groups (n={rest['n_passages'].sum():,})"
    assert not any(lab in labels[-1] for lab in rest["author"])
    for j, t in enumerate(TARGETS):
        expected = np.average(rest[t], weights=rest["n_passages"])
        assert cell(ax, 25, j) == pytest.approx(expected)
    assert "passage-weighted mean" in ax.get_xlabel()
    # fewer rows than max_rows: no summary; max_rows=None: every row
    assert len(row_labels(plot.heatmap(agg, max_rows=None))) == k
    assert len(row_labels(plot.heatmap(fake_agg(values[:25])))) == 25
    assert row_labels(plot.heatmap(agg, max_rows=3))[-1].startswith("+ 37 more groups")
    with pytest.raises(ValueError, match="max_rows"):
        plot.heatmap(agg, max_rows=0)


def test_max_rows_keeps_whole_groups_of_periods():
    scores = make_scores(n=1200, authors=[f"u{i}" for i in range(6)], days=150)
    agg = aggregate(scores, by="author", freq="M")
    per_author = agg.groupby("author").size()
    assert (per_author >= 4).all()
    ax = plot.heatmap(agg, max_rows=10, names=True)
    labels = names_of(row_labels(ax))
    shown = [lab.split(" \u00b7 ")[0] for lab in labels[:-1]]
    assert len(shown) <= 10
    for a in set(shown):
        assert shown.count(a) == per_author[a]  # every month of a shown author
    assert labels[-1] == f"+ {len(per_author) - len(set(shown))} more groups"


# ------------------------------------------------------------------ no estimate


def test_cells_without_an_estimate_are_hatched_not_zero():
    values = [{t: 0.04 for t in TARGETS} for _ in range(3)]
    agg = fake_agg(values)
    agg.loc[1, "knowing"] = np.nan
    agg.loc[2, "sharing_se"] = np.nan  # no usable standard error: no estimate
    ax = plot.heatmap(agg, sort_by=None)
    image = ax.get_images()[0].get_array()
    j_know, j_share = TARGETS.index("knowing"), TARGETS.index("sharing")
    assert image.mask[1, j_know] and image.mask[2, j_share] and image.mask.sum() == 2
    hatched = [p for p in ax.patches if isinstance(p, Rectangle) and p.get_hatch()]
    assert sorted((round(p.get_x() + 0.5), round(p.get_y() + 0.5)) for p in hatched) == [
        (j_know, 1), (j_share, 2)]
    assert len(ax.texts) == 3 * len(TARGETS) - 2  # no number written in them
    assert "hatched" in ax.get_xlabel().lower()


# ------------------------------------------------------------------------ names


def ip_frame():
    authors = [IP, "alice", "bob", "2001:db8::7"]
    scores = make_scores(n=400, authors=authors)
    scores["doc_id"] = scores["doc_id"].map({"d1": f"User talk:{IP}", "d2": f"reply to {IP}",
                                             "d3": "mail from bob@example.org"})
    return scores


def test_heatmap_names_are_pseudonymised_by_default():
    agg = aggregate(ip_frame(), by="author")
    ax = plot.heatmap(agg)
    text = " ".join(all_text(ax.figure))
    assert IP not in text and "alice" not in text and "2001:db8" not in text
    assert all(PSEUDO.fullmatch(n) for n in names_of(row_labels(ax)))
    assert "pseudonyms" in ax.get_xlabel()
    shown = plot.heatmap(agg, names=True)
    assert IP in names_of(row_labels(shown)) and "pseudonyms" not in shown.get_xlabel()


def test_pseudonym_key_makes_them_stable():
    agg = aggregate(ip_frame(), by="author")
    labels = names_of(row_labels(plot.heatmap(agg, pseudonym_key=KEY, sort_by=None)))
    assert labels == [pseudonym(a, KEY) for a in agg["author"]]
    assert names_of(row_labels(plot.heatmap(agg, sort_by=None))) == [
        pseudonym(a) for a in agg["author"]]  # default: the per-process key


def test_names_inside_other_group_columns():
    agg = aggregate(ip_frame(), by=["author", "doc_id"], min_passages=1)
    ax = plot.heatmap(agg, max_rows=None)
    text = " ".join(all_text(ax.figure))
    assert IP not in text and "bob" not in text and "example.org" not in text
    assert "User talk:author-" in text and "reply to author-" in text
    by_doc = aggregate(ip_frame(), by="doc_id")  # no author column: addresses still caught
    text = " ".join(all_text(plot.heatmap(by_doc).figure))
    assert IP not in text and "bob@example.org" not in text and "mail from author-" in text


def test_period_and_plain_doc_ids_are_kept():
    scores = make_scores(n=300)
    agg = aggregate(scores, by="doc_id", freq="Q")
    labels = names_of(row_labels(plot.heatmap(agg, sort_by=None)))
    assert labels[0] == "d1 \u00b7 2024-Q1"


def test_profile_and_trend_pseudonymise_group_labels():
    scores = ip_frame()
    agg = aggregate(scores, by="author")
    ax = plot.profile(agg, groups=[IP, "alice"])  # groups are still chosen by name
    legend = [t.get_text() for t in ax.figure.legends[0].get_texts()]
    assert all(PSEUDO.match(lab) for lab in legend)
    assert IP not in " ".join(all_text(ax.figure))
    assert IP in " ".join(all_text(plot.profile(agg, groups=[IP], names=True).figure))
    # a pseudonym shown in one plot selects the group in the next
    assert plot.profile(agg, groups=pseudonym(IP)).get_title(loc="left").endswith(pseudonym(IP))

    tr = trend(scores, by="author")
    ax = plot.trend(tr)
    labels = ax.get_legend_handles_labels()[1]
    assert len(labels) == 4 and all(PSEUDO.match(lab) for lab in labels)
    assert not any(IP in lab or "alice" in lab for lab in labels)
    shown = plot.trend(tr, names=True).get_legend_handles_labels()[1]
    assert any(lab.startswith(IP + ": ") for lab in shown)


# ------------------------------------------------------------- printed rankings


def test_pseudonymise_a_ranking_table():
    agg = aggregate(ip_frame(), by="author")
    ranked = pseudonymise(agg).sort_values("overall", ascending=False)
    assert all(PSEUDO.fullmatch(a) for a in ranked["author"])
    assert IP not in ranked.to_string()
    assert sorted(ranked["author"]) == sorted(pseudonym(a) for a in agg["author"])
    np.testing.assert_array_equal(pseudonymise(agg)["overall"], agg["overall"])
    keyed = pseudonymise(agg, key=KEY)["author"].tolist()
    assert keyed == [pseudonym(a, KEY) for a in agg["author"]]
    slopes = pseudonymise(trend(ip_frame(), by="author").slopes)
    assert IP not in slopes.to_string()


@pytest.mark.parametrize(("column", "is_name"), [
    ("author", True), ("Author", True), ("user_name", True), ("owner user id", True),
    ("reply_author", True), ("sender", True), ("ip", True), ("email", True),
    ("doc_id", False), ("period", False), ("title", False), ("channel", False), (3, False)])
def test_name_columns(column, is_name):
    assert is_name_column(column) is is_name


def test_report_still_exports_the_pseudonym_function():
    from kmlang.analysis import pseudonym as module
    from kmlang.analysis import report

    assert report.pseudonym is module.pseudonym
    assert report.PSEUDONYM_KEY_ENV == "KMLANG_PSEUDONYM_KEY"
