"""A self-contained HTML report of a scored export.

:func:`build_report` turns a score frame (what :func:`kmlang.score` returns)
into one HTML page: what was scored, the community's profile and trend, the
groups at each end, the passages furthest toward each pole with their cues
highlighted, a methods section and the model card's accuracy figures.
:func:`report_file` reads an export (or a scores file written by
``kmlang score``), scores it and writes the page.

The page needs nothing else to open: plots are embedded PNG (``data:`` URIs),
the stylesheet is inline, and it makes no network request. A two-line inline
script marks ``<body data-images-ok="true">`` once every image has loaded (a
hook for automated checks; the page reads the same without JavaScript).

Authors are pseudonymised unless ``names=True``: each name becomes
``author-`` + the first 16 hex digits (64 bits) of a keyed HMAC-SHA256 of the
name. The key is random for each report unless one is passed
(``pseudonym_key=``, ``kmlang report --pseudonym-key`` or the
``KMLANG_PSEUDONYM_KEY`` environment variable), so without the key nobody can
check a guessed name against a pseudonym; with the same key, reports get the
same pseudonyms. Document ids and titles that carry a user name (MediaWiki
``User:Name`` and ``User talk:Name/...`` pages, or any id or title that holds
an author name of the data) have that name replaced by its pseudonym. Names,
ids and titles lose their bidirectional-override and other invisible
formatting characters. A pseudonym keeps names off the page, it does not
anonymise: the passages quoted are shown as written.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import math
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from kmlang.analysis.pseudonym import (  # noqa: F401 - PSEUDONYM_KEY_ENV re-exported
    PSEUDONYM_KEY_ENV,
    _clean_label,
    _key_bytes,
    _missing,
    _Pseudonymiser,
    _visible_text,
    pseudonym,
)
from kmlang.analysis.report_shares import (
    _esc,
    aggregate_with_shares,
    headline_targets,
    length_section,
    scored_rows,
    shares_section,
)
from kmlang.model.reliability import HEADLINE_MIN_PASSAGES, HEADLINE_MIN_WEIGHT, grades
from kmlang.shifts import SHIFT_IDS, SHIFTS, TARGETS, get_shift

__all__ = ["build_report", "report_file", "pseudonym", "read_scores", "is_score_frame"]

#: File suffixes read as score files (what ``kmlang score`` writes).
SCORE_SUFFIXES = (".csv", ".jsonl", ".ndjson", ".parquet")
_ID_COLUMNS = ("author", "doc_id", "id", "parent_id")
_MAX_CHARS = 480  # characters of a passage shown in the pole lists
_PERIOD = {"M": "month", "Q": "quarter", "W": "week", "D": "day", "Y": "year"}
_STATUS_TEXT = {
    "ok": "scored",
    "truncated": "scored on the first part (very long)",
    "non_english": "not English: scored, left out of the figures",
    "missing": "no text",
    "not_a_string": "not text",
    "empty": "empty",
    "quoted_only": "only forwards or quotes others' words: not scored",
}


# ------------------------------------------------------------------------ helpers


def is_score_frame(frame: pd.DataFrame, targets=TARGETS) -> bool:
    """Whether ``frame`` has the position, relevance and label columns of every target."""
    need = {c for t in targets for c in (t, f"{t}_relevance", f"{t}_label")}
    return need.issubset(map(str, frame.columns))


def _parse_utc(values: pd.Series) -> pd.Series:
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.dt.tz_convert("UTC")
    for kw in ({"format": "ISO8601"}, {"format": "mixed"}):
        try:
            return pd.to_datetime(values, utc=True, **kw)
        except (ValueError, TypeError):
            continue
    return pd.to_datetime(values, utc=True, errors="coerce")


def read_scores(path: str | os.PathLike) -> pd.DataFrame:
    """Read a scores file written by ``kmlang score`` (``.csv``, ``.jsonl`` or ``.parquet``).

    Id columns (``author``, ``doc_id``, ``id``, ``parent_id``) are read as
    strings and ``timestamp`` is parsed to UTC (``pd.to_datetime(..., utc=True)``).
    Raises ``ValueError`` for another suffix and ``KeyError`` when score columns
    are missing.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        header = pd.read_csv(path, nrows=0).columns
        frame = pd.read_csv(path, dtype={c: "object" for c in _ID_COLUMNS if c in header},
                            keep_default_na=True)
    elif suffix in (".jsonl", ".ndjson"):
        frame = pd.read_json(path, lines=True, dtype=False)
    elif suffix == ".parquet":
        frame = pd.read_parquet(path)
    else:
        raise ValueError(f"Cannot read scores from {path}: expected a .csv, .jsonl or .parquet "
                         f"file written by `kmlang score`")
    if not is_score_frame(frame):
        missing = [c for t in TARGETS for c in (t, f"{t}_relevance", f"{t}_label")
                   if c not in frame.columns]
        raise KeyError(f"{path} is not a scores file: columns {', '.join(missing[:6])}"
                       f"{', ...' if len(missing) > 6 else ''} are missing. Score the export "
                       f"first with `kmlang score {path.name} -o scores.csv`.")
    for c in _ID_COLUMNS:
        if c in frame.columns:
            frame[c] = frame[c].map(lambda v: None if v is None or (isinstance(v, float)
                                                                    and math.isnan(v)) else str(v))
    if "timestamp" in frame.columns:
        frame["timestamp"] = _parse_utc(frame["timestamp"])
    return frame


