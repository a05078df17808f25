"""How far each shift's scores can be trusted: a grade from the model card's real-test figures.

The grade of a target comes from its pole-F1 on the model's held-out real test
passages (``card["metrics"]["test_real"]``) and the number of gold non-zero
labels behind that figure (``card["gold_labels"]["test_real"]``):

``reliable``      pole-F1 >= 0.60 on at least 50 gold labels
``indicative``    pole-F1 >= 0.35 on at least 20 gold labels
``weak``          measured on at least 20 gold labels, but pole-F1 below 0.35:
                  the model finds too few of the passages readers find
``not measured``  fewer than 20 gold labels: real text rarely expresses the shift,
                  so the model's skill on it is unknown

Two readers agree at about 0.9 pole-F1. Plots grey out shifts graded ``weak``
or ``not measured``, and a headline ("furthest from neutral", "most collective
author") only uses shifts graded at least ``indicative``, and a group only when
at least :data:`HEADLINE_MIN_PASSAGES` of its passages are labelled with a
pole of the shift and their relevance adds up to :data:`HEADLINE_MIN_WEIGHT`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from kmlang.shifts import TARGETS

__all__ = ["Grade", "GRADES", "grade", "grades", "usable_for_headline", "RELIABLE_F1", "INDICATIVE_F1",
           "MIN_GOLD_LABELS", "RELIABLE_GOLD_LABELS", "HEADLINE_MIN_PASSAGES", "HEADLINE_MIN_WEIGHT",
           "RULE"]

GRADES = ("reliable", "indicative", "weak", "not measured")
RELIABLE_F1 = 0.60
RELIABLE_GOLD_LABELS = 50
INDICATIVE_F1 = 0.35
MIN_GOLD_LABELS = 20
#: a headline about a group and shift needs this many of its passages labelled with a pole ...
HEADLINE_MIN_PASSAGES = 10
#: ... whose relevances add up to at least this
HEADLINE_MIN_WEIGHT = 5.0

RULE = (f"reliable: pole-F1 >= {RELIABLE_F1:.2f} on real test passages with at least "
        f"{RELIABLE_GOLD_LABELS} gold labels; indicative: pole-F1 >= {INDICATIVE_F1:.2f} with at least "
        f"{MIN_GOLD_LABELS}; weak: below that; not measured: fewer than {MIN_GOLD_LABELS} gold labels")


@dataclass(frozen=True)
class Grade:
    """A target's grade, the figures behind it and one sentence saying why."""

    target: str
    grade: str
    pole_f1: float | None
    n_gold: int

    @property
    def usable(self) -> bool:
        """At least ``indicative``: may carry a headline."""
        return self.grade in ("reliable", "indicative")

    @property
    def reason(self) -> str:
        if self.grade == "not measured":
            return (f"{self.n_gold} gold labels on the real test passages (fewer than {MIN_GOLD_LABELS}): "
                    f"real text rarely expresses this shift, so the model's skill on it is unknown")
        f1 = f"pole-F1 {self.pole_f1:.2f} on {self.n_gold} gold labels of real test passages"
        if self.grade == "weak":
            return f"{f1}: the model finds too few of the passages readers find"
        return f1


def grade(card: Mapping | None, target: str) -> Grade:
    """The :class:`Grade` of ``target`` from a model card (``model.card_`` or ``read_card``)."""
    metrics = ((card or {}).get("metrics") or {}).get("test_real") or {}
    gold = ((card or {}).get("gold_labels") or {}).get("test_real") or {}
    f1 = metrics.get(target)
    n = int(gold.get(target) or 0)
    if f1 is None or n < MIN_GOLD_LABELS:
        return Grade(target, "not measured", None if f1 is None else float(f1), n)
    f1 = float(f1)
    if f1 >= RELIABLE_F1 and n >= RELIABLE_GOLD_LABELS:
        g = "reliable"
    elif f1 >= INDICATIVE_F1:
        g = "indicative"
    else:
        g = "weak"
    return Grade(target, g, f1, n)


def grades(card: Mapping | None, targets=TARGETS) -> dict[str, Grade]:
    """``{target: Grade}`` for every target."""
    return {t: grade(card, t) for t in targets}


def usable_for_headline(n_labelled: float, weight: float) -> bool:
    """Whether a group's passages can carry a headline about a shift (see the module docstring)."""
    return n_labelled >= HEADLINE_MIN_PASSAGES and weight >= HEADLINE_MIN_WEIGHT
