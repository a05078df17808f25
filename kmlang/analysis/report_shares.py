"""The report's lead (shares of passages per stance, with grades) and its length check.

Kept apart from :mod:`kmlang.analysis.report`, which assembles the page: these
sections need the model (for the error rates that correct the shares) and the
model card (for the grades of :mod:`kmlang.model.reliability`).
"""

from __future__ import annotations

import html
from collections.abc import Mapping

import numpy as np
import pandas as pd

from kmlang.model.reliability import RULE, Grade, grades
from kmlang.shifts import SHIFT_IDS, get_shift

__all__ = ["shares_section", "length_section", "scored_rows", "aggregate_with_shares", "share_sentence",
           "headline_targets",
           "LENGTH_WARN_RHO"]

#: |Spearman rho| of position and passage length from which the report warns
LENGTH_WARN_RHO = 0.25
#: a share goes into the report's lead only when its 95% interval is at most this wide
MAX_LEAD_WIDTH = 0.20
_ORDER = ("overall",) + SHIFT_IDS


def _esc(value) -> str:
    """HTML-escaped text of ``value`` (quotes too; ``None`` is empty): the report's one escaper."""
    return html.escape("" if value is None else str(value), quote=True)


def _pct(v) -> str:
    if v is None or not np.isfinite(v):
        return "\u2013"
    p = 100 * v
    return f"{p:.1f}" if 0 < p < 1 else f"{p:.0f}"


def share_sentence(row: Mapping, target: str, pole: str) -> str | None:
    """"about 17% [13, 21] of passages admit not knowing", or ``None`` without an estimate."""
    est = row.get(f"share_{target}_{pole}")
    if est is None or not np.isfinite(est):
        return None
    s = get_shift(target)
    act = s.collective_act if pole == "pos" else s.individual_act
    lo, hi = row.get(f"share_{target}_{pole}_lo"), row.get(f"share_{target}_{pole}_hi")
    return f"about {_pct(est)}% [{_pct(lo)}, {_pct(hi)}] of passages {act}"


def headline_targets(card: Mapping | None) -> list[str]:
    """Targets graded at least indicative: the only ones a headline may use."""
    return [t for t, g in grades(card).items() if g.usable]


def _grade_badge(g: Grade) -> str:
    return (f'<span class="grade g-{g.grade.replace(" ", "-")}" title="{_esc(g.reason)}">'
            f"{_esc(g.grade)}</span>")


def aggregate_with_shares(scores: pd.DataFrame, *, model=None, **kwargs) -> pd.DataFrame:
    """:func:`kmlang.aggregate` with the shares' intervals allowing for a community unlike the
    labelled ones (``share_communities=True``), or without that when the model's error
    sample does not name communities."""
    from kmlang.analysis.aggregation import aggregate
    from kmlang.model.quantify import has_communities
    from kmlang.model.scoring import resolve_model

    model = resolve_model(model)
    return aggregate(scores, model=model, share_communities=has_communities(model), **kwargs)