def _looks_like_scores_file(path: Path) -> bool:
    if not path.is_file() or path.suffix.lower() not in SCORE_SUFFIXES:
        return False
    try:
        if path.suffix.lower() == ".csv":
            cols = list(pd.read_csv(path, nrows=0).columns)
        elif path.suffix.lower() == ".parquet":
            import pyarrow.parquet as pq

            cols = pq.read_schema(path).names
        else:
            with path.open(encoding="utf-8") as fh:
                first = next((line for line in fh if line.strip()), "{}")
            cols = list(json.loads(first))
    except Exception:  # noqa: BLE001 - anything unreadable here is simply not a scores file
        return False
    return is_score_frame(pd.DataFrame(columns=cols))


def _map_values(values: pd.Series, fn) -> pd.Series:
    """``fn`` applied once per distinct value (missing values kept), as an object column."""
    try:
        uniq = {v: fn(v) for v in values.dropna().unique()}
    except TypeError:  # unhashable values (lists...): one at a time
        return values.map(lambda v: v if _missing(v) else fn(v)).astype("object")
    return values.map(lambda v: v if _missing(v) else uniq.get(v, v)).astype("object")


def _isna(value) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _fmt(v, spec: str = "+.2f") -> str:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return "\u2013"
    if not math.isfinite(f):
        return "\u2013"
    return format(f, spec).replace("-", "\u2212")


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, facecolor="white")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _figure(figsize):
    from matplotlib.figure import Figure  # no pyplot: no global state, no GUI backend

    fig = Figure(figsize=figsize, layout="constrained")
    return fig, fig.subplots()


def _img(b64: str, alt: str) -> str:
    return f'<img src="data:image/png;base64,{b64}" alt="{_esc(alt)}">'


def _note(text: str) -> str:
    return f'<p class="note">{text}</p>'


def _date(ts) -> str:
    return "\u2013" if ts is None or pd.isna(ts) else pd.Timestamp(ts).strftime("%Y-%m-%d")


# ----------------------------------------------------------------------- sections


def _how_to_read(card: Mapping) -> str:
    """A short box near the top: how sure the numbers are, in plain words."""
    dev = (card.get("metrics") or {}).get("dev") or {}
    real = (card.get("metrics") or {}).get("test_real") or {}
    found = next((v for v in (dev.get("overall"), real.get("overall")) if isinstance(v, (int, float))), None)
    how_well = (f"On real passages it was never trained on, the model's labels agree with careful "
                f"readers' at a pole-F1 of about {found:.2f} for the overall stance (readers agree "
                "with each other at about 0.9), and less on most single shifts: it misses many "
                "stances, above all the rare \u201cI know\u201d ones. " if found is not None else "")
    return ('<div class="howto"><strong>How to read this report.</strong> Every number below is '
            "computed from a model's reading of each passage, not from people's. " + how_well
            + "So read the profile and the trend as a rough picture of the language, compare "
              "groups only when their intervals are clearly apart, give little weight to shifts "
              "with few labelled passages, and read the example passages before drawing a "
              "conclusion. The last section, Accuracy of the model, gives every figure.</div>")


def _summary(scores: pd.DataFrame, card: Mapping, names: bool) -> str:
    from kmlang._version import __version__

    rows = [("Passages", f"{len(scores):,}")]
    if "status" in scores.columns:
        counts = scores["status"].astype("object").fillna("(none)").value_counts()
        parts = [f"{int(n):,} {_esc(_STATUS_TEXT.get(str(s), str(s)))}" for s, n in counts.items()]
        rows.append(("By status", "<br>".join(parts)))
    if "timestamp" in scores.columns:
        ts = _parse_utc(scores["timestamp"])
        if ts.notna().any():
            undated = int(ts.isna().sum())
            rows.append(("Date range", f"{_date(ts.min())} to {_date(ts.max())} (UTC)"
                         + (f"; {undated:,} without a date" if undated else "")))
        else:
            rows.append(("Date range", "no timestamps"))
    if "author" in scores.columns:
        n = scores["author"].nunique(dropna=True)
        rows.append(("Authors", f"{n:,}" + ("" if names else " (shown as pseudonyms)")))
    if "doc_id" in scores.columns:
        rows.append(("Documents / threads", f"{scores['doc_id'].nunique(dropna=True):,}"))
    versions = card.get("versions", {}) if isinstance(card.get("versions"), Mapping) else {}
    model = _esc(card.get("name", "(no model card)"))
    if versions.get("kmlang"):
        model += f" (trained with kmlang {_esc(versions['kmlang'])})"
    rows.append(("Model", model))
    rows.append(("kmlang version", _esc(__version__)))
    body = "".join(f"<tr><th scope=\"row\">{k}</th><td>{v}</td></tr>" for k, v in rows)
    return f'<table class="facts">{body}</table>'


def _labelled_support(scores: pd.DataFrame, t: str, by: str | None = None):
    """Passages labelled with a pole of ``t`` and the sum of their relevances (per ``by`` group)."""
    lab = pd.to_numeric(scores[f"{t}_label"], errors="coerce").fillna(0).to_numpy() != 0
    rel = pd.to_numeric(scores[f"{t}_relevance"], errors="coerce").fillna(0).to_numpy()
    if by is None:
        return int(lab.sum()), float(rel[lab].sum())
    frame = pd.DataFrame({"g": scores[by].to_numpy(), "n": lab.astype(int), "w": rel * lab})
    sums = frame.groupby("g", dropna=False, sort=False)[["n", "w"]].sum()
    return sums["n"], sums["w"]


