"""Plots of aggregated scores: a profile across the shifts, a trend, a heatmap.

Needs matplotlib (``pip install kmlang[plot]``), imported on first use. Every
function draws on ``ax`` when given, otherwise on a new, suitably sized figure
with constrained layout, and returns the :class:`~matplotlib.axes.Axes` (its
figure is ``ax.figure``). Nothing calls ``show()``.

Colours are the Okabe-Ito palette (distinguishable with the common colour-vision
deficiencies); the heatmap uses the diverging ``PuOr`` map centred at 0
(orange: individual pole, purple: collective pole) on a scale fitted to the data.

Group names are pseudonymised unless ``names=True`` (the rule is in
:mod:`kmlang.analysis.pseudonym`).
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from kmlang.analysis.pseudonym import GroupNames, _clean_label
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
    from kmlang.analysis.trend import period_label

    label = period_label(value, freq)
    if freq and str(freq).startswith("W") and label != "no period":
        return "week of " + label
    return label


def _shown(frame: pd.DataFrame, names: bool, pseudonym_key=None):
    """``(column, value) -> value to show``: names as they are (``names=True``, without
    invisible formatting characters) or pseudonymised (see :mod:`kmlang.analysis.pseudonym`)."""
    if names:
        return lambda column, value: _clean_label(value)
    return GroupNames(frame, _group_columns(frame), pseudonym_key)


def _group_text(frame: pd.DataFrame, cols, values, names: bool, pseudonym_key=None) -> str:
    """A group's values (``cols``, ``values``) as one label, pseudonymised unless ``names``."""
    shown = _shown(frame, names, pseudonym_key)
    return " \u00b7 ".join("(missing)" if _isna(v) else str(shown(c, v))
                            for c, v in zip(cols, values, strict=True))


def _row_keys_labels(frame: pd.DataFrame, names: bool = True, pseudonym_key=None,
                     ) -> tuple[list[tuple], list[str]]:
    cols = _group_columns(frame)
    freq = frame.attrs.get("freq")
    shown = _shown(frame, names, pseudonym_key)
    keys, labels = [], []
    for _, row in frame.iterrows():
        key = tuple(row[c] for c in cols)
        parts = [_format_period(row[c], freq) if c == "period" else
                 ("(missing)" if _isna(row[c]) else str(shown(c, row[c]))) for c in cols]
        keys.append(key)
        labels.append(" \u00b7 ".join(parts) if parts else "all passages")
    return keys, labels


