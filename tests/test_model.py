"""The estimator: scikit-learn conventions, determinism, thresholds, persistence."""

import copy

import numpy as np
import pandas as pd
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

import kmlang
from kmlang.model.classifier import (
    PolarityClassifier,
    ShiftClassifier,
    apply_thresholds,
    tune_thresholds,
)
from kmlang.shifts import TARGETS

# A tiny labelled set written for these tests: enough for the API, not for accuracy.
_TEXTS = [
    ("I don't know why this fails, can anyone help?", {"not_knowing": 1, "overall": 1}),
    ("I'm stuck on this error, any help appreciated.", {"not_knowing": 1, "overall": 1}),
    ("No idea what I'm doing wrong here, please help.", {"not_knowing": 1, "overall": 1}),
    ("Trust me, I've done this for twenty years, you're wrong.", {"openness": -1, "knowing": -1, "overall": -1}),
    ("As I said before, my answer is correct. End of discussion.", {"openness": -1, "knowing": -1, "overall": -1}),
    ("Obviously you haven't read my answer. I know this stuff.", {"openness": -1, "knowing": -1, "overall": -1}),
    ("Good point, I stand corrected, thanks.", {"openness": 1, "overall": 1}),
    ("Fair enough, I was wrong about the cache.", {"openness": 1, "overall": 1}),
    ("You're right, I hadn't considered that case.", {"openness": 1, "overall": 1}),
    ("I restarted the server at noon.", {}),
    ("The release is planned for Tuesday.", {}),
    ("We moved the meeting to room 4.", {}),
    ("I went to lunch and came back.", {}),
    ("The logs are attached below.", {}),
    ("Version 2.1 fixes the parser.", {}),
]


def _frame(rows):
    recs = []
    for text, labs in rows:
        r = {t: 0 for t in TARGETS}
        r.update(labs)
        r["text"] = text
        recs.append(r)
    return pd.DataFrame(recs)


@pytest.fixture(scope="module")
def tiny():
    return _frame(_TEXTS * 2)


@pytest.fixture(scope="module")
def tiny_model(tiny):
    return ShiftClassifier(min_df=1, threshold_cv=2, calibration_cv=2).fit(tiny["text"].tolist(), tiny)


def _expected_failures(estimator):
    if estimator.calibration is None:
        return {}
    return {"check_sample_weight_equivalence_on_dense_data":
            "calibration uses stratified folds: repeating a row changes the folds, a weight does not",
            "check_sample_weight_equivalence_on_sparse_data":
            "calibration uses stratified folds: repeating a row changes the folds, a weight does not",
            "check_class_weight_classifiers":
            "calibration re-fits the class priors on out-of-fold logits, undoing class_weight by design"}


@parametrize_with_checks([PolarityClassifier(calibration_cv=2), PolarityClassifier(calibration=None),
                          PolarityClassifier(calibration_cv=2, calibration_repeats=2)],
                         expected_failed_checks=_expected_failures)
def test_polarity_classifier_passes_sklearn_checks(estimator, check):
    check(estimator)


def test_fit_predict_shapes(tiny_model, tiny):
    pred = tiny_model.predict(["I'm stuck, any help?", "The logs are attached."])
    assert list(pred.columns) == list(TARGETS)
    proba = tiny_model.predict_proba(["I'm stuck, any help?"])
    assert set(proba) == set(TARGETS)
    for p in proba.values():
        assert p.shape == (1, 3)
        np.testing.assert_allclose(p.sum(axis=1), 1.0)


def test_deterministic(tiny):
    a = ShiftClassifier(min_df=1, threshold_cv=2, calibration_cv=2, random_state=3).fit(tiny["text"].tolist(), tiny)
    b = ShiftClassifier(min_df=1, threshold_cv=2, calibration_cv=2, random_state=3).fit(tiny["text"].tolist(), tiny)
    texts = ["I don't know", "trust me"]
    for t in TARGETS:
        np.testing.assert_array_equal(a.predict_proba(texts)[t], b.predict_proba(texts)[t])
    assert a.thresholds_ == b.thresholds_