def _profile_section(scores: pd.DataFrame, card: Mapping | None = None,
                     community: pd.DataFrame | None = None) -> str:
    from kmlang.analysis import plot
    from kmlang.analysis.aggregation import aggregate

    if community is None:
        community = aggregate(scores, by=None, min_passages=1, shares=False)
    if community.empty:
        return _note("No passage was scored as English text, so there is no profile.")
    fig, ax = _figure((10, 0.7 * len(TARGETS) + 1.8))
    plot.profile(community, ax=ax, grades=grades(card), title="Community profile: all passages "
                 f"(n={int(community['n_passages'].iloc[0]):,})")
    row = community.iloc[0]
    usable = set(headline_targets(card))
    enough = [t for t in SHIFT_IDS if t in usable and _headline_ok(*_labelled_support(scores, t))]
    lean = sorted(enough, key=lambda t: -abs(float(row[t])))[:3]
    words = (", ".join(f"{_esc(t)} ({_fmt(row[t])})" for t in lean) if lean else
             "not stated: no shift graded at least indicative has enough passages labelled with "
             "one of its poles")
    words += (f" (only shifts graded at least indicative, with at least {HEADLINE_MIN_PASSAGES} "
              f"passages labelled with a pole whose relevances add up to {HEADLINE_MIN_WEIGHT:g})")
    return (_img(_png(fig), "Community profile across the eleven shifts and overall")
            + "<p>Each dot is where the community's passages sit on one shift, from \u22121 (the "
              "individual pole, \u201cI know\u201d) to +1 (the collective pole, \u201cwe know\u201d): "
              "the average of the passages' positions, in which a passage counts more the more "
              "it speaks to that shift (its relevance: how likely it takes any stance on the "
              "shift at all), so the many passages that say nothing about a shift barely move "
              "it. The bar is the 95% interval of that average over the passages (it does not "
              f"include the model's own errors). Each shift's name carries its grade (see the "
              f"shares above); weak shifts are drawn in grey and shifts not measured are left "
              f"empty. Overall: <strong>{_fmt(row['overall'])}</strong>. "
              f"Furthest from neutral: {words}.</p>")


def _headline_ok(n_labelled, weight) -> bool:
    from kmlang.model.reliability import usable_for_headline

    return usable_for_headline(n_labelled, weight)


def _trend_section(scores: pd.DataFrame, freq: str, min_passages: int) -> str:
    from kmlang.analysis import plot
    from kmlang.analysis.changepoints import changepoints
    from kmlang.analysis.trend import describe_trend, trend

    if "timestamp" not in scores.columns or _parse_utc(scores["timestamp"]).notna().sum() == 0:
        return _note("The passages have no timestamps, so there is no trend.")
    frame = scores.assign(timestamp=_parse_utc(scores["timestamp"]))
    tr = trend(frame, by=None, freq=freq, min_passages=min_passages, targets=("overall",))
    if len(tr.periods) < 2:
        return _note(f"Fewer than two periods have at least {min_passages} passages, so there is "
                     f"no trend to draw.")
    cps = changepoints(tr, shift="overall")
    fig, ax = _figure((9, 4.6))
    plot.trend(tr, shifts=("overall",), ax=ax, changepoints=cps)
    per = _PERIOD.get(tr.freq, "period")
    verdict = describe_trend(tr.slopes.iloc[0], "overall", freq=tr.freq,
                             min_change=tr.min_change)
    left_out = int(tr.periods.attrs.get("dropped_groups", 0))
    fit = (cps.attrs.get("fits") or [{}])[0]
    k, pen = int(fit.get("n_periods", len(tr.periods))), float(fit.get("penalty", math.nan))
    if len(cps):
        moves = "Change points: " + "; ".join(_esc(d) for d in cps["description"]) + "."
    elif k < 6:
        moves = f"Too few {per}s to look for a change point (it takes at least 6)."
    else:
        moves = "No change point: no step to a new level stands out from the noise."
    text = (f"<p>The points are the mean overall position per {per}: {len(tr.periods)} {per}s "
            f"with at least {min_passages} passages"
            f"{f' ({left_out} with fewer left out)' if left_out else ''}. Verdict: "
            f"<strong>{_esc(verdict)}</strong>. {moves}</p>"
            f'<p class="note">The rule: {per}s with fewer than {min_passages} passages are left '
            f"out and no line is drawn across them; the thick line is a {tr.smooth}-{per} "
            f"rolling mean weighted by passages. \u201cChanging\u201d needs the 95% interval of "
            f"the slope to exclude 0 <em>and</em> a fitted change over the whole span of at "
            f"least {tr.min_change:.2f} on the \u22121..+1 scale. Change points (dashed lines) "
            f"are levels of at least 3 {per}s found by PELT, with a penalty of 3\u00b7ln(k) = "
            f"{pen:.1f} for k = {k} {per}s in noise units (modified BIC).</p>")
    return _img(_png(fig), "Trend of the overall position per period") + text


