"""Robustness: messy input never loses or invents a row, and says what it could not do.

Property-based (hypothesis) and explicit tests for ``clean_text``, ``kmlang.cues``,
``kmlang.score``, ``kmlang.aggregate``, the readers, model loading and the
crash safety of ``kmlang score --resume``. Multi-megabyte inputs are explicit
examples, not generated.
"""

from __future__ import annotations

import csv
import json
import math
import os
import pickle
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tracemalloc
import warnings
import zipfile
from pathlib import Path
from xml.sax.saxutils import quoteattr

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

import kmlang
import kmlang.io.stream as stream
import kmlang.model.persist
import kmlang.model.scoring
from kmlang.analysis.aggregation import DEFAULT_STATUSES, combine_partials, partial_aggregate
from kmlang.cues._input import MAX_RUN_CHARS, SCORED_STATUSES, clean_text
from kmlang.cues.nlp import DEFAULT_MAX_CHARS
from kmlang.errors import ModelIntegrityError, ModelVersionWarning, ReaderError
from kmlang.io.stream import score_file
from kmlang.model.persist import default_model_dir
from kmlang.shifts import TARGETS
from tests.conftest import read_output

FAST = settings(max_examples=40, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
SLOW = settings(max_examples=25, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

UNSCORED = {"missing", "not_a_string", "empty"}
ALL_STATUSES = SCORED_STATUSES | UNSCORED
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SURROGATE = re.compile("[\ud800-\udfff]")

# Pieces that real exports contain and that have broken text pipelines before.
SPECIALS = [
    "\x00", "\x07", "\x1b[31m", "\x7f", "\u200b", "\u200d", "\ufeff", "\u202e", "\u2028", "\xa0",
    "\ud800", "\udfff", "\ud83d", "👩\u200d👩\u200d👧", "🏳️\u200d🌈", "😀😀😀", "مرحبا بكم",
    "שלום עולם", "我们知道", "日本語のテキスト", "한국어", "<script>alert(1)</script>", "<b>bold</b>",
    "&amp;",
    "\r\n", "\n\n", "\t", "   ", ")))))", "'s's's", "http://example.com/a?b=c&d=e", "I know",
    "we know", "don't", "> quoted line\n", "-- \nsig", "\U0001d400", "e\u0301",
]
ANY_CHAR = st.characters(codec=None, exclude_categories=[])
messy_text = st.lists(st.one_of(st.text(ANY_CHAR, max_size=12), st.sampled_from(SPECIALS)),
                      max_size=10).map("".join)
odd_cells = st.one_of(
    st.none(), st.just(float("nan")), st.just(np.nan), st.just(pd.NA), st.just(pd.NaT),
    st.just(np.float32("nan")), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(), st.binary(max_size=12), st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2), st.just(b"I know"),
    st.just(np.int64(3)), st.just(("a", "b")),
)
cells = st.one_of(messy_text, messy_text, odd_cells)


def _expected_status(cell) -> str:
    return clean_text(cell)[1]


def _same_cell(a, b) -> bool:
    if a is b:
        return True
    try:
        if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
            return True
        return bool(a == b)
    except (TypeError, ValueError):
        return False


# --------------------------------------------------------------------------- clean_text


@FAST
@given(cell=cells, max_chars=st.integers(1, 300))
@example(cell="\u200b\u200d\ufeff \n", max_chars=10)
@example(cell="\x00\x00", max_chars=10)
@example(cell=" " * 20 + "x", max_chars=5)
@example(cell=")" * 250, max_chars=300)
def test_clean_text_gives_valid_text_or_a_reason(cell, max_chars):
    text, status = clean_text(cell, max_chars)
    assert status in ALL_STATUSES - {"non_english"}
    if text is None:
        assert status in UNSCORED
        if isinstance(cell, str):
            assert status == "empty"
        return
    assert isinstance(text, str) and status in {"ok", "truncated"}
    text.encode("utf-8")  # no lone surrogates
    assert not _CONTROL.search(text)
    assert any(not c.isspace() for c in text)
    assert max(len(w) for w in text.split()) <= MAX_RUN_CHARS
    assert len(text) <= max_chars + max_chars // MAX_RUN_CHARS
    if status == "truncated":
        assert len(cell) > max_chars
    else:
        assert len(cell) <= max_chars
        if max((len(w) for w in re.split(r"\s", cell)), default=0) <= MAX_RUN_CHARS:
            assert len(text) == len(cell)  # character offsets are kept


@pytest.mark.parametrize("cell, status", [
    (None, "missing"), (float("nan"), "missing"), (pd.NA, "missing"), (pd.NaT, "missing"),
    (np.float32("nan"), "missing"), (3, "not_a_string"), (2.5, "not_a_string"),
    (b"I know", "not_a_string"), (["I know"], "not_a_string"), ({"text": "x"}, "not_a_string"),
    (True, "not_a_string"), ("", "empty"), ("   \n\t ", "empty"), ("\x00\x01", "empty"),
    ("\u200b\u200d\ufeff", "empty"), ("\u3000\xa0", "empty"), ("I know.", "ok"),
])
def test_clean_text_statuses(cell, status):
    assert clean_text(cell)[1] == status


def test_clean_text_of_50_mb_copies_only_the_kept_part():
    big = "I know the answer, we share it. " * (50_000_000 // 32)
    tracemalloc.start()
    try:
        text, status = clean_text(big)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert status == "truncated" and len(text) == DEFAULT_MAX_CHARS
    assert peak < 5 * DEFAULT_MAX_CHARS  # a few copies of 100k characters, not of 50 MB


@pytest.mark.parametrize("pad", ["", "x\u2003", "y\n", "z " * 10_000])
def test_long_runs_are_broken_on_short_and_long_texts_alike(pad):
    """The quick check for long runs (str.split on short texts) and the regex (long texts)
    agree at the limit, with any Unicode whitespace."""
    n = MAX_RUN_CHARS
    assert clean_text(pad + "a" * n)[0] == pad + "a" * n
    assert clean_text(pad + "a" * (n + 1))[0] == pad + "a" * n + " a"
    assert clean_text(pad + "\x07" + "b" * (n + 1))[0] == pad + " " + "b" * n + " b"


def test_truncation_starts_at_the_first_visible_character():
    text, status = clean_text("\n" * 30 + "I know " * 10, max_chars=20)
    assert status == "truncated" and text.startswith("I know")


# --------------------------------------------------------------------------- cues


@FAST
@given(values=st.lists(cells, max_size=8),
       index=st.sampled_from(["range", "strings", "shifted", "duplicates"]))
def test_cues_one_row_per_input_row(values, index):
    n = len(values)
    idx = {"range": pd.RangeIndex(n), "strings": pd.Index([f"r{i}" for i in range(n)]),
           "shifted": pd.Index(range(100, 100 + n)),
           "duplicates": pd.Index([i // 2 for i in range(n)])}[index]
    frame = pd.DataFrame({"text": pd.Series(values, dtype=object, index=idx),
                          "row": np.arange(n)}, index=idx)
    out = kmlang.cues(frame)
    assert len(out) == n and out.index.equals(frame.index)
    assert out["row"].tolist() == list(range(n))
    assert out["status"].tolist() == [_expected_status(v) for v in values]
    scored = out["status"].isin(["ok", "truncated"]).to_numpy()
    counts = out[[c for c in out.columns if c.startswith("cue_") and not c.endswith("_rate")]]
    assert counts[scored].notna().all().all() and counts[~scored].isna().all().all()
    assert (out["n_tokens"] >= 0).all() and (out.loc[~scored, "n_tokens"] == 0).all()


# --------------------------------------------------------------------------- score


def _check_scores(out: pd.DataFrame, values) -> None:
    assert len(out) == len(values)
    for got, cell in zip(out["text"], values, strict=True):
        assert _same_cell(got, cell)
    for status, cell in zip(out["status"], values, strict=True):
        expected = _expected_status(cell)
        assert status == expected or (status == "non_english" and expected in ("ok", "truncated"))
    scored = out["status"].isin(list(SCORED_STATUSES)).to_numpy()
    for t in TARGETS:
        pos, rel, lab = out[t].to_numpy(), out[f"{t}_relevance"].to_numpy(), out[f"{t}_label"]
        assert np.isfinite(pos[scored]).all() and np.isfinite(rel[scored]).all()
        assert (np.abs(pos[scored]) <= 1 + 1e-9).all()
        assert ((rel[scored] >= -1e-9) & (rel[scored] <= 1 + 1e-9)).all()
        assert lab[scored].isin([-1, 0, 1]).all()
        assert np.isnan(pos[~scored]).all() and np.isnan(rel[~scored]).all()
        assert lab[~scored].isna().all()


@SLOW
@given(values=st.lists(cells, max_size=8))
def test_score_one_row_per_input_row_in_order(model, values):
    out = kmlang.score(values, model=model)
    _check_scores(out, values)
    assert out.index.equals(pd.RangeIndex(len(values)))


@SLOW
@given(values=st.lists(messy_text, min_size=1, max_size=6),
       labels=st.lists(st.text(min_size=1, max_size=4), min_size=6, max_size=6, unique=True))
def test_score_series_keeps_its_index(model, values, labels):
    series = pd.Series(values, index=labels[:len(values)], dtype=object, name="body")
    out = kmlang.score(series, model=model)
    assert out.index.tolist() == labels[:len(values)]
    _check_scores(out, values)


EXPLICIT = [
    ("lone surrogates", "I know \ud800 the \udfff answer \ud83d", "ok"),
    ("NUL and control characters", "we\x00 know\x07 this\x1b[0m together", "ok"),
    ("Arabic", "لا أعرف لماذا يفشل البناء. هل يمكن لأحد المساعدة؟ "
               "لقد غيرنا الإعدادات بالأمس.", "non_english"),
    ("Hebrew", "אני לא יודע למה הבנייה נכשלת. מישהו יכול לעזור? "
               "שינינו את ההגדרות אתמול.", "non_english"),
    ("CJK", "我不知道为什么构建失败了。有人能帮忙吗？我们昨天修改了配置。", "non_english"),
    ("emoji with ZWJ", "We know 👩\u200d👩\u200d👧 and 🏳️\u200d🌈 and I share 😀😀", "ok"),
    ("emoji only", "😀" * 5000, "ok"),
    ("script tag", "<script>alert(1)</script> I know <b>this</b> &amp; we share it", "ok"),
    ("zero-width only", "\u200b\u200d\u2060\ufeff", "empty"),
    ("whitespace only", " \n\t\u3000 ", "empty"),
    ("empty", "", "empty"),
    ("bidi override", "\u202eI know this\u202c, we know", "ok"),
    ("one long punctuation run", ")" * 200_000, "truncated"),
    ("possessive run", "'s" * 60_000, "truncated"),
]


@pytest.mark.parametrize("name, text, status", EXPLICIT, ids=[e[0] for e in EXPLICIT])
def test_score_explicit_messy_passages(model, name, text, status):
    t0 = time.perf_counter()
    out = kmlang.score([text, "I know the answer."], model=model)
    assert out["status"].tolist() == [status, "ok"]
    assert time.perf_counter() - t0 < 60
    _check_scores(out, [text, "I know the answer."])


def test_score_50_mb_passage_is_truncated_and_bounded(model):
    big = "I know the answer, and we share what we know with everyone. " * (50_000_000 // 60)
    assert len(big) >= 49_000_000
    before = _max_rss_mb()
    out = kmlang.score([big, "We know."], model=model)
    assert out["status"].tolist() == ["truncated", "ok"]
    assert out.loc[0, "text"] is big  # the input is kept, not copied
    assert 0 < out.loc[0, "n_tokens"] <= DEFAULT_MAX_CHARS
    assert _max_rss_mb() - before < 1000  # scored on 100k characters, not 50 MB


def test_score_5_mb_single_token(model):
    token = "a" * 5_000_000
    out = kmlang.score([token, "x" * 2_000_000 + ")" * 1000], model=model)
    # cut to 100k characters, then into 100-character runs: many "words", none English
    assert out["status"].tolist() == ["non_english", "non_english"]
    assert (out["n_tokens"] == DEFAULT_MAX_CHARS // MAX_RUN_CHARS).all()
    _check_scores(out, [token, "x" * 2_000_000 + ")" * 1000])


def test_max_chars_is_configurable_beyond_spacys_limit(model):
    text = "I know. " * 160_000  # 1.28 M characters, above spaCy's default max_length
    out = kmlang.score([text], model=model, max_chars=1_500_000)
    assert out.loc[0, "status"] == "ok"
    out = kmlang.score([text], model=model, max_chars=1000)
    assert out.loc[0, "status"] == "truncated" and out.loc[0, "n_tokens"] < 400
    with pytest.raises(ValueError, match="max_chars"):
        kmlang.score([text], model=model, max_chars=0)


def test_odd_cells_in_a_dataframe_column(model):
    values = [None, float("nan"), pd.NA, pd.NaT, 3, 2.5, b"I know", ["I know"], {"a": 1}, True,
              np.int64(7), "", "  ", "I know this.", "We share what we know."]
    index = pd.Index([f"k{i}" for i in range(len(values))], name="key")
    df = pd.DataFrame({"body": pd.Series(values, dtype=object, index=index), "author": "a"},
                      index=index)
    out = kmlang.score(df, text="body", model=model)
    assert out.index.equals(df.index) and out.index.name == "key"
    assert out["status"].tolist() == (["missing"] * 4 + ["not_a_string"] * 7 + ["empty"] * 2
                                      + ["ok"] * 2)
    assert (out["author"] == "a").all()
    out["text"] = out["body"]
    _check_scores(out, values)


def test_pandas_string_dtype_and_na(model):
    s = pd.Series(["I know.", pd.NA, "", "we know"], dtype="string")
    out = kmlang.score(s, model=model)
    assert out["status"].tolist() == ["ok", "missing", "empty", "ok"]


def test_duplicate_text_columns_are_refused_clearly(model):
    df = pd.DataFrame([["I know", "we know"]], columns=["text", "text"])
    with pytest.raises(ValueError, match="2 columns named 'text'"):
        kmlang.score(df, model=model)


def test_a_frame_with_a_status_column_keeps_it_renamed(model):
    df = pd.DataFrame({"text": ["I know."], "status": ["draft"], "knowing": [1]})
    out = kmlang.score(df, model=model)
    assert out["input_status"].tolist() == ["draft"] and out["status"].tolist() == ["ok"]
    assert out["input_knowing"].tolist() == [1]


def _max_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --------------------------------------------------------------------------- language

GERMAN = ("Ich weiß nicht, warum der Build fehlschlägt. Kann mir jemand helfen? Wir haben die "
          "Konfiguration gestern geändert und seitdem funktioniert nichts mehr.")
CHINESE = ("我不知道为什么构建失败了。有人能帮忙吗？"
           "我们昨天修改了配置，从那以后什么都不工作了。谢谢大家！")
RUSSIAN = ("Я не знаю, почему сборка не проходит. Может кто-нибудь помочь? Мы вчера изменили "
           "конфигурацию, и с тех пор ничего не работает.")
FRENCH = ("Je ne sais pas pourquoi la compilation échoue. Quelqu'un peut-il m'aider ? Nous avons "
          "modifié la configuration hier et depuis rien ne fonctionne.")
ENGLISH_WITH_FOREIGN = [
    "I don't know why the build fails; as the Germans say, ich weiß nicht. We changed the "
    "config yesterday, c'est la vie, and since then nothing works. Danke schön for any help!",
    "We know the fix: set the locale to 日本語 and restart the server, then it works for us all.",
    "Thanks to Ana (Анна) for the notes; I put the steps on the wiki for everyone.",
    "Thanks!",
]


def test_non_english_passages_are_flagged_and_left_out_of_figures(model):
    texts = [GERMAN, CHINESE, RUSSIAN, FRENCH, *ENGLISH_WITH_FOREIGN]
    out = kmlang.score(texts, model=model)
    assert out["status"].tolist() == ["non_english"] * 4 + ["ok"] * len(ENGLISH_WITH_FOREIGN)
    assert out.loc[:3, "knowing"].notna().all()  # scored, but marked out of scope
    out["author"] = "x"
    agg = kmlang.aggregate(out, by="author", min_passages=1)
    assert agg["n_passages"].tolist() == [len(ENGLISH_WITH_FOREIGN)]
    assert agg.attrs["excluded_status"] == {"non_english": 4}


def test_a_truncated_non_english_passage_is_non_english(model):
    out = kmlang.score([GERMAN * 50], model=model, max_chars=2000)
    assert out.loc[0, "status"] == "non_english"


# --------------------------------------------------------------------------- aggregate

AGG_TEXTS = [
    "I know the answer; trust me.", "We know this together, thanks to Ana's notes.",
    "I don't know why it fails, can anyone help?", "Good point, I stand corrected.",
    "I restarted the server at noon.", "Our team documented it on the wiki for everyone.",
    "", None, 3, GERMAN, CHINESE, "   ", "My solution is better than yours.",
    "Thanks, I learned something today.",
]


@pytest.fixture(scope="module")
def scored_pool(model):
    return kmlang.score(pd.Series(AGG_TEXTS, dtype=object), model=model)


timestamps = st.one_of(
    st.none(), st.just(pd.NaT),
    st.datetimes(min_value=pd.Timestamp("2020-01-01").to_pydatetime(),
                 max_value=pd.Timestamp("2024-12-31").to_pydatetime()).map(str),
    st.datetimes(min_value=pd.Timestamp("2020-01-01").to_pydatetime(),
                 max_value=pd.Timestamp("2024-12-31").to_pydatetime()).map(
        lambda d: d.isoformat() + "+02:00"),
)


@st.composite
def score_frames(draw, pool_size: int):
    n = draw(st.integers(0, 25))
    rows = draw(st.lists(st.integers(0, pool_size - 1), min_size=n, max_size=n))
    authors = draw(st.lists(st.sampled_from(["ann", "bob", "cy", None]), min_size=n, max_size=n))
    stamps = draw(st.lists(timestamps, min_size=n, max_size=n))
    nan_rows = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    return rows, authors, stamps, nan_rows


def _frame(pool, rows, authors, stamps, nan_rows):
    df = pool.iloc[rows].reset_index(drop=True)
    df["author"] = pd.Series(authors, dtype=object)
    df["timestamp"] = pd.Series(stamps, dtype=object)
    for t in TARGETS[:3]:  # NaN scores on rows that are otherwise fine
        df.loc[np.asarray(nan_rows, dtype=bool), t] = np.nan
    return df


@FAST
@given(data=score_frames(len(AGG_TEXTS)), min_passages=st.integers(1, 4),
       freq=st.sampled_from([None, "M", "Q"]), interval=st.sampled_from(["se", "bootstrap"]))
def test_aggregate_accounts_for_every_row(scored_pool, data, min_passages, freq, interval):
    df = _frame(scored_pool, *data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # pandas: "could not infer format"
        out = kmlang.aggregate(df, by="author", freq=freq, min_passages=min_passages,
                               interval=interval, n_boot=50)
    included = df["status"].isin(DEFAULT_STATUSES)
    excluded = df.loc[~included, "status"].value_counts().to_dict()
    assert out.attrs["excluded_status"] == {str(k): int(v) for k, v in excluded.items()}
    missing_ts = out.attrs["missing_timestamp"]
    assert (out["n_passages"].sum() + out.attrs["dropped_passages"] + missing_ts
            == int(included.sum()))
    assert (out["n_passages"] >= min_passages).all()
    for t in TARGETS:
        vals = out[[t, f"{t}_lo", f"{t}_hi", f"{t}_raw"]].to_numpy(dtype=float)
        assert (np.abs(vals[np.isfinite(vals)]) <= 1 + 1e-9).all()
        assert out[t].notna().all()
    if freq is None:
        assert missing_ts == 0
    # map-reduce over any split gives the same table
    if interval == "se" and len(df) > 1:
        half = len(df) // 2
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            parts = [partial_aggregate(df.iloc[:half], by="author", freq=freq),
                     partial_aggregate(df.iloc[half:], by="author", freq=freq)]
        pd.testing.assert_frame_equal(combine_partials(parts, min_passages=min_passages), out,
                                      check_dtype=False)


def test_aggregate_all_rows_excluded(scored_pool):
    df = scored_pool[scored_pool["status"].isin(["missing", "empty", "not_a_string"])].copy()
    df["author"] = "ann"
    out = kmlang.aggregate(df, by="author")
    assert len(out) == 0 and "knowing" in out.columns
    assert sum(out.attrs["excluded_status"].values()) == len(df)


def test_aggregate_single_row_and_small_groups(scored_pool):
    one = scored_pool.iloc[[0]].assign(author="ann")
    assert len(kmlang.aggregate(one, by="author")) == 0  # below min_passages = 5
    out = kmlang.aggregate(one, by="author", min_passages=1)
    assert out["n_passages"].tolist() == [1] and out["knowing_se"].isna().all()
    small = scored_pool.iloc[:6].assign(author=["a", "a", "a", "a", "a", "b"])
    out = kmlang.aggregate(small, by="author", min_passages=3)
    assert out["author"].tolist() == ["a"] and out.attrs["dropped_groups"] == 1


def test_aggregate_nan_scores(scored_pool):
    df = scored_pool.iloc[:6].assign(author="a")
    for t in TARGETS:
        df[t] = np.nan
    out = kmlang.aggregate(df, by="author", min_passages=1)
    assert out["n_passages"].tolist() == [6]
    assert (out["knowing"] == 0).all()  # no weight anywhere reads as neutral


@pytest.mark.parametrize("stamps", [
    [None] * 6,
    ["2024-01-05 10:00"] * 3 + ["2024-02-05 10:00"] * 3,                      # naive
    ["2024-01-05T10:00:00+02:00", "2024-01-06 10:00", None, "2024-02-05T10:00:00Z",
     "", pd.Timestamp("2024-02-07", tz="UTC")],                              # mixed
    [pd.Timestamp("2024-01-05"), pd.Timestamp("2024-01-05", tz="Asia/Tokyo"), pd.NaT,
     "2024-03-01", 1_704_067_200, None],                                       # mixed objects
])
def test_aggregate_and_trend_with_messy_timestamps(scored_pool, stamps):
    df = scored_pool.iloc[:6].assign(author="a")
    df["timestamp"] = pd.Series(stamps, dtype=object, index=df.index)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        out = kmlang.aggregate(df, by="author", freq="M", min_passages=1)
        tr = kmlang.trend(df, by="author", freq="M", min_passages=1)
    assert out["n_passages"].sum() + out.attrs["missing_timestamp"] == 6
    assert len(tr.periods) == len(out)


def test_aggregate_with_a_timestamp_that_is_not_one_says_so(scored_pool):
    df = scored_pool.iloc[:3].assign(author="a", timestamp=["2024-01-01", "garbage", None])
    with pytest.raises(ValueError, match="'timestamp' holds values that are not timestamps"):
        kmlang.aggregate(df, by="author", freq="M", min_passages=1)


# --------------------------------------------------------------------------- readers

# Texts that survive a write: no lone surrogates (they cannot be encoded).
FILE_CHAR = st.characters(codec=None, exclude_categories=["Cs"])
file_text = st.lists(st.one_of(st.text(FILE_CHAR, max_size=15),
                               st.sampled_from([s for s in SPECIALS if not _SURROGATE.search(s)]
                                               + [",", '"', "'", "\t", ";", "\r", '""', "NA",
                                                  "null", "1.5", "\\", "\ufeff"])),
                     max_size=8).map("".join)


def _write_table(df: pd.DataFrame, path: Path, fmt: str, encoding: str = "utf-8") -> None:
    if fmt == "csv":  # RFC 4180 line ends, so a bare \r in a field is quoted
        df.to_csv(path, index=False, lineterminator="\r\n", encoding=encoding)
    elif fmt == "csv-pandas-default":
        df.to_csv(path, index=False, encoding=encoding)
    elif fmt == "tsv":
        df.to_csv(path, index=False, sep="\t", lineterminator="\r\n", encoding=encoding)
    elif fmt in ("jsonl", "jsonl-utf8"):
        with path.open("w", encoding="utf-8") as fh:
            for rec in df.to_dict(orient="records"):
                fh.write(json.dumps(rec, ensure_ascii=fmt == "jsonl") + "\n")
    elif fmt == "jsonl-pandas":
        df.to_json(path, orient="records", lines=True, force_ascii=False)
    else:
        raise AssertionError(fmt)


def _expected_texts(texts, fmt):
    if fmt.startswith("csv") or fmt == "tsv":  # an empty field is a missing value
        return [t if t != "" else None for t in texts]
    return list(texts)


@FAST
@given(texts=st.lists(file_text, min_size=1, max_size=10),
       authors=st.lists(st.one_of(st.none(), file_text), min_size=10, max_size=10),
       fmt=st.sampled_from(["csv", "tsv", "jsonl", "jsonl-utf8", "jsonl-pandas",
                            "csv-pandas-default"]))
def test_tabular_round_trip_keeps_rows_texts_and_order(texts, authors, fmt):
    if fmt == "csv-pandas-default":  # pandas writes a bare \r unquoted under "\n" line ends
        assume(not any("\r" in t for t in texts + [a or "" for a in authors]))
    n = len(texts)
    df = pd.DataFrame({"id": [f"r{i}" for i in range(n)],
                       "text": pd.Series(texts, dtype=object),
                       "author": pd.Series(authors[:n], dtype=object)})
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / ("data." + fmt.split("-")[0])
        _write_table(df, path, fmt)
        got = kmlang.read(path)
    assert got["id"].tolist() == [f"r{i}" for i in range(n)]
    assert got["text"].tolist() == _expected_texts(texts, fmt)
    want_authors = [None if a is None or (a == "" and not fmt.startswith("jsonl")) else a
                    for a in authors[:n]]
    assert got["author"].tolist() == want_authors
    assert got.attrs["skipped"] == []


@FAST
@given(texts=st.lists(file_text, min_size=1, max_size=8),
       encoding=st.sampled_from(["utf-16", "utf-8-sig", "latin-1"]))
def test_csv_in_other_encodings_round_trips(texts, encoding):
    if encoding == "latin-1":
        texts = [t.encode("latin-1", "ignore").decode("latin-1") for t in texts]
        texts = ["".join(c for c in t if not 0x80 <= ord(c) <= 0x9f) for t in texts]
    df = pd.DataFrame({"id": [f"r{i}" for i in range(len(texts))],
                       "text": pd.Series(texts, dtype=object)})
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "data.csv"
        _write_table(df, path, "csv", encoding=encoding)
        if encoding == "latin-1":
            raw = path.read_bytes()
            try:  # valid UTF-8 is read as UTF-8 (documented); such a file is ambiguous
                raw.decode("utf-8")
                assume(False)
            except UnicodeDecodeError:
                pass
        got = kmlang.read(path)
    assert got["text"].tolist() == _expected_texts(texts, "csv")
    if encoding == "latin-1":  # cp1252 agrees with Latin-1 outside 0x80-0x9f
        assert got.attrs["encoding"] in ("cp1252", "latin-1")
    else:
        assert got.attrs["encoding"] == encoding


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_multi_megabyte_cells_are_read_whole_and_scored_truncated(tmp_path, model, fmt):
    big = "We know. " * 700_000  # 6.3 MB
    token = "x" * 6_000_000
    df = pd.DataFrame({"id": ["a", "b", "c"], "text": pd.Series([big, token, "I know."],
                                                                dtype=object)})
    path = tmp_path / f"big.{fmt}"
    _write_table(df, path, fmt)
    got = kmlang.read(path)
    assert got["text"].tolist() == [big, token, "I know."]
    out = kmlang.score(got, model=model)
    assert out["status"].tolist() == ["truncated", "non_english", "ok"]


def test_jsonl_lone_surrogate_escapes_become_replacement_characters(tmp_path):
    path = tmp_path / "s.jsonl"
    path.write_text('{"text": "a\\ud800b", "author": "x\\udfff", "k": ["\\udc00"]}\n'
                    '{"text": "\\ud83d\\ude00 ok"}\n', encoding="utf-8")
    df = kmlang.read(path)
    assert df["text"].tolist() == ["a\ufffdb", "😀 ok"]
    assert df["author"].tolist() == ["x\ufffd", None]
    arr = tmp_path / "s.json"
    arr.write_text('[{"text": "a\\ud800b"}]', encoding="utf-8")
    assert kmlang.read(arr)["text"].tolist() == ["a\ufffdb"]


@FAST
@given(texts=st.lists(file_text, min_size=1, max_size=6), data=st.data())
def test_jsonl_cut_anywhere_is_read_whole_or_reported(texts, data):
    lines = [json.dumps({"id": f"r{i}", "text": t}, ensure_ascii=False).encode("utf-8") + b"\n"
             for i, t in enumerate(texts)]
    blob = b"".join(lines)
    cut = data.draw(st.integers(0, len(blob)), label="cut")
    prefix = blob[:cut]
    whole = prefix.count(b"\n")
    rest = prefix[prefix.rfind(b"\n") + 1:]
    rest_complete = whole < len(lines) and rest == lines[whole][:-1]
    expected = whole + int(rest_complete)
    broken = bool(rest) and not rest_complete
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "cut.jsonl"
        path.write_bytes(prefix)
        if broken:
            with pytest.raises(ReaderError, match=rf"cut\.jsonl, line {whole + 1}"):
                kmlang.read(path)
            with pytest.warns(UserWarning, match="Skipped 1"):
                df = kmlang.read(path, errors="skip")
            assert [e["line"] for e in df.attrs["skipped"]] == [whole + 1]
        else:
            df = kmlang.read(path)
            assert df.attrs["skipped"] == []
    assert df["id"].tolist() == [f"r{i}" for i in range(expected)]
    assert df["text"].tolist() == texts[:expected]


@FAST
@given(bodies=st.lists(file_text, min_size=1, max_size=6), data=st.data())
def test_stackexchange_xml_cut_anywhere_keeps_complete_rows_and_reports(bodies, data):
    head = b'<?xml version="1.0" encoding="utf-8"?>\n<posts>\n'
    rows = []
    for i, body in enumerate(bodies, 1):
        body = "".join(c for c in body if c in "\t\n\r" or (  # characters XML allows
            ord(c) >= 0x20 and c not in "\ufffe\uffff" and not 0xd800 <= ord(c) <= 0xdfff))
        rows.append(f'  <row Id="{i}" PostTypeId="1" Body={quoteattr(body)} />\n'.encode())
    blob = head + b"".join(rows) + b"</posts>\n"
    cut = data.draw(st.integers(0, len(blob)), label="cut")
    prefix = blob[:cut]
    complete = prefix.count(b"/>")
    broken = b"</posts>" not in prefix
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "Posts.xml"
        path.write_bytes(prefix)
        if broken:
            with pytest.raises(ReaderError, match=r"Posts\.xml, line \d+, column \d+"):
                kmlang.read(path, format="stackexchange")
            with pytest.warns(UserWarning, match="Skipped 1"):
                df = kmlang.read(path, format="stackexchange", errors="skip")
            (entry,) = df.attrs["skipped"]
            assert entry["line"] >= 1 and "XML" in entry["reason"]
        else:
            df = kmlang.read(path, format="stackexchange")
    assert df["id"].tolist() == [str(i) for i in range(1, complete + 1)]


def test_csv_latin1_and_utf16_bom_examples(tmp_path):
    latin = tmp_path / "latin.csv"
    latin.write_bytes("id,text\n1,Café crème à Zürich\n2,naïve façade\n".encode("latin-1"))
    df = kmlang.read(latin)
    assert df["text"].tolist() == ["Café crème à Zürich", "naïve façade"]
    utf16 = tmp_path / "utf16.csv"
    utf16.write_bytes("id,text\r\n1,我们知道 😀\r\n2,\"multi\r\nline\"\r\n".encode("utf-16"))
    df = kmlang.read(utf16)
    assert df["text"].tolist() == ["我们知道 😀", "multi\r\nline"]
    assert df.attrs["encoding"] == "utf-16"


def test_iter_read_of_a_half_written_jsonl_never_loses_rows_silently(tmp_path):
    path = tmp_path / "half.jsonl"
    path.write_bytes(b"".join(json.dumps({"text": f"t{i}"}).encode() + b"\n" for i in range(25))
                     + b'{"text": "t25", "au')
    with pytest.raises(ReaderError, match="half.jsonl, line 26.*half-written"):
        list(kmlang.io.readers.iter_read(path, chunksize=10))
    with pytest.warns(UserWarning, match="Skipped 1"):
        chunks = list(kmlang.io.readers.iter_read(path, chunksize=10, errors="skip"))
    assert [len(c) for c in chunks] == [10, 10, 5]
    assert [e["line"] for c in chunks for e in c.attrs["skipped"]] == [26]


@pytest.mark.parametrize("member", ["../evil.json", "/etc/evil.json", "a/../../evil.json",
                                    "C:/evil.json", "..\\evil.json"])
def test_zip_with_path_traversal_names_is_refused(tmp_path, member):
    path = tmp_path / "export.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("users.json", "[]")
        zf.writestr("channels.json", "[]")
        zf.writestr(member, "[]")
    for fmt in (None, "slack"):
        with pytest.raises(ReaderError, match="refusing archive member.*path traversal"):
            kmlang.read(path, format=fmt)
    assert not (tmp_path.parent / "evil.json").exists()


MBOX = b"""From alice@example.com Mon Jan  1 10:00:00 2024
From: Alice <alice@example.com>
Subject: broken boundary
Message-ID: <m1@example.com>
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="DECLARED"

--ACTUAL
Content-Type: text/plain; charset=utf-8

We know the fix.
--ACTUAL--

From bob@example.com Mon Jan  1 11:00:00 2024
From: =?utf-8?q?Bob_=E2=9C=93?= <bob@example.com>
Subject: bad charset
Message-ID: <m2@example.com>
Content-Type: text/plain; charset=no-such-charset
Content-Transfer-Encoding: base64

SSBrbm93IHRoZSBh!!!bnN3ZXI=

From carol@example.com Mon Jan  1 12:00:00 2024
From: Carol <carol@example.com>
Message-ID: <m3@example.com>
Content-Type: multipart/mixed

no boundary at all \xff\xfe bytes
"""


def test_mbox_with_broken_mime_gives_one_row_per_message(tmp_path):
    path = tmp_path / "broken.mbox"
    path.write_bytes(MBOX)
    df = kmlang.read(path)
    assert df["id"].tolist() == ["<m1@example.com>", "<m2@example.com>", "<m3@example.com>"]
    assert df.loc[0, "text"] == "We know the fix."
    assert df.attrs["skipped"] == []
    for text in df["text"]:
        assert isinstance(text, str)
        text.encode("utf-8")


# --------------------------------------------------------------------------- models


@pytest.fixture
def model_copy(tmp_path, model):
    dst = tmp_path / "model"
    shutil.copytree(default_model_dir(), dst)
    return dst


def _no_unpickling(monkeypatch):
    import skops.io as sio

    def refuse(*args, **kwargs):
        raise AssertionError("a model file that should have been refused was loaded")

    monkeypatch.setattr(kmlang.model.persist.joblib, "load", refuse)
    monkeypatch.setattr(sio, "loads", refuse)


@pytest.mark.parametrize("damage", ["flip_byte", "truncate", "foreign_pickle", "empty",
                                    "no_manifest", "bad_manifest"])
def test_damaged_model_is_refused_before_unpickling(model_copy, monkeypatch, damage):
    f = model_copy / "model.skops"
    marker = model_copy / "PWNED"
    if damage == "flip_byte":
        data = bytearray(f.read_bytes())
        data[len(data) // 2] ^= 0xFF
        f.write_bytes(bytes(data))
    elif damage == "truncate":
        f.write_bytes(f.read_bytes()[: f.stat().st_size // 3])
    elif damage == "foreign_pickle":
        class Evil:
            def __reduce__(self):
                return (Path.touch, (marker,))
        f.write_bytes(pickle.dumps(Evil()))
    elif damage == "empty":
        f.write_bytes(b"")
    elif damage == "no_manifest":
        (model_copy / "manifest.json").unlink()
    elif damage == "bad_manifest":
        (model_copy / "manifest.json").write_text("{not json", encoding="utf-8")
    _no_unpickling(monkeypatch)
    with pytest.raises(ModelIntegrityError) as err:
        kmlang.load_model(model_copy)
    assert str(model_copy) in str(err.value)
    assert any(w in str(err.value) for w in ("modified", "manifest", "missing"))
    assert not marker.exists()


@pytest.mark.parametrize("key", ["kmlang", "scikit-learn"])
def test_model_from_another_version_warns(model_copy, key):
    card = json.loads((model_copy / "card.json").read_text(encoding="utf-8"))
    card["versions"][key] = "0.0.1"
    (model_copy / "card.json").write_text(json.dumps(card), encoding="utf-8")
    manifest = json.loads((model_copy / "manifest.json").read_text(encoding="utf-8"))
    manifest["files"]["card.json"] = kmlang.model.persist._sha256(model_copy / "card.json")
    (model_copy / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.warns(ModelVersionWarning, match=rf"{key} 0\.0\.1"):
        loaded = kmlang.load_model(model_copy)
    assert kmlang.score(["I know."], model=loaded)["status"].tolist() == ["ok"]


# --------------------------------------------------------------------------- crash safety

STREAM_TEXTS = ["I don't know why the build fails, can anyone help?",
                "Thanks to Ana's notes we fixed it; I put the steps on the wiki for everyone.",
                "", "Trust me, I've done this for years.", GERMAN, "\x00\u200b", "We know 😀"]


def _input(path: Path, n: int, extra_every: int = 0) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        for i in range(n):
            rec = {"id": f"p{i}", "author": f"a{i % 5}",
                   "text": STREAM_TEXTS[i % len(STREAM_TEXTS)]}
            if extra_every and (i // extra_every) % 2:  # chunks with and without a field
                rec["title"] = f"title {i}, with a comma"
            else:
                rec["score"] = i
            fh.write(json.dumps(rec) + "\n")
    return path


@pytest.mark.parametrize("ext", [".csv", ".jsonl", ".parquet"])
def test_chunks_with_different_fields_stay_aligned(tmp_path, model, ext):
    src = _input(tmp_path / "in.jsonl", 40, extra_every=10)
    out = tmp_path / f"out{ext}"
    score_file(src, out, chunksize=10, progress=False)
    df = read_output(out)
    assert df["id"].tolist() == [f"p{i}" for i in range(40)]
    has_title = df["title"].notna().to_numpy()
    assert has_title.tolist() == [bool((i // 10) % 2) for i in range(40)]
    assert df.loc[has_title, "title"].str.startswith("title ").all()
    assert df.loc[~has_title, "score"].notna().all() and df.loc[has_title, "score"].isna().all()
    assert set(df["status"]) <= ALL_STATUSES


def test_crash_after_all_parts_before_the_output_resumes_by_joining_only(tmp_path, model,
                                                                         monkeypatch):
    src = _input(tmp_path / "in.jsonl", 60, extra_every=20)
    ref = tmp_path / "ref.csv"
    score_file(src, ref, chunksize=20, progress=False)
    out = tmp_path / "out.csv"
    real_join = stream._join

    def crash(parts, output, fmt):
        # die half-way through writing the joined file
        output.with_name(output.name + ".tmp").write_bytes(ref.read_bytes()[:100])
        raise KeyboardInterrupt

    monkeypatch.setattr(stream, "_join", crash)
    with pytest.raises(KeyboardInterrupt):
        score_file(src, out, chunksize=20, progress=False)
    assert not out.exists()
    assert len(list((tmp_path / "out.csv.partial").glob("part-*.csv"))) == 3
    monkeypatch.setattr(stream, "_join", real_join)

    def no_parse(*args, **kwargs):
        raise AssertionError("resume re-scored rows that were already done")

    for module, name in [(stream, "score"), (kmlang.model.scoring, "analyse_texts")]:
        monkeypatch.setattr(module, name, no_parse)
    summary = score_file(src, out, chunksize=20, resume=True, progress=False)
    assert summary["rows"] == 60 and summary["resumed_from"] == 60
    assert out.read_bytes() == ref.read_bytes()
    assert not (tmp_path / "out.csv.partial").exists()


def test_crash_during_clean_up_leaves_nothing_a_resume_trusts(tmp_path, model, monkeypatch):
    src = _input(tmp_path / "in.jsonl", 40)
    out = tmp_path / "out.jsonl"
    real_rmtree = shutil.rmtree
    calls = []

    def crash_once(path, *args, **kwargs):
        if str(path).endswith(".partial.done") and not calls:
            calls.append(path)
            (Path(path) / "part-000000-10.jsonl").unlink()  # half deleted
            raise KeyboardInterrupt
        return real_rmtree(path, *args, **kwargs)

    monkeypatch.setattr(stream.shutil, "rmtree", crash_once)
    with pytest.raises(KeyboardInterrupt):
        score_file(src, out, chunksize=10, progress=False)
    monkeypatch.setattr(stream.shutil, "rmtree", real_rmtree)
    assert len(read_output(out)) == 40  # the output was complete before the clean-up
    assert not (tmp_path / "out.jsonl.partial").exists()
    before = out.read_bytes()
    summary = score_file(src, out, chunksize=10, resume=True, progress=False)
    assert summary["rows"] == 40 and out.read_bytes() == before
    assert not (tmp_path / "out.jsonl.partial.done").exists()


def test_resume_with_other_settings_is_refused(tmp_path, model):
    src = _input(tmp_path / "in.jsonl", 30)
    out = tmp_path / "out.csv"
    partial = tmp_path / "out.csv.partial"
    partial.mkdir()
    meta = {"input": str(src.resolve()), "format": None, "columns": {}, "output_format": "csv",
            "keep_text": True, "max_chars": DEFAULT_MAX_CHARS, "errors": "raise"}
    (partial / "run.json").write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(ValueError, match="keep_text=True"):
        score_file(src, out, resume=True, keep_text=False, progress=False)


def _kill_during_join(src: Path, out: Path) -> bool:
    """Run score_file in a subprocess and SIGKILL it once the joined file is being written."""
    code = ("from kmlang.io.stream import score_file; "
            f"score_file({str(src)!r}, {str(out)!r}, chunksize=1, progress=False)")
    proc = subprocess.Popen([sys.executable, "-c", code])
    tmp = out.with_name(out.name + ".tmp")
    caught = False
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        if tmp.exists():
            os.kill(proc.pid, signal.SIGKILL)
            caught = True
            break
        time.sleep(0.002)
    if proc.poll() is None and not caught:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    return caught


@pytest.mark.slow
def test_sigkill_during_the_final_join_then_resume(tmp_path, model):
    # 1-row chunks: many Parquet parts make the join take a second or so
    src = _input(tmp_path / "in.jsonl", 120)
    ref = tmp_path / "ref.parquet"
    score_file(src, ref, chunksize=1, progress=False)
    out = tmp_path / "out.parquet"
    assert _kill_during_join(src, out), "the run ended before its join could be interrupted"
    assert not out.exists()  # killed mid-join: no complete-looking output
    assert out.with_name(out.name + ".tmp").exists()
    summary = score_file(src, out, chunksize=1, resume=True, progress=False)
    assert summary["rows"] == 120 and summary["resumed_from"] == 120  # only joined
    pd.testing.assert_frame_equal(read_output(out), read_output(ref))


@pytest.mark.slow
@pytest.mark.parametrize("delay", [0.5, 2.0, 4.0])
def test_sigkill_at_a_time_then_resume(tmp_path, model, delay):
    src = _input(tmp_path / "in.jsonl", 120, extra_every=15)
    ref = tmp_path / "ref.csv"
    score_file(src, ref, chunksize=15, progress=False)
    out = tmp_path / "out.csv"
    code = ("from kmlang.io.stream import score_file; "
            f"score_file({str(src)!r}, {str(out)!r}, chunksize=15, progress=False)")
    proc = subprocess.Popen([sys.executable, "-c", code])
    time.sleep(delay)
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    if out.exists():
        assert out.read_bytes() == ref.read_bytes()
    score_file(src, out, chunksize=15, resume=True, progress=False)
    assert out.read_bytes() == ref.read_bytes()


def test_output_csv_is_readable_with_the_csv_module(tmp_path, model):
    src = _input(tmp_path / "in.jsonl", 21, extra_every=7)
    out = tmp_path / "out.csv"
    score_file(src, out, chunksize=7, progress=False)
    with out.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    assert len({len(r) for r in rows}) == 1 and len(rows) == 22
