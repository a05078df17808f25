"""``kmlang.explain``: which cues and n-grams pushed each score, and where they are in the text.

The model is linear in its features (see :meth:`PolarityClassifier.effective_coef`),
so the position's log-odds, ``logit(+1) - logit(-1)``, splits exactly into one
contribution per feature: ``x_j * (coef[+1, j] - coef[-1, j])``, plus a constant.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from spacy.language import Language
from spacy.tokens import Doc

from kmlang.cues._input import clean_text
from kmlang.cues.component import QUOTES_KEY
from kmlang.cues.nlp import get_nlp
from kmlang.model.scoring import resolve_model
from kmlang.shifts import TARGETS, get_shift

__all__ = ["explain", "Explanation", "Contribution", "TargetExplanation"]


@dataclass(frozen=True)
class Contribution:
    """One feature's push on a target: > 0 toward the collective pole, < 0 toward the individual."""

    feature: str
    kind: str  # "ngram", "sentence_ngram", "cue", "cue_rate" or "length"
    value: float
    weight: float
    spans: tuple[tuple[int, int, str], ...] = ()  # (start_char, end_char, text)

    @property
    def name(self) -> str:
        return self.feature.split(":", 1)[-1]


@dataclass
class TargetExplanation:
    target: str
    position: float
    relevance: float
    label: int
    proba: tuple[float, float, float]
    contributions: list[Contribution] = field(default_factory=list)

    def top(self, n: int = 5, direction: int | None = None) -> list[Contribution]:
        items = self.contributions
        if direction is not None:
            items = [c for c in items if np.sign(c.weight) == direction]
        return sorted(items, key=lambda c: -abs(c.weight))[:n]


