"""Issue 14, items 9 and 12: the report keeps names off the page (keyed 64-bit pseudonyms,
user names in document ids and titles, invisible formatting characters) and has a CSP."""

from __future__ import annotations

import base64
import hashlib
import re

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from kmlang.analysis.report import _IMAGES_OK_JS, CSP, build_report, pseudonym
from kmlang.cli import report as _report_cmd  # noqa: F401  (registers the command)
from kmlang.cli._app import app
from kmlang.shifts import TARGETS
from tests.conftest import score_frame_base

pytest.importorskip("matplotlib")

NAME = "Jane Realname"
BIDI_NAME = "Mallory\u202eemanlaeR\u202c"  # a right-to-left override in a name
INVISIBLE = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c\u200b\ufeff]")
KEY = "a-secret-key-of-some-length-0123456789"
PSEUDONYM = re.compile(r"author-[0-9a-f]+")


def frame(n_per_author=6, seed=0) -> pd.DataFrame:
    """A score frame whose names appear in authors, doc ids and titles."""
    authors = [NAME, BIDI_NAME, "quiet_quail", "Bob", "\u2066Ivy\u2069 Isolate"]
    docs = ["User talk:Jane Realname", "User_talk:Jane_Realname/Archive 1",
            "Notes by jane realname on soldering", "User:Mallory\u202eemanlaeR\u202c",
            "User talk:Somebody Else", "Main page", "\u202eevil title"]
    rng = np.random.default_rng(seed)
    rows = [(a, docs[(i + j) % len(docs)]) for i, a in enumerate(authors)
            for j in range(n_per_author)]
    n = len(rows)
    df = score_frame_base([f"We all know this together, passage {i}." for i in range(n)],
                          [a for a, _ in rows], [d for _, d in rows], titles=[d for _, d in rows])
    for t in TARGETS:
        df[t] = rng.uniform(-0.9, 0.9, n)
        df[f"{t}_relevance"] = 0.8
        df[f"{t}_label"] = pd.array(np.sign(df[t].round(1)).astype(int), dtype="Int8")
    return df


def report(**kw) -> str:
    return build_report(frame(), model_card={}, title="t", min_passages=2, **kw)


def _names_gone(page: str):
    assert page.count(NAME) == 0
    for word in ("Realname", "realname", "emanlaeR", "Mallory", "Somebody Else",
                 "quiet_quail", "Ivy"):
        assert word not in page, word
    assert not INVISIBLE.search(page)


@pytest.mark.parametrize("by", ["author", "doc_id", "title"])
def test_names_ids_and_titles_are_pseudonymised(by):
    page = report(by=by)
    _names_gone(page)
    found = set(PSEUDONYM.findall(page))
    assert found and all(re.fullmatch(r"author-[0-9a-f]{16}", p) for p in found)
    # the talk page shows the author's own pseudonym in place of the name
    assert "User talk:author-" in page or by == "author"


def test_pseudonyms_are_keyed_random_by_default_and_stable_with_a_key():
    a, b = report(), report()
    pa, pb = set(PSEUDONYM.findall(a)), set(PSEUDONYM.findall(b))
    assert pa and pb and pa.isdisjoint(pb)
    k1, k2 = report(pseudonym_key=KEY), report(pseudonym_key=KEY)
    assert set(PSEUDONYM.findall(k1)) == set(PSEUDONYM.findall(k2))
    assert pseudonym(NAME, KEY) in k1
    # the old unkeyed SHA-256 prefix, which a list of names reverses, is gone
    assert hashlib.sha256(NAME.encode()).hexdigest()[:8] not in k1
    assert pseudonym(NAME, KEY) != pseudonym(NAME, KEY.upper())
    assert "same key" in k1 and "made at random for this report" in a


def test_pseudonym_function():
    p = pseudonym(NAME, KEY)
    assert re.fullmatch(r"author-[0-9a-f]{16}", p) and p == pseudonym(NAME, KEY.encode())
    assert pseudonym(None, KEY) is None and pseudonym(float("nan"), KEY) is None
    assert pseudonym(NAME) == pseudonym(NAME)  # without a key: one random key per process
    with pytest.raises(ValueError, match="at least 16"):
        pseudonym(NAME, "short")


def test_names_shows_names_without_invisible_characters():
    page = report(names=True)
    assert NAME in page and "User talk:Jane Realname" in page
    assert "Mallory" in page and not INVISIBLE.search(page)
    assert not re.search(r"author-[0-9a-f]{16}", page)


def test_short_key_is_refused():
    with pytest.raises(ValueError, match="at least 16"):
        report(pseudonym_key="1234")


def test_csp_meta_tag():
    page = report()
    head = page[:page.index("</head>")]
    m = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', head)
    assert m and head.index("Content-Security-Policy") < head.index("<style>")
    policy = m.group(1).replace("&#x27;", "'")
    assert policy == CSP
    assert "default-src 'none'" in policy and "img-src data:" in policy
    digest = base64.b64encode(hashlib.sha256(_IMAGES_OK_JS.encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in policy and "unsafe-inline'; base" not in policy
    # the only script of the page is the one the hash allows
    scripts = re.findall(r"<script>(.*?)</script>", page, re.S)
    assert scripts == [_IMAGES_OK_JS]


def test_cli_key_option_and_env(tmp_path):
    scores = tmp_path / "scores.parquet"
    pytest.importorskip("pyarrow")
    frame().to_parquet(scores)
    runner = CliRunner()
    outs = []
    for i, (args, env) in enumerate([(["--pseudonym-key", KEY], {}),
                                     ([], {"KMLANG_PSEUDONYM_KEY": KEY}), ([], {})]):
        out = tmp_path / f"r{i}.html"
        res = runner.invoke(app, ["report", str(scores), "-o", str(out), "--min-passages", "2",
                                  *args], env=env)
        assert res.exit_code == 0, res.output
        outs.append(set(PSEUDONYM.findall(out.read_text(encoding="utf-8"))))
        _names_gone(out.read_text(encoding="utf-8"))
    assert outs[0] == outs[1] and outs[0].isdisjoint(outs[2])
    res = runner.invoke(app, ["report", str(scores), "-o", str(tmp_path / "x.html"),
                              "--pseudonym-key", "short"])
    assert res.exit_code == 2 and "at least 16" in res.output
