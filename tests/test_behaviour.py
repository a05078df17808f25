"""The behavioural suite (CheckList probes), the decision rule and the pole metrics (issue 13)."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pandas as pd
import pytest

import kmlang
from kmlang.model.behaviour import failure_table, load_probes, run_probes
from kmlang.model.classifier import apply_thresholds, decorrelation_weights, tune_thresholds
from kmlang.model.evaluation import evaluation_report, pole_f1, pole_f1_table
from kmlang.shifts import TARGETS

#: Highest overall failure rate of the default model on the packaged probes. Lower it
#: whenever a model does better; never raise it (the suite only gets stricter).
FAILURE_CEILING = 0.15


@pytest.fixture(scope="module")
def probes():
    return load_probes()


@pytest.fixture(scope="module")
def results(probes):
    return run_probes(None, probes)


def test_suite_size_and_capabilities(probes):
    assert len(probes) >= 300
    caps = Counter(p["capability"] for p in probes)
    assert all(n >= 15 for n in caps.values()), caps
    kinds = Counter(p["type"] for p in probes)
    assert kinds["mft"] >= 150 and kinds["inv"] >= 50 and kinds["dir"] >= 50, kinds
    assert len({p["id"] for p in probes}) == len(probes)


def test_probes_are_not_training_data(probes):
    from kmlang.model.labelled import data_dir

    texts = set()
    for f in data_dir().glob("*.jsonl"):
        for line in f.read_text(encoding="utf-8").splitlines():
            if line.strip() and '"text"' in line:
                texts.add(json.loads(line)["text"].strip())
    leaked = [p["id"] for p in probes if p["text"].strip() in texts or (p.get("variant") or "").strip() in texts]
    assert not leaked


def test_failure_rate_under_ceiling(results):
    table = failure_table(results)
    rate = float(table.loc["ALL", "failure_rate"])
    assert rate <= FAILURE_CEILING, table.to_string()


def test_labels_never_oppose_positions(probes):
    texts = [p["text"] for p in probes] + [p["variant"] for p in probes if p.get("variant")]
    s = kmlang.score(texts, progress=False)
    assert (s["status"] == "ok").all()
    for t in TARGETS:
        lab, pos = s[f"{t}_label"].to_numpy(), s[t].to_numpy()
        assert not np.any((lab == 1) & (pos < 0)), t
        assert not np.any((lab == -1) & (pos > 0)), t


def test_scoring_is_deterministic(probes):
    texts = [p["text"] for p in probes[:50]]
    a, b = kmlang.score(texts, progress=False), kmlang.score(list(reversed(texts)), progress=False)
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.iloc[::-1].reset_index(drop=True))


def test_a_failing_probe_is_reported():
    probe = {"id": "x", "capability": "demo", "type": "mft", "text": "I don't know, can anyone help me?",
             "expect": {"not_knowing": -1}}
    res = run_probes(None, [probe])
    assert not res["passed"].iloc[0] and "not_knowing" in res["detail"].iloc[0]


def test_unknown_target_is_refused(tmp_path):
    f = tmp_path / "p.jsonl"
    f.write_text(json.dumps({"id": "a", "capability": "c", "type": "mft", "text": "hi", "expect": {"nope": 1}}))
    with pytest.raises(ValueError, match="unknown targets"):
        load_probes(f)


def test_check_cli_prints_capabilities():
    from typer.testing import CliRunner

    from kmlang.cli import app

    out = CliRunner().invoke(app, ["check"])
    assert out.exit_code == 0, out.output
    assert "negation" in out.output and "ALL" in out.output


# -- the decision rule --------------------------------------------------------------------

def test_apply_thresholds_never_opposes_position():
    rng = np.random.default_rng(0)
    p = rng.dirichlet([0.3, 1.0, 0.3], size=5000)
    for tn, tp in [(0.1, 0.9), (0.9, 0.1), (0.2, 0.2), (0.5, 0.5)]:
        lab = apply_thresholds(p, tn, tp)
        pos = p[:, 2] - p[:, 0]
        assert not np.any((lab == 1) & (pos < 0)) and not np.any((lab == -1) & (pos > 0))


def test_rare_pole_gets_the_default_threshold_not_a_floor():
    y = np.array([0] * 200 + [1] * 40 + [-1] * 3)
    p = np.tile([0.1, 0.8, 0.1], (len(y), 1))
    p[y == 1] = [0.05, 0.25, 0.7]
    tn, tp = tune_thresholds(y, p)
    assert tn == 0.5  # three examples: not tuned; a confident model can still label the pole
    assert 0.25 < tp <= 0.7
    confident_neg = np.array([[0.8, 0.15, 0.05]])
    assert apply_thresholds(confident_neg, tn, tp)[0] == -1


def test_decorrelation_weights_make_label_independent_of_length():
    rng = np.random.default_rng(1)
    length = rng.normal(size=4000)
    y = np.where(rng.random(4000) < 1 / (1 + np.exp(-2 * length)), 1, 0)
    w = decorrelation_weights(y, [length], bins=5)
    q = np.quantile(length, [0.2, 0.4, 0.6, 0.8])
    cell = np.searchsorted(q, length, side="right")
    shares = [np.average(y[cell == k], weights=w[cell == k]) for k in range(5)]
    assert max(shares) - min(shares) < 1e-9
    assert abs(w.mean() - 1) < 1e-9


# -- pole metrics -------------------------------------------------------------------------

def test_pole_f1_always_neutral_is_zero_and_perfect_is_one():
    gold = np.array([1] * 10 + [-1] * 6 + [0] * 50)
    assert pole_f1(gold, np.zeros_like(gold)) == 0.0
    assert pole_f1(gold, gold) == 1.0


def test_pole_f1_counts_only_poles_with_five_gold_labels():
    gold = np.array([1] * 10 + [-1] * 4 + [0] * 20)
    pred = gold.copy()
    pred[10:14] = 0  # the rare pole is missed: it does not count (4 < 5)
    assert pole_f1(gold, pred) == 1.0
    assert pole_f1(np.array([1, 0, 0]), np.array([1, 0, 0])) is None


def test_evaluation_report_schema():
    truth = pd.DataFrame({t: [1] * 6 + [0] * 10 for t in TARGETS})
    pred = pd.DataFrame({t: [1] * 3 + [0] * 13 for t in TARGETS})
    rep = evaluation_report(truth, pred)
    assert rep["schema"] == 2 and rep["n"] == 16
    o = rep["overall"]
    assert o["poles"]["1"] == {"precision": 1.0, "recall": 0.5, "f1": 0.6667, "support": 6, "predicted": 3}
    assert o["pole_f1"] == 0.6667 and o["poles_measured"] == ["1"] and o["gold_labels"] == 6
    assert rep["mean_pole_f1_over"] == [t for t in TARGETS if t != "overall"]
    table = pole_f1_table(truth, pred)
    assert table["mean_shift"] == pytest.approx(2 / 3)
