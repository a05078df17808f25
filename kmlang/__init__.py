"""kmlang: is a community's language "I know" or "we know"?

Scores passages from forums, wikis, Q&A sites and mailing lists on the eleven
knowledge-culture shifts (see :data:`kmlang.SHIFTS`), shows the cues that
drove each score, and rolls scores up by author, document and period.

Heavy parts (the classifier, readers, plots) are imported on first use, so
``import kmlang`` and the spaCy entry point stay light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from kmlang._version import __version__
from kmlang.cues.component import CueComponent
from kmlang.cues.frame import cues
from kmlang.cues.lexicon import FAMILIES
from kmlang.cues.nlp import load_nlp
from kmlang.cues.render import render_cues
from kmlang.errors import (
    KmlangError,
    LexiconError,
    ModelIntegrityError,
    ModelVersionWarning,
    ReaderError,
    UnknownFormatError,
)
from kmlang.shifts import OVERALL, SHIFT_IDS, SHIFTS, TARGETS, Shift, get_shift

# name -> module that defines it, imported lazily on first attribute access
_LAZY = {
    "ShiftClassifier": "kmlang.model.classifier",
    "CueFeaturizer": "kmlang.model.features",
    "score": "kmlang.model.scoring",
    "explain": "kmlang.model.explanation",
    "Explanation": "kmlang.model.explanation",
    "load_model": "kmlang.model.persist",
    "save_model": "kmlang.model.persist",
    "read": "kmlang.io.readers",
    "aggregate": "kmlang.analysis.aggregation",
    "trend": "kmlang.analysis.trend",
    "Trend": "kmlang.analysis.trend",
    "changepoints": "kmlang.analysis.changepoints",
    "evaluate": "kmlang.model.evaluation",
    "load_labelled": "kmlang.model.labelled",
}

__all__ = [
    "CueComponent",
    "FAMILIES",
    "KmlangError",
    "LexiconError",
    "ModelIntegrityError",
    "ModelVersionWarning",
    "OVERALL",
    "ReaderError",
    "SHIFTS",
    "SHIFT_IDS",
    "Shift",
    "TARGETS",
    "UnknownFormatError",
    "__version__",
    "cues",
    "get_shift",
    "load_nlp",
    "render_cues",
    *_LAZY,
]


# public sub-modules kept at their old spelling (``from kmlang import plot``)
_MODULES = {"plot": "kmlang.analysis.plot", "readers": "kmlang.io.readers"}


def __getattr__(name: str):
    if name in _MODULES:
        value = importlib.import_module(_MODULES[name])
        globals()[name] = value
        return value
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'kmlang' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # pragma: no cover
    from kmlang.analysis.aggregation import aggregate as aggregate
    from kmlang.analysis.changepoints import changepoints as changepoints
    from kmlang.analysis.trend import Trend as Trend
    from kmlang.analysis.trend import trend as trend
    from kmlang.io.readers import read as read
    from kmlang.model.classifier import ShiftClassifier as ShiftClassifier
    from kmlang.model.evaluation import evaluate as evaluate
    from kmlang.model.explanation import Explanation as Explanation
    from kmlang.model.explanation import explain as explain
    from kmlang.model.features import CueFeaturizer as CueFeaturizer
    from kmlang.model.labelled import load_labelled as load_labelled
    from kmlang.model.persist import load_model as load_model
    from kmlang.model.persist import save_model as save_model
    from kmlang.model.scoring import score as score
