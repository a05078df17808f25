"""Stage 2, the model: features, the classifier, persistence, scoring, training,
evaluation, explanation, active learning and the labelled data.

Imports downward only (:mod:`kmlang.cues`, :mod:`kmlang.shifts`, :mod:`kmlang.errors`).
The two classifier classes are re-exported here so that models pickled before
the move (class path ``kmlang.model.ShiftClassifier``) still load.
"""

from kmlang.model.classifier import PolarityClassifier, ShiftClassifier

__all__ = ["PolarityClassifier", "ShiftClassifier"]
