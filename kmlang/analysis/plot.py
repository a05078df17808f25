"""Plots of aggregated scores: a profile across the shifts, a trend, a heatmap.

Needs matplotlib (``pip install kmlang[plot]``), imported on first use. Every
function draws on ``ax`` when given, otherwise on a new, suitably sized figure
with constrained layout, and returns the :class:`~matplotlib.axes.Axes` (its
figure is ``ax.figure``). Nothing calls ``show()``.

Colours are the Okabe-Ito palette (distinguishable with the common colour-vision
deficiencies); the heatmap uses the diverging ``PuOr`` map centred at 0
(orange: individual pole, purple: collective pole).
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

import numpy as np
import pandas as pd

from kmlang.shifts import TARGETS, get_shift

__all__ = ["OKABE_ITO", "heatmap", "profile", "shift_label", "trend"]

#: Okabe & Ito (2008) colour-blind-safe palette, black last.
OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442",
             "#000000")
_MAX_SERIES = len(OKABE_ITO)
_CMAP = "PuOr"
_WRAP = 30  # characters per line of a pole phrase
_NON_GROUP = {"period_index"}


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError("kmlang's plots need matplotlib, which is not installed: "
                          "pip install kmlang[plot]") from None
    return plt


def shift_label(target: str) -> str:
    """``"1. knowing"`` for a shift, ``"overall"`` for overall."""
    s = get_shift(target)
    return s.id if s.number == 0 else f"{s.number}. {s.id}"


def _wrap(text: str, width: int = _WRAP) -> str:
    return "\n".join(textwrap.wrap(text, width)) or text


def _new_axes(ax, figsize):
    if ax is not None:
        return ax, False
    plt = _pyplot()
    _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax, True


# ------------------------------------------------------------------ group labels


def _group_columns(frame: pd.DataFrame) -> list[str]:
    cols = list(frame.columns)
    if "n_passages" not in cols:
        raise ValueError("Expected the output of kmlang.aggregate (no 'n_passages' column)")
    return [c for c in cols[:cols.index("n_passages")] if c not in _NON_GROUP]


def _format_period(value, freq) -> str:
    if pd.isna(value):
        return "no period"
    ts = pd.Timestamp(value)
    if freq == "M":
        return ts.strftime("%Y-%m")
    if freq == "Q":
        return f"{ts.year}-Q{ts.quarter}"
    if freq == "Y":
        return str(ts.year)
    if freq and str(freq).startswith("W"):
        return "week of " + ts.strftime("%Y-%m-%d")
    return ts.strftime("%Y-%m-%d")


def _row_keys_labels(frame: pd.DataFrame) -> tuple[list[tuple], list[str]]:
    cols = _group_columns(frame)
    freq = frame.attrs.get("freq")
    keys, labels = [], []
    for _, row in frame.iterrows():
        key = tuple(row[c] for c in cols)
        parts = [_format_period(row[c], freq) if c == "period" else
                 ("(missing)" if _isna(row[c]) else str(row[c])) for c in cols]
        keys.append(key)
        labels.append(" \u00b7 ".join(parts) if parts else "all passages")
    return keys, labels


def _isna(v) -> bool:
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _select(frame: pd.DataFrame, groups) -> tuple[pd.DataFrame, list[str]]:
    """Rows of ``frame`` named by ``groups`` (keys, key tuples or labels), in that order."""
    keys, labels = _row_keys_labels(frame)
    if groups is None:
        return frame.reset_index(drop=True), labels
    if isinstance(groups, (str, tuple)) or not isinstance(groups, Sequence):
        groups = [groups]
    rows = []
    for g in groups:
        key = g if isinstance(g, tuple) else (g,)
        hits = [i for i, (k, lab) in enumerate(zip(keys, labels, strict=True))
                if k == key or lab == g]
        if not hits:
            shown = ", ".join(repr(lab) for lab in labels[:10])
            raise KeyError(f"No group {g!r} in the aggregate; groups are: {shown}"
                           f"{', ...' if len(labels) > 10 else ''}")
        rows += [i for i in hits if i not in rows]
    return frame.iloc[rows].reset_index(drop=True), [labels[i] for i in rows]


def _check_targets(frame: pd.DataFrame, targets) -> list[str]:
    targets = [targets] if isinstance(targets, str) else list(targets)
    missing = [t for t in targets if t not in frame.columns]
    if missing:
        raise KeyError(f"Column(s) {', '.join(map(repr, missing))} not in the aggregate; "
                       f"aggregate with these targets or pass targets=[...]")
    for t in targets:
        get_shift(t)  # KeyError for an unknown id
    return targets


def _interval(frame: pd.DataFrame, t: str):
    if f"{t}_lo" in frame.columns and f"{t}_hi" in frame.columns:
        return frame[f"{t}_lo"].to_numpy(dtype=float), frame[f"{t}_hi"].to_numpy(dtype=float)
    return None, None


# ----------------------------------------------------------------------- profile


def profile(agg: pd.DataFrame, groups=None, ax=None, targets: Sequence[str] = TARGETS,
            title: str | None = None):
    """Where one or several groups stand on each shift, from individual to collective.

    One row per shift (and ``overall``, set apart at the bottom); the
    individual pole's phrase is on the left, the collective pole's on the
    right, the shift's name ("1. knowing") above each row. Each group is a dot
    at its mean position (``t``) with a whisker over its 95% interval
    (``t_lo`` .. ``t_hi``).

    Parameters
    ----------
    agg : DataFrame
        Output of :func:`kmlang.aggregate`.
    groups : key, list of keys or None
        Rows to draw: values of the group column (tuples for several group
        columns) or the labels shown in the legend; default all rows (at most
        eight).
    ax : matplotlib Axes, optional
    targets : sequence of str
        Shifts to show, top to bottom.
    title : str, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    targets = _check_targets(agg, targets)
    rows, labels = _select(agg, groups)
    if len(rows) == 0:
        raise ValueError("Nothing to plot: the aggregate has no rows (all groups under "
                         "min_passages?)")
    if len(rows) > _MAX_SERIES:
        raise ValueError(f"{len(rows)} groups are too many for one profile; pass groups=[...] "
                         f"with at most {_MAX_SERIES} (or use heatmap())")
    n_rows = len(targets)
    ax, own = _new_axes(ax, (10, 0.7 * n_rows + 1.8))
    # Each shift gets a band: its name in a strip at the top, the dots below it,
    # so a dot never covers a name wherever it falls on the scale.
    band = np.arange(n_rows, dtype=float)
    if "overall" in targets and targets[-1] == "overall" and n_rows > 1:
        band[-1] += 0.35  # set overall apart
    line = band + 0.1

    for i, (b, y) in enumerate(zip(band, line, strict=True)):
        if i % 2 == 0:
            ax.axhspan(b - 0.5, b + 0.5, color="0.95", zorder=0, linewidth=0)
        ax.hlines(y, -1, 1, color="0.75", linewidth=0.8, linestyles=":", zorder=1)
    if n_rows > 1 and band[-1] - band[-2] > 1:
        ax.axhline((band[-1] + band[-2]) / 2 + 0.04, color="0.5", linewidth=0.8)
    ax.axvline(0, color="0.35", linewidth=1, zorder=1)

    k = len(rows)
    spread = min(0.3, 0.12 * (k - 1))
    offsets = np.linspace(-spread / 2, spread / 2, k)
    for j in range(k):
        row = rows.iloc[j]
        x = np.array([row[t] for t in targets], dtype=float)
        lo = np.array([row.get(f"{t}_lo", np.nan) for t in targets], dtype=float)
        hi = np.array([row.get(f"{t}_hi", np.nan) for t in targets], dtype=float)
        y = line + offsets[j]
        color = OKABE_ITO[j % _MAX_SERIES]
        label = labels[j] + (f" (n={int(row['n_passages']):,})" if "n_passages" in row else "")
        has = np.isfinite(lo) & np.isfinite(hi)
        ax.hlines(y[has], lo[has], hi[has], color=color, linewidth=2, alpha=0.8, zorder=3)
        ax.plot(x, y, "o", color=color, markersize=6.5, markeredgecolor="white",
                markeredgewidth=0.8, zorder=4, label=label, linestyle="none")

    ax.set_xlim(-1.05, 1.05)
    ax.set_ylim(band[-1] + 0.55, band[0] - 0.6)
    shifts = [get_shift(t) for t in targets]
    ax.set_yticks(line, [_wrap(s.individual) for s in shifts], fontsize=9)
    ax.tick_params(axis="y", length=0, pad=6)
    right = ax.secondary_yaxis("right")
    right.set_yticks(line, [_wrap(s.collective) for s in shifts], fontsize=9)
    right.tick_params(axis="y", length=0, pad=6)
    for tick in right.get_yticklabels():
        tick.set_horizontalalignment("left")
    right.spines["right"].set_visible(False)
    for b, t in zip(band, targets, strict=True):
        ax.text(-1.04, b - 0.34, shift_label(t), ha="left", va="center", fontsize=8.5,
                fontweight="bold", color="0.3", zorder=2)
    ax.set_xticks([-1, -0.5, 0, 0.5, 1], ["\u22121\nindividual", "\u22120.5", "0\nneutral",
                                          "+0.5", "+1\ncollective"])
    ax.set_xlabel("mean position (relevance-weighted), with 95% interval")
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    if title is None:
        by = ", ".join(c for c in _group_columns(rows))
        what = f": {labels[0]}" if k == 1 else f" by {by}"
        title = f"Knowledge-culture profile{what}"
    ax.set_title(title, loc="left", fontsize=12, fontweight="bold")
    if k > 1 or labels[0] != "all passages":
        if own:
            ax.figure.legend(*ax.get_legend_handles_labels(), loc="outside lower center",
                             ncols=min(k, 4), frameon=False, fontsize=9)
        else:
            ax.legend(loc="lower right", fontsize=8, framealpha=0.9)
    return ax