def _ends_section(scores: pd.DataFrame, by: str, min_passages: int, names: bool,
                  card: Mapping | None = None, model=None) -> str:
    if by not in scores.columns:
        return _note(f"The passages have no {_esc(by)} column, so there are no groups to "
                     "compare.")
    if "overall" not in headline_targets(card):
        return _note("The overall stance is not graded at least indicative for this model, so "
                     "groups are not ranked on it.")
    import warnings

    with warnings.catch_warnings():  # the shares section has said it once already
        warnings.simplefilter("ignore", UserWarning)
        agg = aggregate_with_shares(scores, by=by, min_passages=min_passages, model=model)
    dropped = int(agg.attrs.get("dropped_groups", 0))
    n_reported = len(agg)
    n_lab, weight = _labelled_support(scores, "overall", by)
    ok = [_headline_ok(n_lab.get(g, 0), weight.get(g, 0.0)) for g in agg[by]]
    thin = int(len(agg) - sum(ok))
    agg = agg[ok].reset_index(drop=True)
    rule = (f" Only {_esc(by)} groups with at least {HEADLINE_MIN_PASSAGES} passages labelled "
            f"with an overall pole (relevance adding up to {HEADLINE_MIN_WEIGHT:g}) are ranked; "
            f"{thin:,} with fewer are not.")
    if len(agg) < 2:
        return _note(f"Fewer than two {_esc(by)} groups have at least {min_passages} passages "
                     f"and enough labelled passages ({dropped} smaller groups left out).{rule} "
                     "So there are no ends to compare.")
    k = min(5, len(agg) // 2)
    order = agg.sort_values(["overall", by], ascending=[False, True], kind="mergesort")
    order = order.reset_index(drop=True)
    n = len(order)
    has_share = "share_overall_pos" in order.columns

    def share(r) -> str:
        if not has_share or not np.isfinite(r["share_overall_pos"]):
            return "<td class=\"num\">\u2013</td>" if has_share else ""
        return (f"<td class=\"num\">{100 * r['share_overall_pos']:.0f}% "
                f"<span class=\"ci\">[{100 * r['share_overall_pos_lo']:.0f}, "
                f"{100 * r['share_overall_pos_hi']:.0f}]</span></td>")

    def rows(frame, start):
        out = []
        for i, (_, r) in enumerate(frame.iterrows()):
            out.append(
                f"<tr><td class=\"num\">{start + i} of {n}</td>"
                f"<td class=\"name\">{'(missing)' if _isna(r[by]) else _esc(r[by])}</td>"
                f"<td class=\"num\">{int(r['n_passages']):,}</td>"
                f"<td class=\"num\"><strong>{_fmt(r['overall'])}</strong></td>"
                f"<td class=\"num\">{_fmt(r['overall_lo'])} to {_fmt(r['overall_hi'])}</td>"
                f"<td class=\"num\">{_fmt(r['overall_raw'])}</td>"
                f"<td class=\"num\">{_fmt(100 * r['overall_expressed'], '.0f')}%</td>{share(r)}</tr>")
        return "".join(out)

    who = "authors" if by == "author" else f"{_esc(by)} groups"
    head = ("<tr><th class=\"num\">rank</th><th>" + _esc(by) + "</th>"
            "<th class=\"num\">passages</th><th class=\"num\">overall</th>"
            "<th class=\"num\">95% interval</th><th class=\"num\">unshrunk mean</th>"
            "<th class=\"num\">overall label not neutral</th>"
            + ("<th class=\"num\">share leaning to \u201cwe know\u201d (corrected)</th>" if has_share
               else "") + "</tr>")
    span = 8 if has_share else 7
    table = (f'<div class="scroll"><table class="data"><thead>{head}</thead><tbody>'
             f'<tr class="band"><td colspan="{span}">Highest overall (furthest toward '
             f"\u201cwe know\u201d)</td></tr>{rows(order.head(k), 1)}"
             f'<tr class="band"><td colspan="{span}">Lowest overall (furthest toward '
             f"\u201cI know\u201d)</td></tr>{rows(order.tail(k), n - k + 1)}</tbody></table></div>")
    pseud = "" if names or by != "author" else " Names are pseudonyms."
    one = who[:-1] if who.endswith("s") else who
    ends = (f"The {one} with the highest and the one with the lowest" if k == 1 else
            f"The {k} {who} with the highest and the {k} with the lowest")
    return (f"<p>{ends} <em>overall</em> "
            f"position, after shrinkage toward the community mean (ranked from most collective "
            f"to most individual; the lowest can still sit on the collective side of 0). "
            f"{n_reported:,} {who} have at least {min_passages} passages; {dropped:,} with fewer "
            f"are left out.{rule}{pseud} The last column is the share of the group\u2019s "
            f"passages that lean to \u201cwe know\u201d, corrected for the model\u2019s error "
            f"(see the shares above), with its 95% interval.</p>" + table)


def _passage_card(row: pd.Series, target: str, pole: str) -> str:
    from kmlang.cues.render import render_cues

    text = str(row["text"])
    cut = len(text) > _MAX_CHARS
    shown = text[:_MAX_CHARS].rsplit(" ", 1)[0] + " \u2026" if cut else text
    try:
        body = render_cues(shown)
    except ValueError:
        body = f"<p>{_esc(shown)}</p>"
    meta = [f"position <strong>{_fmt(row[target])}</strong>",
            f"relevance {_fmt(row[f'{target}_relevance'], '.2f')}"]
    if "author" in row.index and isinstance(row["author"], str):
        meta.append(_esc(row["author"]))
    if "timestamp" in row.index:
        meta.append(_date(row["timestamp"]))
    if "doc_id" in row.index and row["doc_id"] is not None and not pd.isna(row["doc_id"]):
        meta.append(f"document {_esc(row['doc_id'])}")
    if cut:
        meta.append(f"first {_MAX_CHARS} characters shown")
    sep = " \u00b7 "
    return (f'<div class="passage pole-{pole}"><div class="meta">{sep.join(meta)}</div>'
            f'<div class="cues">{body}</div></div>')


def _poles_section(scores: pd.DataFrame, top_n: int) -> str:
    usable = scored_rows(scores)
    usable = usable[usable["text"].map(lambda v: isinstance(v, str) and bool(v.strip()))] \
        if "text" in usable.columns else usable.iloc[0:0]
    if usable.empty:
        return _note("No scored passage text is available (was the scores file written with "
                     "--no-text?), so no passages can be shown.")
    parts = ['<p>For each shift, the passages labelled toward a pole (label +1 or \u22121) that '
             f'sit furthest toward it (up to {top_n} each). Cues are highlighted and named by '
             "family; cues are what the model reads, the label comes from the whole passage.</p>"]
    for t in (*SHIFT_IDS, "overall"):
        s = get_shift(t)
        lab = pd.to_numeric(usable[f"{t}_label"], errors="coerce")
        pos = pd.to_numeric(usable[t], errors="coerce")
        head = (f"{s.number}. {s.id}" if s.number else "overall")
        parts.append(f'<section class="shift"><h3>{_esc(head)}: '
                     f'<span class="ind">{_esc(s.individual)}</span> \u2194 '
                     f'<span class="col">{_esc(s.collective)}</span></h3>')
        n_pos, n_neg = int((lab == 1).sum()), int((lab == -1).sum())
        none = [f"\u201c{_esc(pole)}\u201d" for n, pole in ((n_pos, s.collective), (n_neg, s.individual))
                if n == 0]
        parts.append(f'<p class="counts">Labelled collective: {n_pos:,} \u00b7 individual: '
                     f"{n_neg:,} \u00b7 neutral: {int((lab == 0).sum()):,} passages."
                     + (f" None is labelled toward {' or '.join(none)}." if none else "") + "</p>")
        for sign, name, pole in ((1, "collective", s.collective), (-1, "individual", s.individual)):
            picked = usable[(lab == sign).to_numpy()]
            if picked.empty:
                continue
            picked = picked.assign(_pos=pos[(lab == sign).to_numpy()])
            picked = picked.sort_values("_pos", ascending=(sign < 0), kind="mergesort").head(top_n)
            parts.append(f'<h4 class="{name[:3]}">Toward \u201c{_esc(pole)}\u201d ({name})</h4>')
            parts.extend(_passage_card(r, t, name[:3]) for _, r in picked.iterrows())
        parts.append("</section>")
    return "".join(parts)


def _methods(names: bool, min_passages: int, by: str, stable: bool = False) -> str:
    if names:
        pseud = ("Author names are shown as they appear in the export (the report was made with "
                 "<code>--names</code>), without invisible formatting characters.")
    else:
        same = ("The key was given by whoever made the report, so reports made with the same key "
                "give a name the same pseudonym and can be compared; keep the key secret, as "
                "anyone who has it can check a guessed name." if stable else
                "The key was made at random for this report and not kept, so the pseudonyms "
                "cannot be checked against guessed names and differ from one report to the next "
                "(pass the same <code>--pseudonym-key</code> to compare reports).")
        pseud = ("Author names are replaced by pseudonyms: <code>author-</code> plus the first 16 "
                 "hex digits (64 bits) of a keyed hash (HMAC-SHA256) of the name. " + same
                 + " Document ids and titles that carry a user name (wiki pages such as "
                 "<code>User talk:Name</code>, or any id or title holding an author\u2019s name) "
                 "show the pseudonym instead of the name. Pseudonyms keep names off the page but "
                 "do not anonymise: names mentioned inside the passages themselves are not "
                 "replaced, and distinctive passages can identify their author.")
    return f"""
<dl class="methods">
<dt>Position</dt><dd>For each shift, P(collective) \u2212 P(individual) from the classifier:
\u22121 is fully toward the individual pole (\u201cI know\u201d), +1 fully toward the collective
pole (\u201cwe know\u201d), 0 neutral or balanced.</dd>
<dt>Relevance</dt><dd>1 \u2212 P(neutral): how much the passage speaks to the shift at all.
Means are weighted by relevance, so passages that say nothing about a shift barely count.</dd>
<dt>Label</dt><dd>\u22121, 0 or +1 per passage, decided from the probabilities with per-shift
thresholds tuned on labelled real text. Positions and relevances do not depend on the
thresholds; the \u201cpassages toward each pole\u201d and \u201coverall label not neutral\u201d
figures do.</dd>
<dt>Groups and shrinkage</dt><dd>Groups ({_esc(by)}) with fewer than {min_passages} passages
are left out, for privacy and because their means are noise. A group\u2019s mean is pulled
toward the community mean in proportion to its uncertainty (empirical Bayes), so a small
group needs consistent passages to reach an end of the table; the unshrunk mean is shown
beside it. Intervals are 95% intervals.</dd>
<dt>Trend</dt><dd>Unshrunk mean per period; the change per period is a weighted
least-squares slope with a 95% interval.</dd>
<dt>Names</dt><dd>{pseud}</dd>
<dt>What is left out</dt><dd>Passages that are empty, not text or not English are counted
above but not in any figure.</dd>
</dl>"""


_METRIC_SETS = (
    ("dev", "dev", "kmlang on real passages labelled by the guide, never trained on"),
    ("test_real", "test (real)", "kmlang on held-out real passages of the labelled data"),
    ("test_contrast", "test (pairs)", "kmlang on held-out contrastive pairs written for the project"),
    ("test_authored", "test (authored)", "kmlang on held-out passages written for the project"),
)
_BASELINES = (
    ("always_neutral", "always neutral", "labels every passage 0"),
    ("pronoun_ratio", "pronoun ratio",
     "LIWC-style we/(I+we) > 0.5 \u2192 +1, < 0.5 \u2192 \u22121"),
    ("bow_logreg_same_train", "bag-of-words", "logistic regression on the same training data"),
)
_CAVEATS = """
<h3>Caveats</h3>
<ul class="caveats">
<li><strong>Real text is mostly neutral.</strong> Most passages are 0 on every shift, so a model
that is right about neutral passages but misses the few non-neutral ones can still look good on
accuracy. Macro-F1 weighs the rare classes as much as neutral; the \u201calways neutral\u201d
column shows what doing nothing scores.</li>
<li><strong>Rare shifts have few examples.</strong> Some shifts (e.g. advantage, invention,
property) have only a handful of non-neutral labelled passages; their figures can move a lot with
a few passages and are the least reliable.</li>
<li><strong>Labels are decided with thresholds tuned on real text.</strong> The thresholds follow
the base rates of the labelled real passages; in a community whose base rates differ, labels
(not positions) shift with them. Authored test passages are clearer than real ones, so their
figures are an upper bound.</li>
</ul>"""


def _accuracy(card: Mapping) -> str:
    metrics = card.get("metrics") or {}
    baselines = card.get("baselines_dev") or {}
    gold = card.get("gold_labels") or {}
    known = {k for k, *_ in _METRIC_SETS} | {k for k, *_ in _BASELINES}
    groups = [
        ("kmlang", [(name, note, metrics[k], gold.get(k) or {}) for k, name, note in _METRIC_SETS
                    if isinstance(metrics.get(k), Mapping) and metrics[k]]),
        ("baselines, on dev", [(name, note, baselines[k], {}) for k, name, note in _BASELINES
                               if isinstance(baselines.get(k), Mapping) and baselines[k]]),
        ("other figures", [(k, "", v, {}) for src in (metrics, baselines) for k, v in src.items()
                           if k not in known and isinstance(v, Mapping) and v]),
    ]
    groups = [(g, cols) for g, cols in groups if cols]
    if not groups:
        return _note("The model card has no accuracy figures.") + _CAVEATS
    cols = [c for _, cs in groups for c in cs]
    metric = _esc(card.get("metric", "macro-F1 per target"))
    top = '<tr><th rowspan="2">shift</th>' + "".join(
        f'<th class="grp" colspan="{len(cs)}">{_esc(g)}</th>' for g, cs in groups) + "</tr>"
    sub = "<tr>" + "".join(f'<th class="num" title="{_esc(note)}">{_esc(name)}</th>'
                           for name, note, *_ in cols) + "</tr>"
    body = []
    for t in (*TARGETS, "mean_shift"):
        label = "mean over the measured shifts" if t == "mean_shift" else (
            f"{get_shift(t).number}. {t}" if get_shift(t).number else "overall")
        cls = ' class="sum"' if t in ("overall", "mean_shift") else ""
        body.append(f"<tr{cls}><td>{_esc(label)}</td>" + "".join(
            f'<td class="num">{_fmt(v.get(t), ".2f")}'
            + (f' <span class="n">({int(n[t])})</span>' if isinstance(n.get(t), int) else "") + "</td>"
            for *_, v, n in cols) + "</tr>")
    notes = "".join(f"<li><strong>{_esc(name)}</strong>: {_esc(note)}</li>"
                    for name, note, *_ in cols if note)
    counted = ("In brackets: the non-zero gold labels each figure rests on; "
               "– where the gold labels hold no pole at least 5 times. " if gold else "")
    return (f"<p>Figures from the model card: {metric}. Higher is better; 1.0 is perfect; "
            f"labelling every passage neutral scores 0. {counted}</p>"
            f'<div class="scroll"><table class="data acc"><thead>{top}{sub}</thead>'
            f'<tbody>{"".join(body)}</tbody></table></div>'
            f'<ul class="legend">{notes}</ul>' + _CAVEATS)


_CSS = """
:root { --ink: #1d232b; --muted: #5b6570; --line: #d9dee3; --band: #f4f6f8;
        --ind: #b35900; --col: #0b5fa5; }
* { box-sizing: border-box; }
.acc .n { color: var(--muted); font-size: 0.8em; }
.howto { border: 1px solid var(--line); background: var(--band); padding: 0.8em 1em;
         margin: 0 0 1em; border-radius: 4px; }
body { margin: 0; background: #fff; color: var(--ink);
       font: 16px/1.55 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 60rem; margin: 0 auto; padding: 2rem 1.5rem 4rem; }
header { border-bottom: 3px solid var(--ink); margin-bottom: 1.5rem; padding-bottom: .75rem; }
h1 { font-size: 1.9rem; line-height: 1.2; margin: 0 0 .35rem; }
h2 { font-size: 1.35rem; margin: 2.5rem 0 .75rem; padding-bottom: .25rem;
     border-bottom: 1px solid var(--line); }
h3 { font-size: 1.08rem; margin: 1.75rem 0 .25rem; }
h4 { font-size: .95rem; margin: 1rem 0 .4rem; }
p { margin: .5rem 0 .9rem; }
.sub, .note, .counts, .meta, .legend { color: var(--muted); }
.sub { margin: 0; }
.note { font-style: italic; }
nav ol { margin: .25rem 0 0; padding-left: 1.25rem; columns: 2; }
img { display: block; max-width: 100%; height: auto; margin: .75rem auto;
      border: 1px solid var(--line); }
table { border-collapse: collapse; margin: .75rem 0 1rem; font-size: .92rem; }
th, td { padding: .35rem .7rem; text-align: left; vertical-align: top;
         border-bottom: 1px solid var(--line); }
thead th { border-bottom: 2px solid var(--ink); font-weight: 600; }
.facts th { font-weight: 600; white-space: nowrap; padding-right: 1.5rem; }
.data { width: 100%; }
.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.name { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .88rem; }
tr.band td { background: var(--band); font-weight: 600; font-size: .85rem; color: var(--muted);
              padding-top: .5rem; }
tr.sum td { font-weight: 600; background: var(--band); }
.acc td:first-child { white-space: nowrap; }
.acc th.grp { text-align: center; border-bottom: 1px solid var(--line); font-size: .85rem;
              color: var(--muted); }
.acc th, .acc td { padding: .3rem .55rem; }
.scroll { overflow-x: auto; }
.ind, h4.ind { color: var(--ind); }
.col, h4.col { color: var(--col); }
section.shift { border-top: 1px solid var(--line); margin-top: 1.5rem; }
.passage { border-left: 4px solid var(--line); background: var(--band);
           padding: .5rem .9rem .25rem; margin: .5rem 0 .9rem; border-radius: 0 4px 4px 0; }
.passage.pole-col { border-left-color: #7fb2de; }
.passage.pole-ind { border-left-color: #e3a867; }
.meta { font-size: .82rem; }
.cues .spans { font-size: .95rem; padding-right: 4rem; }
dl.methods dt { font-weight: 600; margin-top: .75rem; }
dl.methods dd { margin: .15rem 0 0 0; }
ul.caveats li, ul.legend li { margin: .3rem 0; }
code { font-size: .9em; background: var(--band); padding: 0 .2em; border-radius: 3px; }
footer { margin-top: 3rem; border-top: 1px solid var(--line); padding-top: .75rem;
         color: var(--muted); font-size: .85rem; }
.shares .poles, .shares .n, .ci { color: var(--muted); font-size: .82rem; }
.shares td.why { color: var(--muted); font-size: .85rem; white-space: normal; }
tr.muted td, tr.muted td strong { color: #8a939c; }
.grade { display: inline-block; padding: 0 .45em; border-radius: 3px; font-size: .8rem;
         white-space: nowrap; border: 1px solid var(--line); }
.g-reliable { background: #e3f1e6; border-color: #8cc79a; }
.g-indicative { background: #e8f0f8; border-color: #9cbfe0; }
.g-weak { background: #f6f1e7; color: #8a6d3b; }
.g-not-measured { background: #f2f2f2; color: #8a939c; }
ul.lead { font-size: 1.05rem; }
ul.lead li { margin: .25rem 0; }
.small { font-size: .85rem; color: var(--muted); }
.warnbox { border-left: 4px solid #e3a867; background: #fbf3e8; padding: .5rem .9rem; }
tr.warn td { background: #fbf3e8; }
@media print { main { max-width: none; } .passage { break-inside: avoid; } }
"""

_IMAGES_OK_JS = """
window.addEventListener("load", function () {
  var imgs = Array.prototype.slice.call(document.images);
  document.body.dataset.imagesOk = String(imgs.every(function (i) {
    return i.complete && i.naturalWidth > 0; }));
});
"""
_IMAGES_OK = f"<script>{_IMAGES_OK_JS}</script>"
#: Content-Security-Policy of the page: nothing from anywhere, except data: images, the inline
#: style sheet and style attributes (cue colours), and the page's own script (by its hash).
CSP = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'sha256-"
       + base64.b64encode(hashlib.sha256(_IMAGES_OK_JS.encode("utf-8")).digest()).decode("ascii")
       + "'; base-uri 'none'; form-action 'none'")


