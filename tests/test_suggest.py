"""kmlang.model.suggest: the most uncertain, mutually different passages, in the labelling format."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from typer.testing import CliRunner

import kmlang
from kmlang.cli import suggest as _suggest_cmd  # noqa: F401  (registers the command)
from kmlang.cli._app import app
from kmlang.model.labelled import load_labelled, read_label_file
from kmlang.model.suggest import SUGGEST_COLUMNS, suggest, uncertainty, write_suggestions
from kmlang.shifts import SHIFT_IDS

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "notebooks" / "sample_export.jsonl"
runner = CliRunner()


@pytest.fixture(scope="module")
def frame():
    return kmlang.read(SAMPLE)


@pytest.fixture(scope="module")
def picked(frame, model):
    return suggest(frame, n=12, model=model, source="sample_export.jsonl")


def test_returns_n_rows_with_empty_labels(picked):
    assert len(picked) == 12
    assert list(picked.columns) == list(SUGGEST_COLUMNS)
    for _, row in picked.iterrows():
        assert list(row["labels"]) == list(SHIFT_IDS)
        assert all(v is None for v in row["labels"].values())
        assert row["overall"] is None
        assert row["split"] == "train" and row["register"] == ""
        assert row["source"] == "sample_export.jsonl"
        assert row["id"].startswith("sample_export-p")
    assert picked["id"].is_unique


def test_most_uncertain_first_and_matches_predict_proba(picked, frame, model):
    u = picked["uncertainty"].to_numpy()
    assert np.all((u >= 0) & (u <= 1))
    assert np.all(np.diff(u) <= 1e-12)
    proba = model.predict_proba(picked["text"].tolist())
    np.testing.assert_allclose(uncertainty(proba), u, atol=1e-4)
    # nothing left out was more uncertain than the least uncertain chosen passage,
    # unless it resembles a chosen one (checked in the diversity test)
    everything = uncertainty(model.predict_proba(frame["text"].tolist()))
    assert u[0] == pytest.approx(everything.max(), abs=1e-4)


def test_uncertainty_bounds():
    sure = {t: np.array([[0.0, 1.0, 0.0]]) for t in ("a", "b")}
    toss = {t: np.full((1, 3), 1 / 3) for t in ("a", "b")}
    assert uncertainty(sure)[0] == pytest.approx(0.0, abs=1e-9)
    assert uncertainty(toss)[0] == pytest.approx(1.0)


def test_diverse_no_duplicates_or_near_duplicates(frame, model):
    base = suggest(frame, n=1, model=model)
    top = base["text"].iloc[0]
    noisy = pd.concat([
        frame,
        pd.DataFrame({"text": [top] * 15 + [top.upper()] * 3 + [top + " Thanks!"] * 3,
                      "id": [f"dup{i}" for i in range(21)]}),
    ], ignore_index=True)
    out = suggest(noisy, n=20, model=model)
    assert len(out) == 20
    texts = out["text"].tolist()
    normalised = [" ".join(t.split()).casefold() for t in texts]
    assert len(set(normalised)) == len(normalised)
    X = TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2),
                        token_pattern=r"(?u)\b\w+\b").fit_transform(texts)
    sims = (X @ X.T).toarray()
    np.fill_diagonal(sims, 0)
    assert sims.max() <= 0.8 + 1e-9
    # exactly one of the family of copies (exact, upper-cased, with a "Thanks!") is kept
    assert sum(top.casefold() in t.casefold() for t in texts) == 1


def test_score_frame_gives_the_same_suggestion(frame, model, picked):
    scores = kmlang.score(frame, model=model)
    again = suggest(scores, n=12, source="sample_export.jsonl")
    assert again["id"].tolist() == picked["id"].tolist()
    np.testing.assert_allclose(again["uncertainty"], picked["uncertainty"], atol=1e-4)


def test_deterministic_and_plain_texts(frame, model):
    texts = frame["text"].tolist()
    a = suggest(texts, n=5, model=model, random_state=3)
    b = suggest(texts, n=5, model=model, random_state=3)
    pd.testing.assert_frame_equal(a, b)
    assert a["id"].str.fullmatch(r"suggested-row\d+").all()


def test_unscorable_rows_are_never_suggested(model):
    texts = ["", "   ", None, 5, "I have no idea how this works, can anyone help me?",
             "We wrote it up together on the wiki so everyone can use it."]
    with pytest.warns(UserWarning, match="Only 2 of the 5"):
        out = suggest(texts, n=5, model=model)
    assert sorted(out["id"]) == ["suggested-row4", "suggested-row5"]


def test_bad_arguments():
    with pytest.raises(ValueError, match="positive"):
        suggest(["a"], n=0)
    with pytest.raises(ValueError, match="similarity"):
        suggest(["a"], n=1, similarity=0)
    with pytest.raises(KeyError, match="body"):
        suggest(pd.DataFrame({"x": ["a"]}), n=1, text="body")


def test_written_file_is_in_the_labelling_format(picked, tmp_path):
    path = write_suggestions(picked, tmp_path / "to_label.jsonl")
    records = read_label_file(path)
    assert len(records) == len(picked)
    for rec in records:
        assert list(rec) == list(SUGGEST_COLUMNS)
        assert rec["labels"] == dict.fromkeys(SHIFT_IDS)
        assert rec["overall"] is None
    # once a person fills in the labels the file loads like the project's label files
    for rec in records:
        rec["labels"] = dict.fromkeys(SHIFT_IDS, 0)
        rec["overall"] = 0
    done = tmp_path / "done" / "labelled.jsonl"
    done.parent.mkdir()
    done.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loaded = load_labelled(done.parent)
    assert len(loaded) == len(picked) and set(loaded["split"]) == {"train"}


def test_suggest_cli(tmp_path, model):
    out = tmp_path / "to_label.jsonl"
    res = runner.invoke(app, ["suggest", str(SAMPLE), "--n", "5", "-o", str(out)])
    assert res.exit_code == 0, res.output
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 5
    rec = json.loads(lines[0])
    assert rec["source"] == "sample_export.jsonl"
    assert rec["labels"] == dict.fromkeys(SHIFT_IDS) and rec["overall"] is None
    assert "kmlang train FILE --out" in res.output and "labelling-guide" in res.output