# ------------------------------------------------------------------------- trend


def trend(tr, shifts: Sequence[str] = ("overall",), ax=None, group=None):
    """Mean position over time, with shaded 95% intervals.

    Parameters
    ----------
    tr : Trend or DataFrame
        Output of :func:`kmlang.trend` (or its ``.periods``, or
        :func:`kmlang.aggregate` with ``freq``).
    shifts : sequence of str
        Targets to draw, one line each.
    ax : matplotlib Axes, optional
    group : key or None
        The group to draw when the trend is by a column. ``None`` draws every
        group (one line per group and shift, at most eight lines).

    Returns
    -------
    matplotlib.axes.Axes
    """
    periods = getattr(tr, "periods", tr)
    slopes = getattr(tr, "slopes", None)
    if not isinstance(periods, pd.DataFrame) or "period" not in periods.columns:
        raise ValueError("Expected a Trend from kmlang.trend() or an aggregate with freq= "
                         "(a 'period' column)")
    shifts = _check_targets(periods, shifts)
    freq = periods.attrs.get("freq") or getattr(tr, "freq", None)
    by = [c for c in _group_columns(periods) if c != "period"]
    if by:
        keys = [tuple(r) for r in periods[by].itertuples(index=False, name=None)]
        unique = list(dict.fromkeys(keys))
        if group is not None:
            want = group if isinstance(group, tuple) else (group,)
            if want not in unique:
                raise KeyError(f"No group {group!r} in the trend; groups are: "
                               f"{', '.join(map(repr, unique[:10]))}")
            unique = [want]
    else:
        if group is not None:
            raise KeyError(f"group={group!r} given, but the trend is not grouped")
        keys, unique = [()] * len(periods), [()]
    series = [(g, t) for g in unique for t in shifts]
    if len(series) > _MAX_SERIES:
        raise ValueError(f"{len(series)} lines ({len(unique)} groups x {len(shifts)} shifts) are "
                         f"too many for one plot; pass group=... or fewer shifts "
                         f"(at most {_MAX_SERIES} lines)")

    ax, own = _new_axes(ax, (9, 4.8))
    key_arr = np.empty(len(keys), dtype=object)
    key_arr[:] = keys
    ax.axhline(0, color="0.35", linewidth=1, zorder=1)
    for i, (g, t) in enumerate(series):
        rows = periods[[k == g for k in key_arr]].sort_values("period")
        x = pd.to_datetime(rows["period"])
        color = OKABE_ITO[i % _MAX_SERIES]
        lo, hi = _interval(rows, t)
        if lo is not None:
            ax.fill_between(x, lo, hi, color=color, alpha=0.18, linewidth=0, zorder=2)
        name = shift_label(t)
        if g and len(unique) > 1:
            name = " \u00b7 ".join(str(v) for v in g) + ": " + name
        name += _slope_note(slopes, by, g, t, freq)
        ax.plot(x, rows[t].to_numpy(dtype=float), "-o", color=color, linewidth=2,
                markersize=4, label=name, zorder=3)
    ax.set_ylim(-1, 1)
    ax.set_ylabel("\u2190 individual (\u22121)    position    collective (+1) \u2192")
    ax.set_xlabel({"M": "month", "Q": "quarter", "W": "week", "D": "day", "Y": "year"}
                  .get(freq, "period"))
    ax.grid(axis="y", color="0.9", linewidth=0.8)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    import matplotlib.dates as mdates

    tz = getattr(pd.to_datetime(periods["period"]).dt, "tz", None) if len(periods) else None
    locator = mdates.AutoDateLocator(tz=tz)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, tz=tz))
    per = {"M": "month", "Q": "quarter", "W": "week", "D": "day", "Y": "year"}.get(freq, "period")
    what = f"Trend of {shift_label(shifts[0])}" if len(shifts) == 1 else "Trend"
    if group is not None:
        what += " for " + " \u00b7 ".join(str(v) for v in unique[0])
    ax.set_title(f"{what}: mean position per {per}, with 95% interval", loc="left",
                 fontsize=12, fontweight="bold")
    ax.legend(loc="best", frameon=False, fontsize=9)
    return ax


