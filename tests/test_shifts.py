import dataclasses

import pytest

import kmlang
from kmlang.shifts import get_shift

GUIDE_ORDER = ["knowing", "ownership", "sharing", "property", "advantage", "relation",
               "openness", "invention", "novelty", "peers", "not_knowing"]


def test_ids_and_order_match_the_guide():
    assert list(kmlang.SHIFT_IDS) == GUIDE_ORDER
    assert [s.number for s in kmlang.SHIFTS] == list(range(1, 12))
    assert kmlang.TARGETS[-1] == "overall"


def test_shifts_are_immutable():
    assert isinstance(kmlang.SHIFTS, tuple)
    with pytest.raises(dataclasses.FrozenInstanceError):
        kmlang.SHIFTS[0].id = "x"


def test_poles_and_descriptions():
    s = get_shift("not_knowing")
    assert s.individual == "Admitting I don't know is weakness"
    assert s.collective == "Admitting I don't know is the first step to learning"
    assert all(x.description for x in kmlang.SHIFTS)
    assert get_shift("knowing").individual == "I know"


def test_unknown_shift_names_valid_ids():
    with pytest.raises(KeyError, match="knowing"):
        get_shift("nope")


def test_guide_table_matches_when_shared_present(shared):
    guide = (shared / "ANNOTATION.md").read_text(encoding="utf-8")
    for s in kmlang.SHIFTS:
        assert f"`{s.id}`" in guide
        assert s.individual.split(" (")[0] in guide
