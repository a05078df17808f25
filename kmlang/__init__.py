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

from .component import CueComponent
from .cues import cues
from .errors import (
    KmlangError,
    LexiconError,
    ModelIntegrityError,
    ModelVersionWarning,
    ReaderError,
    UnknownFormatError,
)
from .lexicon import FAMILIES
from .nlp import load_nlp
from .render import render_cues
from .shifts import OVERALL, SHIFT_IDS, SHIFTS, TARGETS, Shift, get_shift

__version__ = "0.1.0"

# name -> module that defines it, imported lazily on first attribute access
_LAZY = {
    "ShiftClassifier": "kmlang.model",
    "CueFeaturizer": "kmlang.features",
    "score": "kmlang.scoring",
    "explain": "kmlang.explanation",
    "Explanation": "kmlang.explanation",
    "load_model": "kmlang.persist",
    "save_model": "kmlang.persist",
    "read": "kmlang.readers",
    "aggregate": "kmlang.aggregation",
    "trend": "kmlang.aggregation",
    "evaluate": "kmlang.evaluation",
    "load_labelled": "kmlang.labelled",
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


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'kmlang' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # pragma: no cover
    from .aggregation import aggregate as aggregate
    from .aggregation import trend as trend
    from .evaluation import evaluate as evaluate
    from .explanation import Explanation as Explanation
    from .explanation import explain as explain
    from .features import CueFeaturizer as CueFeaturizer
    from .labelled import load_labelled as load_labelled
    from .model import ShiftClassifier as ShiftClassifier
    from .persist import load_model as load_model
    from .persist import save_model as save_model
    from .readers import read as read
    from .scoring import score as score
