"""kmlang.analysis.plot: profile, trend and heatmap draw what they say, readably."""

from __future__ import annotations

import sys

import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402

from kmlang.analysis import plot  # noqa: E402
from kmlang.analysis.aggregation import aggregate  # noqa: E402
from kmlang.analysis.trend import trend  # noqa: E402
from kmlang.shifts import SHIFTS, TARGETS, get_shift  # noqa: E402
from tests.test_aggregate import make_scores, rising_frame  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def scores():
    return make_scores(n=400)


@pytest.fixture(scope="module")
def by_author(scores):
    return aggregate(scores, by="author")


def flat(text: str) -> str:
    return " ".join(text.split())


def saves_png(ax, path):
    ax.figure.savefig(path, dpi=80)
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000


def plotted_lines(ax):
    """Data lines with a legend label (not reference lines)."""
    return [ln for ln in ax.get_lines() if not ln.get_label().startswith("_")]


# ----------------------------------------------------------------------- profile


def test_profile_rows_poles_and_labels(by_author, tmp_path):
    ax = plot.profile(by_author, groups=["alice", "bob", "carol"], names=True)
    assert isinstance(ax, Axes)
    left = [flat(t.get_text()) for t in ax.get_yticklabels()]
    assert len(left) == len(TARGETS) == 12
    assert left == [get_shift(t).individual for t in TARGETS]
    (right_axis,) = ax.child_axes
    right = [flat(t.get_text()) for t in right_axis.get_yticklabels()]
    assert right == [get_shift(t).collective for t in TARGETS]
    texts = [t.get_text() for t in ax.texts]
    assert "1. knowing" in texts and "11. not_knowing" in texts and "overall" in texts
    assert [f"{s.number}. {s.id}" for s in SHIFTS] == texts[:11]
    assert len(plotted_lines(ax)) == 3
    (legend,) = ax.figure.legends
    labels = [t.get_text() for t in legend.get_texts()]
    assert labels[0].startswith("alice (n=") and len(labels) == 3
    assert "author" in ax.get_title(loc="left")
    assert ax.get_xlim()[0] < -1 and ax.get_xlim()[1] > 1
    saves_png(ax, tmp_path / "profile.png")


def test_profile_points_and_whiskers_are_the_aggregate(by_author):
    ax = plot.profile(by_author, groups="dan", names=True)
    (line,) = plotted_lines(ax)
    row = by_author.set_index("author").loc["dan"]
    np.testing.assert_allclose(line.get_xdata(), [row[t] for t in TARGETS])
    whiskers = [c for c in ax.collections if len(c.get_segments()) == len(TARGETS)
                and c.get_linewidth()[0] == 2]
    (segments,) = [w.get_segments() for w in whiskers]
    np.testing.assert_allclose([s[0][0] for s in segments], [row[f"{t}_lo"] for t in TARGETS])
    np.testing.assert_allclose([s[1][0] for s in segments], [row[f"{t}_hi"] for t in TARGETS])
    assert "dan" in ax.get_title(loc="left")


def test_profile_community_subset_of_targets_and_given_axes(scores, tmp_path):
    agg = aggregate(scores, by=None)
    fig, ax0 = plt.subplots(figsize=(8, 3))
    ax = plot.profile(agg, ax=ax0, targets=["knowing", "overall"], title="Mine")
    assert ax is ax0
    assert len(ax.get_yticklabels()) == 2
    assert ax.get_title(loc="left") == "Mine"
    saves_png(ax, tmp_path / "community.png")


def test_profile_group_selection_errors(scores, by_author):
    with pytest.raises(KeyError, match="zoe"):
        plot.profile(by_author, groups=["zoe"])
    many = aggregate(make_scores(n=500, authors=[f"u{i}" for i in range(10)]), by="author")
    with pytest.raises(ValueError, match="groups"):
        plot.profile(many)
    with pytest.raises(KeyError, match="novelty"):
        plot.profile(aggregate(scores, targets=["knowing"]), targets=["novelty"])