def _isna(v) -> bool:
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _select(frame: pd.DataFrame, groups, names: bool = True,
            pseudonym_key=None) -> tuple[pd.DataFrame, list[str]]:
    """Rows of ``frame`` named by ``groups`` (keys, key tuples or labels, as shown or with
    the names), in that order, and their labels (pseudonymised unless ``names``)."""
    keys, labels = _row_keys_labels(frame, names, pseudonym_key)
    if groups is None:
        return frame.reset_index(drop=True), labels
    raw = labels if names else _row_keys_labels(frame, True)[1]
    if isinstance(groups, (str, tuple)) or not isinstance(groups, Sequence):
        groups = [groups]
    rows = []
    for g in groups:
        key = g if isinstance(g, tuple) else (g,)
        hits = [i for i, (k, lab, name) in enumerate(zip(keys, labels, raw, strict=True))
                if k == key or lab == g or name == g]
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
            title: str | None = None, *, names: bool = False,
            pseudonym_key: str | bytes | None = None, grades=None):
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
    names : bool
        Show names in the group labels. By default names are pseudonymised
        (``author-`` + 16 hex digits; the rule is in
        :mod:`kmlang.analysis.pseudonym`: values of author-like columns, and
        user names, IP and e-mail addresses inside other group values).
    pseudonym_key : str or bytes, optional
        Secret key of the pseudonyms (at least 16 bytes), to get the same
        pseudonyms in every session; default: a random key made once per
        Python process.
    grades : dict or model card, optional
        Reliability grades (:mod:`kmlang.model.reliability`): ``{target: Grade
        or grade name}``, or a model card to grade from. Each shift's name then
        carries its grade; shifts graded ``weak`` are drawn in grey, and those
        ``not measured`` are left empty with the words "not measured".

    Returns
    -------
    matplotlib.axes.Axes
    """
    targets = _check_targets(agg, targets)
    graded = _grade_names(grades, targets)
    rows, labels = _select(agg, groups, names, pseudonym_key)
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
        shown = np.array([graded.get(t) != "not measured" for t in targets])
        faint = np.array([graded.get(t) == "weak" for t in targets])
        x = np.where(shown, x, np.nan)
        has = np.isfinite(lo) & np.isfinite(hi) & shown
        ax.hlines(y[has & ~faint], lo[has & ~faint], hi[has & ~faint], color=color, linewidth=2,
                  alpha=0.8, zorder=3)
        ax.hlines(y[has & faint], lo[has & faint], hi[has & faint], color="0.7", linewidth=2, zorder=3)
        strong = np.where(faint, np.nan, x)
        ax.plot(strong, y, "o", color=color, markersize=6.5, markeredgecolor="white",
                markeredgewidth=0.8, zorder=4, label=label, linestyle="none")
        if faint.any():
            ax.plot(np.where(faint, x, np.nan), y, "o", color="0.7", markersize=6.5,
                    markerfacecolor="white", markeredgewidth=1.2, zorder=4, linestyle="none")

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
    for b, t, y in zip(band, targets, line, strict=True):
        g = graded.get(t)
        name = shift_label(t) + (f"  \u00b7  {g}" if g else "")
        ax.text(-1.04, b - 0.34, name, ha="left", va="center", fontsize=8.5,
                fontweight="bold", color="0.3" if g in (None, "reliable", "indicative") else "0.6",
                zorder=2)
        if g == "not measured":
            ax.text(0, y, "not measured: too few labelled real passages", ha="center",
                    va="center", fontsize=8.5, color="0.5", style="italic", zorder=2,
                    bbox={"facecolor": "white", "edgecolor": "none", "pad": 1})
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


def _grade_names(grades, targets) -> dict[str, str]:
    """``{target: grade name}`` from grades, grade names or a model card (empty: no grades)."""
    if grades is None:
        return {}
    if isinstance(grades, Mapping) and ("metrics" in grades or "gold_labels" in grades):
        from kmlang.model.reliability import grades as grade_card

        grades = grade_card(grades, targets)
    return {t: getattr(g, "grade", g) for t, g in grades.items() if t in targets}


# ------------------------------------------------------------------------- trend


def trend(tr, shifts: Sequence[str] = ("overall",), ax=None, group=None, *,
          names: bool = False, pseudonym_key: str | bytes | None = None, changepoints=None):
    """Mean position over time: a point per period, a smoothed line, 95% bands, change points.

    Each period with enough passages is a point; a thin line joins neighbouring
    periods and the shaded band is the 95% interval, both broken wherever a
    period is missing (left out for having fewer than ``min_passages``
    passages, or empty), so nothing is drawn across a gap. The thick line is
    the trend's smoothed value (``<t>_smooth``, see :func:`kmlang.trend`),
    broken at gaps too. Change points are dashed vertical lines between the
    last period of the old level and the first of the new, labelled with the
    level before and after. The legend gives each line's slope per year and
    the verdict, "changing" or "no clear change" (the rule is in
    :func:`kmlang.trend`).

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
    names, pseudonym_key
        Group names in the legend are pseudonymised unless ``names=True``,
        as in :func:`profile`.
    changepoints : DataFrame, True or None
        Change points to draw: the output of :func:`kmlang.changepoints` (on
        the shift in its ``attrs["shift"]``, else on the first shift drawn),
        or ``True`` to find them in ``tr`` for every line drawn (default
        penalty and ``min_size=3``). ``None`` (default) draws none.

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

    cp_tables = _changepoint_tables(changepoints, periods, by, freq, shifts)
    ax, own = _new_axes(ax, (9, 4.8))
    key_arr = np.empty(len(keys), dtype=object)
    key_arr[:] = keys
    ax.axhline(0, color="0.35", linewidth=1, zorder=1)
    drew = {"smooth": False, "changepoint": False, "gap": False}
    for i, (g, t) in enumerate(series):
        rows = periods[[k == g for k in key_arr]].sort_values("period")
        x = pd.to_datetime(rows["period"])
        color = OKABE_ITO[i % _MAX_SERIES]
        lo, hi = _interval(rows, t)
        smooth = (rows[f"{t}_smooth"].to_numpy(dtype=float) if f"{t}_smooth" in rows.columns
                  else None)
        index = _period_positions(rows, freq)
        drew["gap"] |= bool(np.any(np.diff(index) > 1))
        xb, (yb, lob, hib, smb) = _broken(x, index, rows[t].to_numpy(dtype=float), lo, hi,
                                          smooth)
        if lo is not None:
            ax.fill_between(xb, lob, hib, color=color, alpha=0.18, linewidth=0, zorder=2)
        ax.plot(xb, yb, "-", color=color, linewidth=1, alpha=0.55, zorder=3,
                label="_nolegend_")
        if smb is not None and np.isfinite(smb).any():
            ax.plot(xb, smb, "-", color=color, linewidth=3.2, alpha=0.55, zorder=3,
                    solid_capstyle="round", label="_nolegend_")
            drew["smooth"] = True
        name = shift_label(t)
        if g and len(unique) > 1:
            name = _group_text(periods, by, g, names, pseudonym_key) + ": " + name
        name += _slope_note(slopes, by, g, t, freq)
        ax.plot(x, rows[t].to_numpy(dtype=float), "o", linestyle="none", color=color,
                markersize=4.5, label=name, zorder=4)
        if t in cp_tables:
            drew["changepoint"] |= _draw_changepoints(ax, cp_tables[t], by, g, rows, x, color)
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
    ax.legend(handles=ax.get_legend_handles_labels()[0] + _trend_key(drew, periods, tr, per),
              loc="best", frameon=False, fontsize=9)
    return ax


