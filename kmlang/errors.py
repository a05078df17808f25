"""Named exceptions. Each also inherits from the built-in a caller would expect."""

from __future__ import annotations

__all__ = [
    "KmlangError",
    "LexiconError",
    "ModelIntegrityError",
    "ModelVersionWarning",
    "ReaderError",
    "UnknownFormatError",
]


class KmlangError(Exception):
    """Base class of kmlang's own errors."""


class LexiconError(KmlangError, ValueError):
    """A cue lexicon is malformed: says which family or key and what was expected."""


class ModelIntegrityError(KmlangError, ValueError):
    """A model file does not match the sha256 manifest written by ``save_model``."""


class ModelVersionWarning(UserWarning):
    """A model was saved by another version of kmlang or scikit-learn."""


class ReaderError(KmlangError, ValueError):
    """An input file could not be read; the message names the file and the line or offset."""


class UnknownFormatError(ReaderError):
    """The input format could not be detected or is not supported."""