def build_report(scores: pd.DataFrame, *, model_card: dict, title: str, names: bool = False, model=None,
                 by: str = "author", freq: str = "M", min_passages: int = 5,
                 top_n: int = 3, pseudonym_key: str | bytes | None = None) -> str:
    """The HTML report of a score frame, as a string.

    Parameters
    ----------
    scores : DataFrame
        What :func:`kmlang.score` returns for an export (``text``, ``author``,
        ``doc_id``, ``timestamp`` and the score columns; missing ones leave
        their section out with a note).
    model_card : dict
        The model's card (``model.card_`` or :func:`kmlang.persist.read_card`):
        its name, versions, ``metrics`` and ``baselines_dev`` are shown.
    title : str
        Heading of the page.
    model : ShiftClassifier, model directory or None
        The model that scored ``scores``: its error rates correct the shares
        (default: the packaged model).
    names : bool
        Show author names; by default they are pseudonymised (:func:`pseudonym`),
        and so are the user names in document ids, titles and the ``by`` column.
    by : str
        Group column of the "groups at each end" table.
    freq : str
        Period of the trend (``"W"``, ``"M"``, ``"Q"``...).
    min_passages : int
        Groups (and trend periods) with fewer passages are left out.
    top_n : int
        Passages shown per shift and pole.
    pseudonym_key : str or bytes, optional
        Secret key of the pseudonyms (at least 16 bytes). By default a random
        key is made for this report and thrown away, so pseudonyms differ
        between reports; pass the same key to get the same pseudonyms.

    Returns
    -------
    str
        A complete HTML document: no external resources, plots as embedded PNG.
    """
    from kmlang._version import __version__

    if not isinstance(scores, pd.DataFrame):
        raise TypeError(f"scores must be a DataFrame from kmlang.score(), "
                        f"got {type(scores).__name__}")
    if not is_score_frame(scores):
        raise KeyError("scores lacks the score columns of kmlang.score() "
                       "(<shift>, <shift>_relevance, <shift>_label for each target)")
    from kmlang.model.scoring import resolve_model

    model = resolve_model(model)  # once: every section below uses it (a path would be loaded each time)
    card = dict(model_card or {})
    frame = scores.copy()
    stable = pseudonym_key is not None
    # every column the page shows a value of: author, doc id, title, the group column
    shown = [c for c in dict.fromkeys(("author", "doc_id", "title", by)) if c in frame.columns]
    if names:
        for col in shown:
            frame[col] = _map_values(frame[col], _clean_label)
    else:
        authors = frame["author"].dropna().unique() if "author" in frame.columns else ()
        pseud = _Pseudonymiser(pseudonym_key, authors)
        for col in shown:
            frame[col] = _map_values(frame[col], pseud.author if col == "author" else pseud.label)
    if "timestamp" in frame.columns:
        frame["timestamp"] = _parse_utc(frame["timestamp"])

    community = aggregate_with_shares(frame, by=None, min_passages=1, model=model)
    sections = [
        ("scored", "What was scored", _how_to_read(card) + _summary(frame, card, names)),
        ("shares", "How many passages take each stance",
         shares_section(frame, card, model, community=community)),
        ("profile", "Community profile", _profile_section(frame, card, community=community)),
        ("trend", "Trend", _trend_section(frame, freq, min_passages)),
        ("ends", "Groups at each end", _ends_section(frame, by, min_passages, names, card, model)),
        ("poles", "Passages furthest toward each pole", _poles_section(frame, top_n)),
        ("length", "Length check", length_section(frame, card)),
        ("methods", "Methods", _methods(names, min_passages, by, stable)),
        ("accuracy", "Accuracy of the model", _accuracy(card)),
    ]
    nav = "".join(f'<li><a href="#{sid}">{_esc(name)}</a></li>' for sid, name, _ in sections)
    body = "".join(f'<section id="{sid}"><h2>{_esc(name)}</h2>{content}</section>'
                   for sid, name, content in sections)
    made = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    shifts = ", ".join(f"{s.number}. {s.id}" for s in SHIFTS)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{_esc(CSP)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="kmlang {_esc(__version__)}">
<title>{_esc(_visible_text(title))}</title>
<style>{_CSS}</style>
</head>
<body>
<main>
<header>
<h1>{_esc(_visible_text(title))}</h1>
<p class="sub">Knowledge-culture report by kmlang {_esc(__version__)}, {made}. Each passage is
placed on eleven shifts from an individual pole (\u201cI know\u201d, \u22121) to a collective
pole (\u201cwe know\u201d, +1): {_esc(shifts)}.</p>
<nav><ol>{nav}</ol></nav>
</header>
{body}
<footer>Made with kmlang {_esc(__version__)}. This file is self-contained: it loads nothing
from the network.</footer>
</main>
{_IMAGES_OK}
</body>
</html>
"""


def report_file(input: str | os.PathLike, output: str | os.PathLike, format: str | None = None,
                names: bool = False, model=None, *, title: str | None = None, by: str = "author",
                freq: str = "M", min_passages: int = 5, pseudonym_key: str | bytes | None = None,
                **columns) -> Path:
    """Read ``input``, score it and write the report to ``output``; return ``output``.

    ``input`` is any export :func:`kmlang.read` knows (``format`` and the
    column mapping ``**columns`` are passed to it), or a scores file written
    by ``kmlang score`` (``.csv``/``.jsonl``/``.parquet`` with the score
    columns), which is used as is. ``model`` is a model directory, a fitted
    model or ``None`` (the default model); its card goes into the report.
    ``pseudonym_key`` is passed to :func:`build_report` (checked before scoring).
    """
    from kmlang.model.persist import read_card
    from kmlang.model.scoring import resolve_model

    if pseudonym_key is not None:
        _key_bytes(pseudonym_key)  # a bad key fails before the slow part
    source = Path(input)
    if format is None and not columns and _looks_like_scores_file(source):
        scores = read_scores(source)
        clf = resolve_model(model)
        if model is None or isinstance(model, (str, os.PathLike)):
            try:
                card = read_card(model)
            except (OSError, ValueError):
                card = {}
        else:
            card = dict(getattr(model, "card_", {}) or {})
    else:
        from kmlang.io.readers import read
        from kmlang.model.scoring import score

        clf = resolve_model(model)
        frame = read(source, format=format, **columns)
        scores = score(frame, model=clf)
        card = dict(getattr(clf, "card_", {}) or {})
    page = build_report(scores, model_card=card, title=title or f"kmlang report: {source.name}",
                        names=names, model=clf, by=by, freq=freq, min_passages=min_passages,
                        pseudonym_key=pseudonym_key)
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(output.name + ".tmp")
    tmp.write_text(page, encoding="utf-8")
    os.replace(tmp, output)
    return output