def _trend_key(drew: dict, periods: pd.DataFrame, tr, per: str) -> list:
    """Legend entries (not drawn on the axes) for the smoothed line, change points, gaps."""
    from matplotlib.lines import Line2D

    out = []
    if drew["smooth"]:
        window = periods.attrs.get("smooth") or getattr(tr, "smooth", None)
        what = f"{window}-{per} window" if window else "rolling mean"
        out.append(Line2D([], [], color="0.4", linewidth=3.2, alpha=0.55,
                          label=f"smoothed ({what}, weighted by passages)"))
    if drew["changepoint"]:
        out.append(Line2D([], [], color="0.4", linestyle="--", linewidth=1.2,
                          label="change point (level before \u2192 after)"))
    if drew["gap"]:
        k = periods.attrs.get("min_passages")
        few = f"under {k} passages" if k else "too few passages"
        out.append(Line2D([], [], linestyle="none",
                          label=f"no line across missing {per}s ({few})"))
    return out


def _period_positions(rows: pd.DataFrame, freq) -> np.ndarray:
    """Calendar position of each row's period (``period_index`` when there is one)."""
    if "period_index" in rows.columns:
        return rows["period_index"].to_numpy(dtype="int64")
    if not freq or not len(rows):
        return np.arange(len(rows))
    ps = pd.to_datetime(rows["period"])
    naive = ps.dt.tz_localize(None) if ps.dt.tz is not None else ps
    try:
        return pd.PeriodIndex(naive.dt.to_period(freq)).asi8
    except (ValueError, TypeError):
        return np.arange(len(rows))


def _broken(x: pd.Series, index: np.ndarray, *values):
    """``x`` and ``values`` with a NaN point halfway across every gap (``index`` jumps by
    more than 1), so lines and bands drawn through them stop at the gap."""
    arrays = [None if v is None else np.asarray(v, dtype=float) for v in values]
    cut = np.flatnonzero(np.diff(index) > 1)
    if not len(cut):
        return x, arrays
    stamps = list(x)
    for j in reversed(cut):
        stamps.insert(j + 1, stamps[j] + (stamps[j + 1] - stamps[j]) / 2)
    arrays = [None if a is None else np.insert(a, cut + 1, np.nan) for a in arrays]
    return pd.DatetimeIndex(stamps), arrays