def test_calibration_repeats_average_the_fold_splits():
    """Repeated fold splits: the calibrator sees every split's out-of-fold logits, and the
    out-of-fold probabilities that tune the thresholds are their mean (less seed noise)."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 5))
    y = np.where(X[:, 0] > 0.8, 1, np.where(X[:, 0] < -0.8, -1, 0))
    one = PolarityClassifier(calibration_cv=3, random_state=0).fit(X, y)
    one_b = PolarityClassifier(calibration_cv=3, random_state=1).fit(X, y)
    two = PolarityClassifier(calibration_cv=3, calibration_repeats=2, random_state=0).fit(X, y)
    # with two repeats (seeds 0 and 1) the out-of-fold probabilities lie between the single splits'
    lo, hi = np.minimum(one.oof_proba_, one_b.oof_proba_), np.maximum(one.oof_proba_, one_b.oof_proba_)
    assert not np.allclose(two.oof_proba_, one.oof_proba_)
    assert ((two.oof_proba_ >= lo - 0.05) & (two.oof_proba_ <= hi + 0.05)).mean() > 0.95
    np.testing.assert_allclose(two.oof_proba_.sum(axis=1), 1.0)
    assert two.predict_proba(X).shape == (120, 3)


def test_learns_the_obvious(tiny_model):
    pred = tiny_model.predict(["I have no idea, can anyone help me?", "Trust me, you're wrong, I know this."])
    assert pred.loc[0, "not_knowing"] == 1
    assert pred.loc[1, "openness"] == -1


def test_bad_labels_and_shapes(tiny):
    bad = tiny.copy()
    bad.loc[0, "sharing"] = 2
    with pytest.raises(ValueError, match="sharing"):
        ShiftClassifier(min_df=1).fit(bad["text"].tolist(), bad)
    with pytest.raises(KeyError, match="overall"):
        ShiftClassifier(min_df=1).fit(tiny["text"].tolist(), tiny.drop(columns="overall"))
    with pytest.raises(ValueError, match="rows"):
        ShiftClassifier(min_df=1).fit(tiny["text"].tolist()[:3], tiny)


def test_unfitted_raises():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        ShiftClassifier().predict(["x"])


def test_featurizer_feature_names_and_one_parse(tiny_model):
    names = tiny_model.featurizer_.get_feature_names_out()
    assert any(n.startswith("ngram:") for n in names)
    assert "cue:not_knowing" in names
    X = tiny_model.featurizer_.transform(["I don't know"])
    assert X.shape[1] == len(names)


def test_apply_and_tune_thresholds():
    p = np.array([[0.1, 0.5, 0.4], [0.6, 0.3, 0.1], [0.2, 0.7, 0.1]])
    assert apply_thresholds(p, 0, 0).tolist() == [0, -1, 0]
    assert apply_thresholds(p, 0.9, 0.35).tolist() == [1, 0, 0]
    y = np.array([1, 0, 0])
    tn, tp = tune_thresholds(y, p, min_support=0)
    assert apply_thresholds(p, tn, tp).tolist() == [1, 0, 0]


def test_effective_coef_reproduces_probabilities(tiny_model):
    est = tiny_model.estimators_["not_knowing"]
    X = tiny_model.featurizer_.transform(["any help? I'm stuck"])
    coef, b = est.effective_coef()
    z = X @ coef.T + b
    p = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
    np.testing.assert_allclose(p, est.predict_proba(X), rtol=1e-6)


def test_save_load_round_trip_and_tamper(tiny_model, tmp_path):
    d = kmlang.save_model(tiny_model, tmp_path / "m", card={"note": "test"})
    m = kmlang.load_model(d)
    texts = ["I'm stuck", "trust me"]
    for t in TARGETS:
        np.testing.assert_allclose(m.predict_proba(texts)[t], tiny_model.predict_proba(texts)[t])
    assert m.card_["note"] == "test"
    # modified model file
    f = d / "model.skops"
    data = bytearray(f.read_bytes())
    data[-10] ^= 0xFF
    f.write_bytes(bytes(data))
    with pytest.raises(kmlang.ModelIntegrityError, match="manifest"):
        kmlang.load_model(d)


def test_update_card_rehashes_and_never_reblesses_a_changed_model(tiny_model, tmp_path):
    from kmlang.model.persist import read_card, update_card

    d = kmlang.save_model(tiny_model, tmp_path / "m", card={"note": "test"})
    card = update_card(d, {"shares_benchmark": {"pool": 3}})
    assert card["note"] == "test" and read_card(d)["shares_benchmark"] == {"pool": 3}
    assert kmlang.load_model(d).card_["shares_benchmark"] == {"pool": 3}  # manifest re-hashed
    f = d / "model.skops"
    data = bytearray(f.read_bytes())
    data[-10] ^= 0xFF
    f.write_bytes(bytes(data))
    before = (d / "manifest.json").read_bytes()
    with pytest.raises(kmlang.ModelIntegrityError, match="manifest"):
        update_card(d, {"x": 1})
    assert (d / "manifest.json").read_bytes() == before


def test_foreign_and_truncated_files_refused(tiny_model, tmp_path):
    import joblib

    foreign = tmp_path / "foreign"
    foreign.mkdir()
    joblib.dump({"not": "a model"}, foreign / "model.joblib")
    with pytest.raises(kmlang.ModelIntegrityError, match="manifest"):
        kmlang.load_model(foreign)
    d = kmlang.save_model(tiny_model, tmp_path / "m2")
    f = d / "model.skops"
    f.write_bytes(f.read_bytes()[:100])
    with pytest.raises(kmlang.ModelIntegrityError):
        kmlang.load_model(d)


def test_version_mismatch_warns(tiny_model, tmp_path):
    import json

    d = kmlang.save_model(tiny_model, tmp_path / "m3", card={"versions": {"kmlang": "0.0.1",
                                                                         "scikit-learn": "0.1"}})
    with pytest.warns(kmlang.ModelVersionWarning, match="0.0.1"):
        kmlang.load_model(d)
    assert json.loads((d / "card.json").read_text())["versions"]["kmlang"] == "0.0.1"


def test_score_n_process_2_equals_one_process():
    from kmlang.model import scoring

    texts = ["I don't know, any help?", "Trust me, you're wrong.", None, "We wrote it up on the wiki."] * 600
    one = kmlang.score(texts)
    two = kmlang.score(pd.Series(texts, index=range(100, 100 + len(texts))), n_process=2)
    assert len(two) == len(texts) and scoring.CHUNK * 2 <= len(texts)
    assert list(two.index[:2]) == [100, 101]
    pd.testing.assert_frame_equal(one.drop(columns="text").reset_index(drop=True),
                                  two.drop(columns="text").reset_index(drop=True))


def test_stacked_prediction_equals_each_estimator(tiny_model):
    from kmlang.model.classifier import _full_proba

    F = tiny_model.featurizer_.transform(["I don't know, any help?", "Trust me, you're wrong.", "ok"])
    got = tiny_model.predict_proba_features(F)
    for t, est in tiny_model.estimators_.items():
        np.testing.assert_allclose(got[t], _full_proba(est, F), rtol=1e-6, atol=1e-9)
    import pickle

    assert "_stacked_cache" not in pickle.loads(pickle.dumps(tiny_model)).__dict__


def _rewrite_manifest(d):
    import hashlib
    import json

    manifest = json.loads((d / "manifest.json").read_text())
    for name in list(manifest["files"]):
        manifest["files"][name] = hashlib.sha256((d / name).read_bytes()).hexdigest()
    (d / "manifest.json").write_text(json.dumps(manifest))


@pytest.mark.parametrize("payload", ["eval", "system"])
def test_crafted_model_naming_other_types_is_refused_before_anything_runs(tiny_model, tmp_path, payload):
    """A skops file naming builtins.eval or os.system is refused even with a matching manifest."""
    import os

    import skops.io as sio

    d = kmlang.save_model(tiny_model, tmp_path / "m")
    obj = {"eval": eval, "system": os.system}[payload]
    (d / "model.skops").write_bytes(sio.dumps({"model": obj}))
    _rewrite_manifest(d)
    with pytest.raises(kmlang.ModelIntegrityError, match="does not load") as err:
        kmlang.load_model(d)
    assert ("builtins.eval" if payload == "eval" else "system") in str(err.value)


def test_old_pickle_models_load_only_when_trusted(tiny_model, tmp_path):
    import json

    import joblib

    d = tmp_path / "old"
    d.mkdir()
    joblib.dump(tiny_model, d / "model.joblib")
    (d / "card.json").write_text(json.dumps({"name": "old"}))
    (d / "manifest.json").write_text(json.dumps({"files": {"model.joblib": "", "card.json": ""}}))
    _rewrite_manifest(d)
    with pytest.raises(kmlang.ModelIntegrityError, match="trusted=True"):
        kmlang.load_model(d)
    with pytest.warns(UserWarning, match="pickle"):
        m = kmlang.load_model(d, trusted=True)
    saved = kmlang.save_model(m, tmp_path / "new")
    assert (saved / "model.skops").is_file() and not (saved / "model.joblib").exists()
    texts = ["I'm stuck", "trust me"]
    np.testing.assert_allclose(kmlang.load_model(saved).predict_proba(texts)["overall"],
                               tiny_model.predict_proba(texts)["overall"])


def test_train_scores_each_text_once_with_the_same_probabilities(tiny_model, tiny):
    from kmlang.model.train import _Probabilities

    texts = tiny["text"].tolist()
    calls = []
    real = tiny_model.predict_proba

    class Counting:
        targets_ = tiny_model.targets_

        def predict_proba(self, X):
            calls.append(len(X))
            return real(X)

    scored = _Probabilities(Counting())
    first = scored(texts[:5] + texts[:2])
    again = scored(texts[3:8])
    assert calls == [5, 3]  # distinct texts only, each once
    direct = real(texts[:5] + texts[:2])
    for t in TARGETS:
        np.testing.assert_array_equal(first[t], direct[t])
        np.testing.assert_array_equal(again[t], real(texts[3:8])[t])
    # the error sample takes the probabilities it is given, and checks their shape
    m = copy.deepcopy(tiny_model)  # the fixture is shared by the module
    m.fit_error_sample(texts[:6], tiny.iloc[:6], proba=real(texts[:6]))
    given = m.error_sample_["proba"].copy()
    m.fit_error_sample(texts[:6], tiny.iloc[:6])
    np.testing.assert_array_equal(given, m.error_sample_["proba"])
    with pytest.raises(ValueError, match="proba must hold"):
        m.fit_error_sample(texts[:6], tiny.iloc[:6], proba=real(texts[:5]))
