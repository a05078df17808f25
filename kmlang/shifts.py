"""The eleven knowledge-culture shifts: the one source of truth for their ids and poles.

Loaded from ``kmlang/data/shifts.json`` (kmlang's copy of the annotation guide's
table). Everything else in the project imports :data:`SHIFTS`,
:data:`SHIFT_IDS`, :data:`TARGETS` or :data:`OVERALL` from here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib.resources import files
from types import MappingProxyType

__all__ = ["Shift", "SHIFTS", "SHIFT_IDS", "OVERALL", "TARGETS", "get_shift"]


@dataclass(frozen=True)
class Shift:
    """One axis, from the individual pole (label -1) to the collective pole (+1)."""

    id: str
    number: int
    individual: str
    collective: str
    description: str
    #: what a passage at each pole does, to complete "N% of passages ..." (e.g. "admit not knowing")
    individual_act: str = ""
    collective_act: str = ""

    def __str__(self) -> str:
        return f"{self.number}. {self.id}: {self.individual!r} -> {self.collective!r}"


def _load() -> tuple[tuple[Shift, ...], Shift]:
    raw = json.loads((files("kmlang") / "data" / "shifts.json").read_text(encoding="utf-8"))
    shifts = tuple(Shift(**s) for s in raw["shifts"])
    o = raw["overall"]
    overall = Shift(id=o["id"], number=0, individual=o["individual"],
                    collective=o["collective"], description=o["description"],
                    individual_act=o.get("individual_act", ""), collective_act=o.get("collective_act", ""))
    return shifts, overall


SHIFTS, OVERALL = _load()
#: Shift ids in guide order.
SHIFT_IDS: tuple[str, ...] = tuple(s.id for s in SHIFTS)
#: What the classifier predicts: the eleven shifts, then ``overall``.
TARGETS: tuple[str, ...] = SHIFT_IDS + ("overall",)
_BY_ID = MappingProxyType({s.id: s for s in SHIFTS + (OVERALL,)})


def get_shift(shift_id: str) -> Shift:
    """Return the :class:`Shift` (or ``overall``) with this id; ``KeyError`` names the valid ids."""
    try:
        return _BY_ID[shift_id]
    except KeyError:
        raise KeyError(f"Unknown shift {shift_id!r}; expected one of {', '.join(TARGETS)}") from None
