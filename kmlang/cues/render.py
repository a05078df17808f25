"""HTML rendering of cue spans (the passage as written, cues highlighted)."""

from __future__ import annotations

from html import escape
from itertools import pairwise
from pathlib import Path

from spacy.language import Language
from spacy.tokens import Doc

from kmlang.cues._input import clean_text
from kmlang.cues.nlp import get_nlp

__all__ = ["render_cues", "CUE_COLORS"]

#: Colour per cue family (a colour-blind-safe palette: Okabe-Ito plus tints).
CUE_COLORS = {
    "first_person_singular": "#E69F0055",
    "first_person_plural": "#56B4E955",
    "second_person": "#99999955",
    "collective_referent": "#56B4E9AA",
    "my_knowledge": "#E69F00AA",
    "our_knowledge": "#0072B2AA",
    "i_know": "#D55E00AA",
    "we_know": "#0072B2CC",
    "not_knowing": "#009E73AA",
    "help_seeking": "#009E7377",
    "sharing": "#0072B288",
    "guarding": "#D55E0088",
    "openness": "#009E73CC",
    "authority": "#D55E00CC",
    "crediting": "#56B4E9CC",
    "reuse": "#F0E442CC",
    "not_invented_here": "#CC79A7CC",
    "learning": "#F0E44288",
}


_STYLE = """<style>
.kml-cues { white-space: pre-wrap; line-height: 2.1; font-family: inherit; }
.kml-cues mark.kml-cue { padding: 0.12em 0.04em; border-radius: 0.2em; color: inherit; }
.kml-cues .kml-label { font-size: 0.62em; font-weight: 600; letter-spacing: 0.02em; color: #333;
  vertical-align: sub; margin: 0 0.3em 0 0.1em; white-space: nowrap; }
</style>"""


def render_cues(text: str | Doc, *, nlp: str | Path | Language | None = None, page: bool = False) -> str:
    """Return HTML of the passage with its cues highlighted.

    The text is shown exactly as written (spacing and line breaks kept). Each
    cue is a ``<mark>`` coloured by family (:data:`CUE_COLORS`) and followed by
    its family name; where cues of different families overlap, the shorter
    one's colour fills, the longer one's underlines, and the ``title`` (shown
    on hover) names both; a cue inside a longer one is named in the title only.
    """
    if isinstance(text, Doc):
        doc = text
    else:
        cleaned, status = clean_text(text)
        if cleaned is None:
            raise ValueError(f"Cannot render cues: the text is {status.replace('_', ' ')}")
        doc = get_nlp(nlp)(cleaned)
    key = doc.user_data.get("kml_spans_key", "kml_cues")
    spans = [(sp.start_char, sp.end_char, sp.label_) for sp in doc.spans.get(key, ())]
    body = _highlight(doc.text, spans)
    html = f'{_STYLE}<div class="kml-cues">{body}</div>'
    if page:
        return f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>kmlang cues</title></head>' \
               f'<body style="font-family: sans-serif; max-width: 50em; margin: 2em auto">{html}</body></html>'
    return html


def _highlight(text: str, spans: list[tuple[int, int, str]]) -> str:
    cuts = sorted({0, len(text)} | {a for a, _, _ in spans} | {b for _, b, _ in spans})
    out = []
    for a, b in pairwise(cuts):
        seg = escape(text[a:b])
        active = [sp for sp in spans if sp[0] <= a and sp[1] >= b]
        if not active:
            out.append(seg)
            continue
        active.sort(key=lambda sp: sp[1] - sp[0])
        inner, outer = active[0], active[-1]
        style = f"background: {CUE_COLORS.get(inner[2], '#dddddd')}"
        if outer is not inner:
            style += f"; box-shadow: inset 0 -0.22em 0 {CUE_COLORS.get(outer[2], '#999999')}"
        title = ", ".join(dict.fromkeys(sp[2] for sp in active))
        out.append(f'<mark class="kml-cue" style="{style}" title="{escape(title)}">{seg}</mark>')
        for sp in active:  # a cue inside a longer one is named in the title only
            if sp[1] == b and not any(o is not sp and o[0] <= sp[0] and sp[1] <= o[1] for o in spans):
                out.append(f'<span class="kml-label">{escape(sp[2])}</span>')
    return "".join(out)