def _changepoint_tables(changepoints, periods: pd.DataFrame, by, freq, shifts) -> dict:
    """``shift -> change-point frame`` from ``plot.trend``'s ``changepoints=`` argument."""
    if changepoints is None or changepoints is False:
        return {}
    if changepoints is True:
        from kmlang.analysis.changepoints import _changepoints

        return {t: _changepoints(periods, by, freq, t, 3, None) for t in shifts}
    if not isinstance(changepoints, pd.DataFrame):
        raise TypeError("changepoints must be a DataFrame from kmlang.changepoints(), True or "
                        f"None, got {type(changepoints).__name__}")
    missing = [c for c in ("period", "level_before", "level_after") if c not in changepoints]
    if missing:
        raise ValueError(f"changepoints lacks column(s) {missing}; pass the output of "
                         f"kmlang.changepoints()")
    shift = changepoints.attrs.get("shift") or shifts[0]
    return {shift: changepoints} if shift in shifts else {}


def _draw_changepoints(ax, table: pd.DataFrame, by, g, rows: pd.DataFrame, x, color) -> bool:
    """Dashed lines and "before -> after" labels for the change points of group ``g``."""
    import matplotlib.dates as mdates

    hit = table
    for c, v in zip(by, g, strict=True):
        if c in hit.columns:
            hit = hit[(hit[c] == v).to_numpy()]
    if not len(hit):
        return False
    stamps = list(x)
    starts = [pd.Timestamp(v) for v in rows["period"]]
    for _, cp in hit.iterrows():
        when = pd.Timestamp(cp["period"])
        at = next((j for j, s in enumerate(starts) if s == when), None)
        if at is None:
            where = when
        elif at > 0:
            where = stamps[at - 1] + (stamps[at] - stamps[at - 1]) / 2
        else:
            where = stamps[at]
        xnum = mdates.date2num(pd.Timestamp(where).to_pydatetime())
        ax.axvline(xnum, color=color, linestyle="--", linewidth=1.2, alpha=0.9, zorder=2.5,
                   label="_nolegend_")
        text = (f"{cp['level_before']:+.2f} \u2192 {cp['level_after']:+.2f}"
                .replace("-", "\u2212"))
        ax.text(xnum, 0.98, text, transform=ax.get_xaxis_transform(), rotation=90,
                ha="right", va="top", fontsize=8, color=color)
    return True


def _slope_note(slopes, by, g, t, freq) -> str:
    """``": changing toward 'we' (+0.06/year, 95% +0.02 to +0.10)"`` or
    ``": no clear change (...)"`` (the rule is in :func:`kmlang.trend`)."""
    if slopes is None or f"{t}_slope_per_year" not in slopes.columns:
        return ""
    if by:
        match = np.ones(len(slopes), dtype=bool)
        for c, v in zip(by, g, strict=True):
            match &= (slopes[c] == v).to_numpy()
        hit = slopes[match]
    else:
        hit = slopes
    if len(hit) != 1 or not np.isfinite(hit[f"{t}_slope_per_year"].iloc[0]):
        return ""
    from kmlang.analysis.trend import _num

    b, lo, hi = (float(hit[f"{t}_slope_per_year{s}"].iloc[0]) for s in ("", "_lo", "_hi"))
    sb, slo, shi = (v.replace("-", "\u2212") for v in _num(b, lo, hi))
    rate = f"{sb}/year, 95% {slo} to {shi}" if np.isfinite(lo) and np.isfinite(hi) else \
        f"{sb}/year"
    if bool(hit[f"{t}_changing"].iloc[0]):
        pole = "we" if float(hit[f"{t}_change"].iloc[0]) > 0 else "I"
        return f": changing toward '{pole}' ({rate})"
    return f": no clear change ({rate})"


# ----------------------------------------------------------------------- heatmap

#: Limits the heatmap's colour scale is fitted to: the first one not below the largest |value|.
_VMAX_STEPS = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0)
_CELL_PT = 9  # cell text and row labels, points
_ROW_IN, _COL_IN = 0.34, 0.74  # inches per row and per column
_CHAR_IN = 0.068  # inches per character of a 9-point row label (roughly)
_HM_PERIOD = {"M": "month", "Q": "quarter", "W": "week", "D": "day", "Y": "year"}


def _fitted_vmax(values: np.ndarray) -> float:
    """A round number just above the largest |value|: at least 0.05, at most 1."""
    finite = np.abs(values[np.isfinite(values)])
    top = float(finite.max()) if finite.size else 0.0
    return next((s for s in _VMAX_STEPS if s >= top), 1.0)


