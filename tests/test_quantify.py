"""kmlang.model.quantify: shares corrected for the classifier's error, and their intervals."""

from __future__ import annotations

import numpy as np
import pytest

from kmlang.model.quantify import MIN_GOLD, ErrorModel, error_model


def _synthetic_error_model(n=3000, prevalence=0.2, tpr=0.6, fpr=0.05, seed=0, targets=("t",)):
    """Gold labels at ``prevalence`` of +1 and a classifier with the given label rates,
    whose probability of +1 is 0.8 when it labels +1 and 0.1 otherwise."""
    rng = np.random.default_rng(seed)
    gold = (rng.random((n, len(targets))) < prevalence).astype(int)
    fires = np.where(gold == 1, rng.random(gold.shape) < tpr, rng.random(gold.shape) < fpr)
    p_pos = np.where(fires, 0.8, 0.1)
    proba = np.stack([np.zeros_like(p_pos), 1 - p_pos, p_pos], axis=-1)
    return ErrorModel(gold, proba, fires.astype(int), targets, n_boot=400)


def _sample(prevalence, n, tpr=0.6, fpr=0.05, seed=1):
    rng = np.random.default_rng(seed)
    gold = rng.random(n) < prevalence
    fires = np.where(gold, rng.random(n) < tpr, rng.random(n) < fpr)
    return fires.astype(float), np.where(fires, 0.8, 0.1)


def test_rates_are_the_classifiers_label_rates():
    em = _synthetic_error_model()
    r = em.rates("t", 1, "acc")
    assert r.tpr == pytest.approx(0.6, abs=0.05)
    assert r.fpr == pytest.approx(0.05, abs=0.02)
    assert r.usable and r.n_gold > 500
    assert r.tpr_boot.shape == (400,) and r.tpr_boot.std() > 0


@pytest.mark.parametrize("prevalence", [0.02, 0.1, 0.3])
def test_adjusted_shares_are_closer_to_the_truth_than_counting(prevalence):
    em = _synthetic_error_model()
    labels, probs = _sample(prevalence, 4000)
    n = len(labels)
    cc = em.estimate("t", 1, labels.mean(), labels.std() / np.sqrt(n), "cc", n=n)[0][0]
    acc = em.estimate("t", 1, labels.mean(), labels.std() / np.sqrt(n), "acc", n=n)[0][0]
    pacc = em.estimate("t", 1, probs.mean(), probs.std() / np.sqrt(n), "pacc", n=n)[0][0]
    assert abs(acc - prevalence) < abs(cc - prevalence)
    assert abs(pacc - prevalence) < abs(cc - prevalence)
    assert abs(acc - prevalence) < 0.03


def test_intervals_hold_the_estimate_and_shrink_with_more_passages():
    em = _synthetic_error_model()
    widths = []
    for n in (100, 2000):
        labels, _ = _sample(0.1, n)
        est, lo, hi = em.estimate("t", 1, labels.mean(), labels.std() / np.sqrt(n), "acc", n=n)
        assert lo[0] <= est[0] <= hi[0]
        assert 0 <= lo[0] and hi[0] <= 1
        widths.append(hi[0] - lo[0])
    assert widths[1] < widths[0]


def test_intervals_cover_the_truth_at_about_their_nominal_rate():
    em = _synthetic_error_model(n=6000)
    covered = []
    for seed in range(60):
        labels, _ = _sample(0.1, 500, seed=100 + seed)
        _, lo, hi = em.estimate("t", 1, labels.mean(), labels.std() / np.sqrt(500), "acc", n=500)
        covered.append(lo[0] <= 0.1 <= hi[0])
    assert np.mean(covered) >= 0.85


def test_a_group_with_no_passage_of_the_pole_gets_a_real_interval():
    em = _synthetic_error_model()
    est, lo, hi = em.estimate("t", 1, [0.0], [0.0], "cc", n=[50])
    assert est[0] == 0 and lo[0] < 0.001 and 0.005 < hi[0] < 0.2  # Jeffreys, not a zero-width interval


def test_poles_without_enough_gold_or_skill_are_not_corrected():
    rare = _synthetic_error_model(n=3000, prevalence=(MIN_GOLD - 5) / 3000)
    assert not rare.rates("t", 1, "acc").usable
    assert np.isnan(rare.estimate("t", 1, [0.1], [0.01], "acc", n=[100])[0]).all()
    # counting still answers (it needs no error rates)
    assert not np.isnan(rare.estimate("t", 1, [0.1], [0.01], "cc", n=[100])[0]).any()
    blind = _synthetic_error_model(tpr=0.1, fpr=0.08)
    assert not blind.rates("t", 1, "acc").usable


def test_missing_groups_give_nan_and_bad_input_a_clear_error():
    em = _synthetic_error_model()
    est, lo, hi = em.estimate("t", 1, [np.nan, 0.1], [np.nan, 0.01], "acc", n=[0, 100])
    assert np.isnan([est[0], lo[0], hi[0]]).all() and np.isfinite(est[1])
    with pytest.raises(ValueError, match="method"):
        em.estimate("t", 1, [0.1], [0.01], "magic")
    with pytest.raises(ValueError, match="match"):
        ErrorModel(np.zeros((5, 1)), np.zeros((5, 1, 2)), np.zeros((5, 1)), ("t",))


def test_estimates_are_reproducible():
    em = _synthetic_error_model()
    a = em.estimate("t", 1, [0.12], [0.01], "pacc", n=[300], random_state=3)
    b = _synthetic_error_model().estimate("t", 1, [0.12], [0.01], "pacc", n=[300], random_state=3)
    assert np.allclose(np.concatenate(a), np.concatenate(b))


def test_the_default_model_carries_an_error_sample_of_random_real_passages(model):
    em = error_model(model)
    assert em is not None, "retrain the default model: it has no error sample"
    card = model.card_["error_sample"]
    assert em.n == card["n"] > 500
    assert "drawn at random" in card["source"]
    assert em.rates("not_knowing", 1).usable


def test_a_model_without_an_error_sample_has_no_error_model(model):
    import copy

    old = copy.copy(model)
    old.__dict__.pop("_error_model_cache", None)
    old.error_sample_ = None
    assert error_model(old) is None