def _slope_note(slopes, by, g, t, freq) -> str:
    if slopes is None or f"{t}_slope" not in slopes.columns:
        return ""
    if by:
        match = np.ones(len(slopes), dtype=bool)
        for c, v in zip(by, g, strict=True):
            match &= (slopes[c] == v).to_numpy()
        hit = slopes[match]
    else:
        hit = slopes
    if len(hit) != 1 or not np.isfinite(hit[f"{t}_slope"].iloc[0]):
        return ""
    per = {"M": "month", "Q": "quarter", "W": "week", "D": "day", "Y": "year"}.get(freq, "period")
    b, lo, hi = (hit[f"{t}_slope{s}"].iloc[0] for s in ("", "_lo", "_hi"))
    if np.isfinite(lo) and np.isfinite(hi):
        return f" ({b:+.3f}/{per}, 95% {lo:+.3f} to {hi:+.3f})"
    return f" ({b:+.3f}/{per})"


# ----------------------------------------------------------------------- heatmap


def heatmap(agg: pd.DataFrame, targets: Sequence[str] = TARGETS, ax=None, annotate: bool = True):
    """Groups (rows) by shifts (columns), coloured by mean position.

    Diverging ``PuOr`` colours centred at 0, from -1 (individual, orange) to +1
    (collective, purple); each cell shows its value.

    Parameters
    ----------
    agg : DataFrame
        Output of :func:`kmlang.aggregate`.
    targets : sequence of str
        Columns, left to right.
    ax : matplotlib Axes, optional
    annotate : bool
        Write each cell's value in it.

    Returns
    -------
    matplotlib.axes.Axes
    """
    targets = _check_targets(agg, targets)
    if len(agg) == 0:
        raise ValueError("Nothing to plot: the aggregate has no rows (all groups under "
                         "min_passages?)")
    _, labels = _row_keys_labels(agg)
    if "n_passages" in agg.columns:
        labels = [f"{lab} (n={int(n):,})" for lab, n in zip(labels, agg["n_passages"],
                                                             strict=True)]
    values = agg[list(targets)].to_numpy(dtype=float)
    n_r, n_c = values.shape
    ax, own = _new_axes(ax, (max(7.0, 0.75 * n_c + 3.5), max(3.2, 0.38 * n_r + 2.4)))
    image = ax.imshow(values, cmap=_CMAP, vmin=-1, vmax=1, aspect="auto",
                      interpolation="nearest")
    ax.set_xticks(np.arange(n_c), [shift_label(t) for t in targets], rotation=40, ha="right",
                  rotation_mode="anchor", fontsize=9)
    ax.set_yticks(np.arange(n_r), labels, fontsize=9)
    ax.tick_params(length=0)
    ax.set_xticks(np.arange(n_c + 1) - 0.5, minor=True)
    ax.set_yticks(np.arange(n_r + 1) - 0.5, minor=True)
    ax.grid(which="minor", color="white", linewidth=1.5)
    ax.tick_params(which="minor", length=0)
    for side in ax.spines.values():
        side.set_visible(False)
    if "overall" in targets and list(targets)[-1] == "overall" and n_c > 1:
        ax.axvline(n_c - 1.5, color="white", linewidth=4)
    if annotate and n_r * n_c <= 600:
        size = 8 if n_r * n_c <= 200 else 6.5
        for i in range(n_r):
            for j in range(n_c):
                v = values[i, j]
                text = "\u2013" if not np.isfinite(v) else f"{v:+.2f}".replace("-", "\u2212")
                dark = np.isfinite(v) and abs(v) > 0.55
                ax.text(j, i, text, ha="center", va="center", fontsize=size,
                        color="white" if dark else "0.1")
    cbar = ax.figure.colorbar(image, ax=ax, shrink=0.9 if n_r > 4 else 1.0, pad=0.02)
    cbar.set_label("individual \u2194 collective", fontsize=9)
    cbar.set_ticks([-1, -0.5, 0, 0.5, 1], labels=["\u22121", "\u22120.5", "0", "+0.5", "+1"])
    by = ", ".join(_group_columns(agg)) or "community"
    ax.set_title(f"Mean position by {by} and shift", loc="left", fontsize=12, fontweight="bold")
    return ax