def shares_section(scores: pd.DataFrame, card: Mapping | None, model=None,
                   community: pd.DataFrame | None = None) -> str:
    """Share of passages expressing each pole, corrected for the model's error, with grades.

    ``community``: the whole community's :func:`aggregate_with_shares` row, when the caller
    already has it (the report computes it once for this section and the profile)."""
    if community is None:
        community = aggregate_with_shares(scores, by=None, min_passages=1, model=model)
    if community.empty:
        return '<p class="note">No passage was scored as English text, so there are no shares.</p>'
    if not any(c.startswith("share_") for c in community.columns):
        return ('<p class="note">The model has no error sample (held-out passages with its '
                "error rates), so shares corrected for its error cannot be given; retrain it with "
                "<code>kmlang train</code>.</p>")
    row = community.iloc[0]
    n = int(row["n_passages"])
    g = grades(card)
    lead = []
    for t in _ORDER:
        if not g[t].usable:
            continue
        for pole in ("pos", "neg"):
            est = row.get(f"share_{t}_{pole}")
            text = share_sentence(row, t, pole)
            width = row.get(f"share_{t}_{pole}_hi", np.nan) - row.get(f"share_{t}_{pole}_lo", np.nan)
            if text and est >= 0.005 and width <= MAX_LEAD_WIDTH:
                lead.append((est, t, text))
    lead.sort(key=lambda x: -x[0])
    items = "".join(f"<li>{_esc(text[0].upper() + text[1:])} <span class=\"n\">({_esc(t)})</span>.</li>"
                    for _, t, text in lead)
    lead_html = (f'<ul class="lead">{items}</ul>' if items else
                 '<p class="note">No share of a shift graded at least indicative is both 0.5% or '
                 f"more and known to within {100 * MAX_LEAD_WIDTH:.0f} points (95% interval) in "
                 "these passages; the table gives every estimate.</p>")

    body = []
    for t in _ORDER:
        gr = g[t]
        s = get_shift(t)
        name = f"{s.number}. {t}" if s.number else "overall"
        cls = "" if gr.usable else ' class="muted"'
        if gr.grade == "not measured":
            cells = f'<td colspan="2" class="why">Not shown: {_esc(gr.reason)}.</td>'
        else:
            cells = ""
            for pole in ("pos", "neg"):
                counted = _counted(scores, t, 1 if pole == "pos" else -1)
                count_html = f'<br><span class="n">counted {_pct(counted)}%</span>'
                est = row.get(f"share_{t}_{pole}")
                if est is None or not np.isfinite(est):
                    cells += ('<td class="num" title="too few labelled real passages of this pole, or '
                              'the model barely separates them, to correct the count">not estimated'
                              f"{count_html}</td>")
                elif row[f"share_{t}_{pole}_hi"] < 0.005:
                    cells += f'<td class="num">under 0.5%{count_html}</td>'
                else:
                    cells += (f'<td class="num"><strong>{_pct(est)}%</strong> '
                              f'<span class="ci">[{_pct(row[f"share_{t}_{pole}_lo"])}, '
                              f'{_pct(row[f"share_{t}_{pole}_hi"])}]</span>{count_html}</td>')
        body.append(f"<tr{cls}><td>{_esc(name)}<br><span class=\"poles\">"
                    f"+1 {_esc(s.collective_act)} \u00b7 \u22121 {_esc(s.individual_act)}</span></td>"
                    f"<td>{_grade_badge(gr)}</td>{cells}</tr>")
    head = ("<tr><th>shift</th><th>grade</th><th class=\"num\">share at +1 (collective)</th>"
            "<th class=\"num\">share at \u22121 (individual)</th></tr>")
    table = (f'<div class="scroll"><table class="data shares"><thead>{head}</thead>'
             f'<tbody>{"".join(body)}</tbody></table></div>')
    method = _esc(community.attrs.get("share_method", "pacc"))
    return (f"<p>Of the {n:,} passages scored, as estimated from the model\u2019s reading and "
            "corrected for its known error rates, with 95% intervals (shifts graded at least "
            "<em>indicative</em>):</p>" + lead_html + table
            + "<p class=\"small\">How the shares are made: the mean probability the model gives a pole "
              "over the passages is corrected for how much probability it gives that pole on "
              "passages that express it and on passages that do not (probabilistic adjusted "
              f"classify and count, <code>{method}</code>), both measured on labelled real passages "
              f"drawn at random from {_n_communities(card)} that the model was not fitted on. The "
              "intervals include the sampling of these passages, the uncertainty of those error "
              "rates and how much the error rates vary from one labelled community to another, "
              f"because they do{_measured_text(card, model)}. So a wide "
              "interval here is the honest answer: the model cannot tell this community\u2019s "
              "share more closely. Where the corrected and the counted share disagree, read both "
              "as rough. Grades: "
              + _esc(RULE) + ". Greyed rows are not used in any headline.</p>")


def _range(lo_hi) -> str:
    lo, hi = lo_hi
    return f"{lo}%" if lo == hi else f"{lo}\u2013{hi}%"


def _measured_text(card: Mapping | None, model=None) -> str:
    """What was measured about the error rates' spread for this model: the communities' mean
    ``overall +1`` probability in its error sample, and the held-out coverage that
    ``benchmarks/quantification.py --write`` stored in its card (empty when neither is known)."""
    from kmlang.model.quantify import benchmark_summary, community_means
    from kmlang.model.scoring import resolve_model

    parts = []
    means = community_means(resolve_model(model))
    if len(means) > 1:
        top = max(means, key=means.get)
        rest = [v for k, v in means.items() if k != top]
        spread = f"{min(rest):.2f}" if min(rest) == max(rest) else f"{min(rest):.2f}\u2013{max(rest):.2f}"
        parts.append(f"overall +1 got a mean probability of {means[top]:.2f} on the passages of "
                     f"{_esc(top)} in the model\u2019s error sample and {spread} on those of the "
                     "other communities")
    bench = benchmark_summary(card)
    if bench and bench.get("held_out_communities") and bench["held_out_communities"]["coverage"]:
        held, plain = bench["held_out_communities"], bench["held_out"]
        text = ("with one labelled community held out at a time, these intervals covered the true "
                f"share {_range(held['coverage'])} of the time")
        worse = sum(e > c for e, c in zip(plain["error"], plain["cc_error"], strict=True)
                    if e is not None and c is not None)
        if worse:
            text += (f", and at {worse} of the {len(plain['error'])} true shares tried the corrected "
                     "share was further from it than the plain count of the model\u2019s labels "
                     "(\u201ccounted\u201d, under each estimate)")
        if plain["coverage"]:
            text += (f"; intervals without the between-community part covered it only "
                     f"{_range(plain['coverage'])} of the time")
        parts.append(text + ", <code>benchmarks/quantification.py</code>")
    return f" (measured for this model: {'; '.join(parts)})" if parts else ""


