"""Retraining as a fresh clone would (issue 16, item 5): no silent authored-only model,
real-test figures always shown or loudly missing, and a warning when evaluating on training passages."""

from __future__ import annotations

import shutil
import warnings

import pandas as pd
import pytest
from typer.testing import CliRunner

import kmlang
from kmlang.cli import app
from kmlang.model import train as train_module
from kmlang.model.labelled import data_dir

SMALL = {"params": {"min_df": 1, "max_features": 5000, "calibration_cv": 2, "threshold_cv": 2},
         "baselines": False}


@pytest.fixture
def small_data(tmp_path):
    d = tmp_path / "labelled"
    d.mkdir()
    shutil.copy(data_dir() / "authored_chat_meeting.jsonl", d)
    shutil.copy(data_dir() / "real_31.jsonl", d)
    return d


def test_training_without_the_corpora_is_refused(small_data, monkeypatch):
    monkeypatch.setattr(train_module, "corpora_dir", lambda: None)
    with pytest.raises(FileNotFoundError, match="--authored-only"):
        train_module.train(small_data, **SMALL)


def test_authored_only_trains_and_has_no_real_figures(small_data, monkeypatch):
    monkeypatch.setattr(train_module, "corpora_dir", lambda: None)
    model, card = train_module.train(small_data, authored_only=True, **SMALL)
    assert card["training_data"]["n_train_real"] == 0
    assert "test_real" not in card["metrics"]


def test_cli_says_loudly_when_there_are_no_real_figures(small_data, tmp_path, monkeypatch):
    monkeypatch.setattr(train_module, "corpora_dir", lambda: None)
    monkeypatch.setattr(train_module, "DEFAULT_PARAMS", {**train_module.DEFAULT_PARAMS, **SMALL["params"]})
    res = CliRunner().invoke(app, ["train", "--data", str(small_data), "--out", str(tmp_path / "m"),
                                   "--authored-only"])
    assert res.exit_code == 0, res.output
    assert "NO real-text figures" in res.output


def test_evaluating_on_training_passages_warns(small_data):
    model, _ = train_module.train(small_data, authored_only=True, **SMALL)
    frame = kmlang.load_labelled(small_data, kind="authored")
    train_part = frame[frame["split"] == "train"].head(20)
    with pytest.warns(UserWarning, match="training data"):
        kmlang.evaluate(model, train_part, baselines=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        kmlang.evaluate(model, pd.DataFrame({"text": ["A passage never seen before, I think."],
                                             **{t: [0] for t in kmlang.TARGETS}}), baselines=False)