def _usable(frame: pd.DataFrame, targets) -> np.ndarray:
    """Cells with an estimate: a finite value and, where the aggregate has ``t_se``, a finite
    SE (NaN when fewer than two passages carry weight for the shift)."""
    ok = np.isfinite(frame[list(targets)].to_numpy(dtype=float))
    for j, t in enumerate(targets):
        if f"{t}_se" in frame.columns:
            ok[:, j] &= np.isfinite(frame[f"{t}_se"].to_numpy(dtype=float))
    return ok


def _descending(values: np.ndarray, order) -> list[int]:
    """``order`` sorted by ``values`` (indexed by position), highest first, NaN last; stable."""
    return sorted(order, key=lambda i: (not np.isfinite(values[i]),
                                        -values[i] if np.isfinite(values[i]) else 0.0))


def _row_units(agg: pd.DataFrame, cols: list[str], sort_by) -> list[list[int]]:
    """Row positions in drawing order, as units kept together (one group's periods)."""
    n = len(agg)
    others = [c for c in cols if c != "period"]
    if sort_by is not None:
        if sort_by not in agg.columns:
            raise KeyError(f"sort_by={sort_by!r} is not a column of the aggregate")
        try:
            key = agg[sort_by].to_numpy(dtype=float)
        except (TypeError, ValueError):
            raise TypeError(f"sort_by={sort_by!r} is not a numeric column") from None
    if "period" not in cols or not others:
        if sort_by is None:
            return [[i] for i in range(n)]
        if "period" in cols:  # a time series: kept in time order
            return [[i] for i in np.argsort(agg["period"].to_numpy(), kind="stable")]
        return [[i] for i in _descending(key, range(n))]
    keys = [tuple("\0missing" if _isna(v) else v for v in r)
            for r in agg[others].itertuples(index=False, name=None)]
    if sort_by is None:  # input order: runs of consecutive rows of one group
        runs: list[list[int]] = []
        for i, k in enumerate(keys):
            if runs and keys[runs[-1][-1]] == k:
                runs[-1].append(i)
            else:
                runs.append([i])
        return runs
    blocks: dict[tuple, list[int]] = {}
    for i, k in enumerate(keys):
        blocks.setdefault(k, []).append(i)
    times = agg["period"].to_numpy()
    n_pass = agg["n_passages"].to_numpy(dtype=float)
    units = [sorted(b, key=lambda i: times[i]) for b in blocks.values()]
    means = np.full(len(units), np.nan)
    for u, rows in enumerate(units):
        ok = [i for i in rows if np.isfinite(key[i])]
        if ok and n_pass[ok].sum() > 0:
            means[u] = float(np.dot(n_pass[ok], key[ok]) / n_pass[ok].sum())
    return [units[u] for u in _descending(means, range(len(units)))]


def _split_rows(units: list[list[int]], max_rows) -> tuple[list[int], list[int]]:
    """(rows drawn, rows summarised): whole units while they fit in ``max_rows``."""
    flat = [i for u in units for i in u]
    if max_rows is None or len(flat) <= max_rows:
        return flat, []
    shown: list[int] = []
    for u in units:
        if len(shown) + len(u) > max_rows:
            break
        shown += u
    if not shown:  # the first group alone has more rows than max_rows
        shown = units[0][:max_rows]
    drawn = set(shown)
    return shown, [i for i in flat if i not in drawn]


def _summary_row(agg: pd.DataFrame, rest: list[int], targets, cols) -> tuple[np.ndarray, str]:
    """The passage-weighted mean of the rows ``rest`` per target, and the row's label."""
    sub = agg.iloc[rest]
    n = sub["n_passages"].to_numpy(dtype=float)
    ok = _usable(sub, targets)
    w = np.where(ok, n[:, None], 0.0)
    vals = np.where(ok, sub[list(targets)].to_numpy(dtype=float), 0.0)
    tot = w.sum(axis=0)
    mean = np.where(tot > 0, (w * vals).sum(axis=0) / np.where(tot > 0, tot, 1.0), np.nan)
    others = [c for c in cols if c != "period"]
    if others:
        k = len({tuple("\0missing" if _isna(v) else v for v in r)
                 for r in sub[others].itertuples(index=False, name=None)})
        what = "group" if k == 1 else "groups"
    else:
        k = len(sub)
        what = "period" if k == 1 else "periods"
    return mean, f"+ {k:,} more {what} (n={int(n.sum()):,})"