def _n_communities(card: Mapping | None) -> str:
    n = len(((card or {}).get("error_sample") or {}).get("communities") or {})
    words = {1: "one community", 2: "two communities", 3: "three communities", 4: "four communities",
             5: "five communities", 6: "six communities"}
    return words.get(n, f"{n} communities" if n else "the labelled communities")


def scored_rows(scores: pd.DataFrame) -> pd.DataFrame:
    """The rows that count in the figures: those whose status is one of ``DEFAULT_STATUSES``."""
    from kmlang.analysis.aggregation import DEFAULT_STATUSES

    if "status" not in scores.columns:
        return scores
    return scores[scores["status"].isin(DEFAULT_STATUSES)]


def _counted(scores: pd.DataFrame, t: str, pole: int) -> float:
    """Share of the scored passages the model labels with ``pole`` (plain counting)."""
    frame = scored_rows(scores)
    lab = pd.to_numeric(frame[f"{t}_label"], errors="coerce")
    lab = lab[lab.notna()]
    return float((lab == pole).mean()) if len(lab) else float("nan")


def _spearman(x: np.ndarray, y: np.ndarray) -> float:
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 10:
        return float("nan")
    rx = pd.Series(x[ok]).rank().to_numpy()
    ry = pd.Series(y[ok]).rank().to_numpy()
    if rx.std() == 0 or ry.std() == 0:
        return float("nan")
    return float(np.corrcoef(rx, ry)[0, 1])


def length_section(scores: pd.DataFrame, card: Mapping | None) -> str:
    """Does the position move with passage length? Spearman rho and means by length third."""
    if "n_tokens" not in scores.columns:
        return '<p class="note">The passages have no token counts, so length cannot be checked.</p>'
    frame = scored_rows(scores)
    tokens = pd.to_numeric(frame["n_tokens"], errors="coerce").to_numpy(dtype=float)
    if np.isfinite(tokens).sum() < 30:
        return '<p class="note">Fewer than 30 scored passages: too few to check length.</p>'
    thirds = pd.qcut(pd.Series(tokens).rank(method="first"), 3, labels=False).to_numpy()
    g = grades(card)
    rows, warn = [], []
    for t in _ORDER:
        if g[t].grade == "not measured":
            continue
        x = pd.to_numeric(frame[t], errors="coerce").to_numpy(dtype=float)
        rho = _spearman(x, tokens)
        means = [np.nanmean(x[thirds == k]) if (thirds == k).any() else np.nan for k in range(3)]
        strong = np.isfinite(rho) and abs(rho) >= LENGTH_WARN_RHO
        if strong:
            warn.append(t)
        cells = "".join(f'<td class="num">{m:+.2f}</td>' for m in means)
        tr_open = '<tr class="warn">' if strong else "<tr>"
        rows.append(f"{tr_open}<td>{_esc(t)}</td>"
                    f'<td class="num">{rho:+.2f}</td>{cells}</tr>')
    lo, hi = np.nanpercentile(tokens, [33.3, 66.7])
    head = ("<tr><th>shift</th><th class=\"num\">rho(position, tokens)</th>"
            f"<th class=\"num\">shortest third (&lt; {lo:.0f} tokens)</th><th class=\"num\">middle third</th>"
            f"<th class=\"num\">longest third (&gt; {hi:.0f})</th></tr>")
    verdict = (f'<p class="warnbox"><strong>Warning:</strong> the position moves with passage length '
               f"on {_esc(', '.join(warn))} (|rho| \u2265 {LENGTH_WARN_RHO}): longer passages have "
               "more room to take a stance, but part of this may be the model reading length "
               "rather than language. Compare groups whose passages differ in length with care.</p>"
               if warn else
               f"<p>No shift\u2019s position moves strongly with passage length here (every |rho| "
               f"&lt; {LENGTH_WARN_RHO}), so groups that write longer or shorter passages can be "
               "compared on position.</p>")
    return ("<p>Whether a passage\u2019s position follows its length rather than its language: the "
            "rank correlation (Spearman) of position and number of tokens over the scored passages, "
            "and the mean position of the shortest, middle and longest third.</p>" + verdict
            + f'<div class="scroll"><table class="data"><thead>{head}</thead>'
              f'<tbody>{"".join(rows)}</tbody></table></div>')
