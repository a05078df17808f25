"""displaCy rendering of cue spans."""

from __future__ import annotations

from pathlib import Path

from spacy import displacy
from spacy.language import Language
from spacy.tokens import Doc

from ._input import clean_text
from .nlp import get_nlp

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


def render_cues(text: str | Doc, *, nlp: str | Path | Language | None = None, page: bool = False) -> str:
    """Return displaCy span-style HTML with the cues of ``text`` highlighted."""
    if isinstance(text, Doc):
        doc = text
    else:
        cleaned, status = clean_text(text)
        if cleaned is None:
            raise ValueError(f"Cannot render cues: the text is {status.replace('_', ' ')}")
        doc = get_nlp(nlp)(cleaned)
    key = doc.user_data.get("kml_spans_key", "kml_cues")
    return displacy.render(doc, style="span", page=page, jupyter=False,
                           options={"spans_key": key, "colors": CUE_COLORS})