@dataclass
class Explanation:
    """Scores of one passage with the features behind them. ``str()`` is a readable summary."""

    text: str
    targets: dict[str, TargetExplanation]
    doc: Doc | None = field(default=None, repr=False)

    def __getitem__(self, target: str) -> TargetExplanation:
        return self.targets[target]

    def to_frame(self):
        import pandas as pd

        rows = [{"target": t, "feature": c.feature, "kind": c.kind, "value": c.value, "weight": c.weight,
                 "spans": [s[2] for s in c.spans]}
                for t, te in self.targets.items() for c in te.contributions]
        return pd.DataFrame(rows, columns=["target", "feature", "kind", "value", "weight", "spans"])

    def __str__(self) -> str:
        lines = [f"Passage: {self.text[:200]!r}{'...' if len(self.text) > 200 else ''}"]
        for t, te in self.targets.items():
            s = get_shift(t)
            flag = {-1: "individual", 0: "neutral", 1: "collective"}[te.label]
            lines.append(f"{t:12s} position {te.position:+.2f}  relevance {te.relevance:.2f}  label {te.label:+d} "
                         f"({flag}: {s.collective if te.label > 0 else s.individual if te.label < 0 else '-'})")
            if te.label != 0 or te.relevance >= 0.3:
                for c in te.top(4):
                    arrow = "->we" if c.weight > 0 else "->I "
                    where = f" at {', '.join(repr(x[2]) for x in c.spans[:3])}" if c.spans else ""
                    lines.append(f"    {arrow} {c.weight:+.2f}  {c.feature}{where}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return self.to_html()

    def to_html(self) -> str:
        """The passage with cues highlighted (`kmlang.render_cues`) and a table of the strongest contributions."""
        from kmlang.cues.render import render_cues

        parts = [render_cues(self.doc) if self.doc is not None else f"<p>{html.escape(self.text)}</p>"]
        parts.append("<table><tr><th>target</th><th>position</th><th>relevance</th><th>label</th>"
                     "<th>strongest features (+ toward 'we', - toward 'I')</th></tr>")
        for t, te in self.targets.items():
            feats = "; ".join(f"{html.escape(c.feature)} {c.weight:+.2f}" for c in te.top(4))
            parts.append(f"<tr><td>{t}</td><td>{te.position:+.2f}</td><td>{te.relevance:.2f}</td>"
                         f"<td>{te.label:+d}</td><td>{feats}</td></tr>")
        parts.append("</table>")
        return "\n".join(parts)


def _ngram_spans(doc: Doc, gram: str) -> tuple[tuple[int, int, str], ...]:
    words = gram.split(" ")
    n = len(words)
    quoted = set()
    for sp in doc.spans.get(QUOTES_KEY, ()):
        quoted.update(range(sp.start, sp.end))
    toks = [t for t in doc if not t.is_space and t.i not in quoted]
    forms = ["<url>" if t.like_url else "<num>" if t.like_num else t.norm_ for t in toks]
    out = []
    for i in range(len(toks) - n + 1):
        if forms[i : i + n] == words:
            a, b = toks[i].idx, toks[i + n - 1].idx + len(toks[i + n - 1])
            out.append((a, b, doc.text[a:b]))
    return tuple(out)


def explain(text: str, *, model=None, nlp: str | Path | Language | None = None,
            targets=TARGETS, min_weight: float = 0.01) -> Explanation:
    """Explain the scores of one passage.

    Returns an :class:`Explanation`: for each target the position, relevance,
    label and probabilities, and every feature whose contribution to the
    position's log-odds is at least ``min_weight`` in size, with the character
    spans where it occurs (cue spans from ``doc.spans["kml_cues"]``, n-gram
    matches on the author's tokens).
    """
    cleaned, status = clean_text(text)
    if cleaned is None:
        raise ValueError(f"Cannot explain this passage: it is {status.replace('_', ' ')}")
    clf = resolve_model(model)
    pipeline = get_nlp(nlp if nlp is not None else clf.featurizer_.nlp)
    # one analysis gives both the cue spans shown and the features scored
    doc = pipeline(cleaned, disable=["kmlang_cues"])
    comp = pipeline.get_pipe("kmlang_cues")
    analysis = comp.analyse([doc])
    comp._set_spans([doc], analysis)
    x = clf.featurizer_.transform_analysis(analysis)
    names = clf.featurizer_.get_feature_names_out()
    proba = clf.predict_proba_features(x)
    labels = clf.decide(proba)
    row = x.tocsr()
    nz = row.indices
    vals = row.data
    cue_spans: dict[str, list] = {}
    for sp in doc.spans.get(doc.user_data.get("kml_spans_key", "kml_cues"), ()):
        cue_spans.setdefault(sp.label_, []).append((sp.start_char, sp.end_char, sp.text))
    out = {}
    for t in targets:
        est = clf.estimators_[t]
        p = proba[t][0]
        te = TargetExplanation(target=t, position=float(p[2] - p[0]), relevance=float(1 - p[1]),
                               label=int(labels[t][0]), proba=(float(p[0]), float(p[1]), float(p[2])))
        if est.base_ is not None:
            coef, _ = est.effective_coef()
            cls = list(est.classes_)
            hi = coef[cls.index(1)] if 1 in cls else np.zeros(coef.shape[1])
            lo = coef[cls.index(-1)] if -1 in cls else np.zeros(coef.shape[1])
            diff = hi - lo
            for j, v in zip(nz, vals, strict=True):
                w = float(v * diff[j])
                if abs(w) < min_weight:
                    continue
                feat = str(names[j])
                kind, _, key = feat.partition(":")
                if kind in ("ngram", "sentence_ngram"):
                    spans = _ngram_spans(doc, key)
                elif kind in ("cue", "cue_rate"):
                    spans = tuple(cue_spans.get(key, ()))
                else:
                    kind, spans = "length", ()
                te.contributions.append(Contribution(feat, kind, float(v), w, spans))
            te.contributions.sort(key=lambda c: -abs(c.weight))
        out[t] = te
    return Explanation(text=cleaned, targets=out, doc=doc)