def _cell_text(v: float) -> str:
    if round(v, 2) == 0:
        return "0.00"
    return f"{v:+.2f}".replace("-", "\u2212")


def heatmap(agg: pd.DataFrame, targets: Sequence[str] = TARGETS, ax=None, annotate: bool = True,
            *, sort_by: str | None = "overall", vmax: float | None = None,
            max_rows: int | None = 25, names: bool = False,
            pseudonym_key: str | bytes | None = None):
    """Groups (rows) by shifts (columns), coloured by mean position.

    Diverging ``PuOr`` colours centred at 0 (orange: individual, purple:
    collective), on a scale fitted to the data: ``vmax`` is a round number
    just above the largest |value| drawn (at least 0.05, at most 1), so a
    community whose means all lie within +/-0.08 is drawn on +/-0.10, not on
    +/-1; the colour bar's label states the scale. Each cell shows its value.
    A cell without an estimate (NaN, or no standard error because fewer than
    two passages carry weight for that shift) is hatched grey and left blank,
    never drawn as 0.

    Rows are sorted by ``sort_by``, highest (most collective) first, NaN last.
    For an aggregate by group and period (``aggregate(..., by="author",
    freq="M")``) a group's periods stay together in time order and the groups
    are sorted by the passage-weighted mean of their periods' ``sort_by``; an
    aggregate by period only stays in time order.

    At most ``max_rows`` rows are drawn (whole groups with all their periods);
    the groups left over are summarised in one final row, "+ N more groups
    (n=...)", holding their *passage-weighted mean*: for each shift, the mean
    of their rows' values weighted by ``n_passages`` (cells without an
    estimate left out). That is a summary of the group means, not a
    re-aggregation of the passages.

    Names are pseudonymised unless ``names=True`` (see :func:`profile`).

    Parameters
    ----------
    agg : DataFrame
        Output of :func:`kmlang.aggregate`.
    targets : sequence of str
        Columns, left to right.
    ax : matplotlib Axes, optional
    annotate : bool
        Write each cell's value in it (9 points).
    sort_by : str or None
        Column to sort the rows by (a target, e.g. ``"overall"``, or
        ``"n_passages"``), descending; ``None`` keeps the aggregate's order.
    vmax : float, optional
        Colour-scale limit (the scale is -vmax .. +vmax); default: fitted to
        the data as above. ``vmax=1`` gives the full scale.
    max_rows : int or None
        Rows drawn before the rest are summarised; ``None`` draws every row.
    names : bool
        Show names in the row labels instead of pseudonyms.
    pseudonym_key : str or bytes, optional
        Secret key of the pseudonyms (see :func:`profile`).

    Returns
    -------
    matplotlib.axes.Axes
    """
    targets = _check_targets(agg, targets)
    if len(agg) == 0:
        raise ValueError("Nothing to plot: the aggregate has no rows (all groups under "
                         "min_passages?)")
    if max_rows is not None and (isinstance(max_rows, bool) or int(max_rows) < 1):
        raise ValueError(f"max_rows must be a positive integer or None, got {max_rows!r}")
    if vmax is not None and not (np.isfinite(vmax) and vmax > 0):
        raise ValueError(f"vmax must be a positive number, got {vmax!r}")
    freq = agg.attrs.get("freq")
    agg = agg.reset_index(drop=True)
    cols = _group_columns(agg)
    shown, rest = _split_rows(_row_units(agg, cols, sort_by), max_rows)
    _, all_labels = _row_keys_labels(agg, names, pseudonym_key)
    counts = agg["n_passages"].to_numpy()
    labels = [f"{all_labels[i]} (n={int(counts[i]):,})" for i in shown]
    values = agg.iloc[shown][list(targets)].to_numpy(dtype=float)
    usable = _usable(agg.iloc[shown], targets)
    if rest:
        mean, label = _summary_row(agg, rest, targets, cols)
        values = np.vstack([values, mean])
        usable = np.vstack([usable, np.isfinite(mean)])
        labels.append(label)
    fitted = vmax is None
    vmax = _fitted_vmax(values[usable]) if fitted else float(vmax)
    n_r, n_c = values.shape

    longest = max(map(len, labels))
    ax, own = _new_axes(ax, (min(24.0, max(7.5, _COL_IN * n_c + _CHAR_IN * longest + 2.2)),
                             max(4.8, _ROW_IN * n_r + 3.0)))
    plt = _pyplot()
    cmap = plt.get_cmap(_CMAP).with_extremes(bad="0.93")
    image = ax.imshow(np.ma.masked_array(values, ~usable), cmap=cmap, vmin=-vmax, vmax=vmax,
                      aspect="auto", interpolation="nearest")
    from matplotlib.patches import Rectangle

    for i, j in zip(*np.nonzero(~usable), strict=True):
        ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, facecolor="none", edgecolor="0.62",
                               hatch="////", linewidth=0, zorder=2))
    ax.set_xticks(np.arange(n_c), [shift_label(t) for t in targets], rotation=40, ha="right",
                  rotation_mode="anchor", fontsize=_CELL_PT)
    ax.set_yticks(np.arange(n_r), labels, fontsize=_CELL_PT)
    ax.tick_params(length=0)
    ax.set_xticks(np.arange(n_c + 1) - 0.5, minor=True)
    ax.set_yticks(np.arange(n_r + 1) - 0.5, minor=True)
    ax.grid(which="minor", color="white", linewidth=1.5)
    ax.tick_params(which="minor", length=0)
    for side in ax.spines.values():
        side.set_visible(False)
    if "overall" in targets and list(targets)[-1] == "overall" and n_c > 1:
        ax.axvline(n_c - 1.5, color="white", linewidth=4)
    if "period" in cols and len(cols) > 1:  # a gap between groups' blocks of periods
        others = [c for c in cols if c != "period"]
        block = [tuple(map(str, r)) for r in agg.iloc[shown][others].itertuples(index=False)]
        for i in range(1, len(block)):
            if block[i] != block[i - 1]:
                ax.axhline(i - 0.5, color="white", linewidth=4)
    if rest:
        ax.axhline(n_r - 1.5, color="white", linewidth=5)
        ax.get_yticklabels()[-1].set_fontstyle("italic")
    if annotate:
        for i in range(n_r):
            for j in range(n_c):
                if usable[i, j]:
                    v = values[i, j]
                    ax.text(j, i, _cell_text(v), ha="center", va="center", fontsize=_CELL_PT,
                            color="white" if abs(v) > 0.62 * vmax else "0.1", zorder=3)
    cbar = ax.figure.colorbar(image, ax=ax, shrink=0.9 if n_r > 6 else 1.0, pad=0.02,
                              aspect=max(12, min(30, 3 * n_r)))
    how = "fitted to the data" if fitted else "set by vmax"
    cbar.set_label(f"mean position (colour scale \u00b1{vmax:.2f},\n{how})\n"
                   "\u2190 individual \u00b7 collective \u2192", fontsize=_CELL_PT)
    ticks = [-vmax, -vmax / 2, 0.0, vmax / 2, vmax]
    cbar.set_ticks(ticks, labels=["0" if t == 0 else f"{t:+.3f}".rstrip("0").rstrip(".")
                                  .replace("-", "\u2212") for t in ticks])
    cbar.ax.tick_params(labelsize=_CELL_PT)

    by = " \u00d7 ".join(_HM_PERIOD.get(freq, "period") if c == "period" else c for c in cols)
    ax.set_title(f"Mean position by {by or 'community'} and shift", loc="left", fontsize=12,
                 fontweight="bold")
    notes = []
    if sort_by is not None and len(shown) > 1:
        if "period" in cols and len(cols) == 1:
            notes.append("rows in time order")
        elif "period" in cols:
            per = _HM_PERIOD.get(freq, "period")
            notes.append(f"groups sorted by {sort_by} (passage-weighted over their {per}s), "
                         "highest first; periods in time order")
        else:
            notes.append(f"rows sorted by {sort_by}, highest (most collective) first")
    if rest:
        notes.append("last row: the passage-weighted mean of the rest")
    if (~usable).any():
        notes.append("hatched: no estimate")
    if not names and all_labels != _row_keys_labels(agg, True)[1]:
        notes.append("names are pseudonyms")
    if notes:
        text = "; ".join(notes)
        ax.set_xlabel("\n".join(textwrap.wrap(text[0].upper() + text[1:] + ".", 110)),
                      fontsize=_CELL_PT, color="0.3", loc="left")
    return ax