def test_profile_by_two_columns_selects_with_tuples(scores):
    agg = aggregate(scores, by=["author", "doc_id"])
    ax = plot.profile(agg, groups=[("alice", "d1"), ("bob", "d2")], names=True)
    labels = ax.get_legend_handles_labels()[1]
    assert [lab.split(" (n=")[0] for lab in labels] == ["alice \u00b7 d1", "bob \u00b7 d2"]


def test_profile_with_period_rows(scores):
    agg = aggregate(scores, by=None, freq="Q")
    ax = plot.profile(agg)
    labels = [lab.split(" (n=")[0] for lab in ax.get_legend_handles_labels()[1]]
    assert labels == ["2024-Q1", "2024-Q2", "2024-Q3"][:len(agg)]


# ------------------------------------------------------------------------- trend


def test_trend_lines_bands_and_axis(tmp_path):
    tr = trend(rising_frame(), by=None)
    ax = plot.trend(tr, shifts=("overall", "knowing"))
    assert isinstance(ax, Axes)
    lines = plotted_lines(ax)
    assert len(lines) == 2
    assert len(lines[0].get_xdata()) == 6
    assert len(ax.collections) == 2  # one shaded band per line
    assert ax.get_ylim() == (-1, 1)
    ylabel = ax.get_ylabel()
    assert "individual" in ylabel and "collective" in ylabel
    assert ylabel.index("individual") < ylabel.index("collective")
    assert "/year" in lines[0].get_label()  # slope per year in the legend
    assert lines[1].get_label().startswith("1. knowing")
    saves_png(ax, tmp_path / "trend.png")


def test_trend_by_group(scores):
    tr = trend(scores, by="author")
    ax = plot.trend(tr)
    assert len(plotted_lines(ax)) == 4
    ax2 = plot.trend(tr, shifts=["overall", "sharing"], group="alice")
    assert len(plotted_lines(ax2)) == 2
    assert "alice" in ax2.get_title(loc="left")
    with pytest.raises(KeyError, match="zoe"):
        plot.trend(tr, group="zoe")
    with pytest.raises(ValueError, match="too many"):
        plot.trend(tr, shifts=["overall", "knowing", "sharing"])


def test_trend_accepts_an_aggregate_with_periods(scores):
    agg = aggregate(scores, by=None, freq="M", shrink=False)
    ax = plot.trend(agg, shifts=["peers"])
    (line,) = plotted_lines(ax)
    np.testing.assert_allclose(line.get_ydata(), agg["peers"])
    with pytest.raises(ValueError, match="period"):
        plot.trend(aggregate(scores, by=None))


# ----------------------------------------------------------------------- heatmap


def test_heatmap_cells_colours_and_colorbar(by_author, tmp_path):
    ax = plot.heatmap(by_author, sort_by=None, vmax=1, names=True)  # the old defaults
    assert isinstance(ax, Axes)
    (image,) = ax.get_images()
    assert image.get_clim() == (-1, 1)
    assert image.get_cmap().name == "PuOr"
    assert image.get_array().shape == (4, 12)
    assert len(ax.texts) == 4 * 12
    assert ax.texts[0].get_text() == f"{by_author['knowing'].iloc[0]:+.2f}".replace("-", "\u2212")
    xlabels = [t.get_text() for t in ax.get_xticklabels()]
    assert xlabels[0] == "1. knowing" and xlabels[-1] == "overall"
    ylabels = [t.get_text() for t in ax.get_yticklabels()]
    assert ylabels[0].startswith("alice")
    cbar_ax = [a for a in ax.figure.axes if a is not ax][0]
    label = cbar_ax.get_ylabel()
    assert "individual" in label and "collective" in label
    saves_png(ax, tmp_path / "heatmap.png")


def test_heatmap_subset_without_annotations(by_author):
    ax = plot.heatmap(by_author, targets=["knowing", "sharing"], annotate=False)
    assert ax.get_images()[0].get_array().shape == (4, 2)
    assert len(ax.texts) == 0


# --------------------------------------------------------------------- packaging


def test_missing_matplotlib_says_which_extra(by_author, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r"pip install kmlang\[plot\]"):
        plot.profile(by_author)


def test_plot_is_a_submodule():
    import kmlang
    import kmlang.analysis.plot

    assert kmlang.plot is plot
