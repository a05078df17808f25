"""kmlang.model.reliability: a grade per shift from the model card's real-test figures."""

from __future__ import annotations

from kmlang.model.reliability import (
    GRADES,
    HEADLINE_MIN_PASSAGES,
    HEADLINE_MIN_WEIGHT,
    grade,
    grades,
    usable_for_headline,
)
from kmlang.shifts import TARGETS


def _card(f1: dict, gold: dict) -> dict:
    return {"metrics": {"test_real": f1}, "gold_labels": {"test_real": gold}}


def test_grades_follow_the_stated_thresholds():
    card = _card({"peers": 0.7, "openness": 0.61, "knowing": 0.4, "sharing": 0.2, "relation": 0.9},
                 {"peers": 80, "openness": 30, "knowing": 25, "sharing": 60, "relation": 12})
    g = grades(card)
    assert g["peers"].grade == "reliable"
    assert g["openness"].grade == "indicative"  # good F1 but fewer than 50 gold labels
    assert g["knowing"].grade == "indicative"
    assert g["sharing"].grade == "weak"
    assert g["relation"].grade == "not measured"  # fewer than 20 gold labels, whatever the F1
    assert g["advantage"].grade == "not measured"  # no figure at all
    assert [t for t in TARGETS if g[t].usable] == ["knowing", "openness", "peers"]
    assert set(x.grade for x in g.values()) <= set(GRADES)


def test_every_grade_says_why():
    card = _card({"sharing": 0.2}, {"sharing": 60, "relation": 3})
    assert "finds too few" in grade(card, "sharing").reason
    assert "3 gold labels" in grade(card, "relation").reason


def test_a_card_without_real_test_figures_grades_nothing_usable():
    assert not any(g.usable for g in grades({}).values())
    assert not any(g.usable for g in grades(None).values())


def test_headline_rule_needs_passages_and_weight():
    assert usable_for_headline(HEADLINE_MIN_PASSAGES, HEADLINE_MIN_WEIGHT)
    assert not usable_for_headline(HEADLINE_MIN_PASSAGES - 1, 100)
    assert not usable_for_headline(100, HEADLINE_MIN_WEIGHT - 0.1)


def test_the_default_models_grades_come_from_its_card(model):
    g = grades(model.card_)
    assert g["overall"].n_gold == model.card_["gold_labels"]["test_real"]["overall"]
    assert g["ownership"].grade == "not measured"
    assert g["overall"].usable
