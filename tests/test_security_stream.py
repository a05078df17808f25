"""Issue 14, items 1, 7 and (from 12) the empty part file: resume integrity, the output lock,
``-o`` equal to the input, CSV formula injection.

Each test reproduces a defect of the earlier ``score_file`` (which trusted the row count in a part's
file name and only the input's path): it failed before the fix. Inputs are generated here: a few
thousand short rows, small chunks.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import kmlang.io.stream as stream
from kmlang.cli import app, main
from kmlang.io.stream import OutputLockedError, ResumeError, escape_csv_cells, score_file
from tests.conftest import read_output

TEXTS = ["I don't know why it fails, can anyone help?", "Trust me, you're wrong.",
         "Thanks, we fixed it.", "I restarted the server.", "Good point, I stand corrected."]
N = 2000
CHUNK = 250


def _write(path: Path, n: int, prefix: str = "p", text=None) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        for i in range(n):
            fh.write(json.dumps({"id": f"{prefix}{i}", "author": f"a{i % 7}",
                                 "text": text or TEXTS[i % len(TEXTS)]}) + "\n")
    return path


def _ids(out: Path) -> list[str]:
    return read_output(out)["id"].astype(str).tolist()


@pytest.fixture
def interrupted(tmp_path, monkeypatch):
    """An input of N rows and a run killed after ``k`` parts (default 4 of 8): (input, output)."""
    def make(k: int = 4, n: int = N, ext: str = ".csv"):
        src = _write(tmp_path / "in.jsonl", n)
        out = tmp_path / f"out{ext}"
        real = stream.score
        calls = []

        def crash(*args, **kwargs):
            calls.append(1)
            if len(calls) > k:
                raise KeyboardInterrupt
            return real(*args, **kwargs)

        monkeypatch.setattr(stream, "score", crash)
        with pytest.raises(KeyboardInterrupt):
            score_file(src, out, chunksize=CHUNK, progress=False)
        monkeypatch.setattr(stream, "score", real)
        assert len(list(out.with_name(out.name + ".partial").glob("part-*"))) == k
        return src, out
    return make


def _part(out: Path, k: int) -> Path:
    return next(out.with_name(out.name + ".partial").glob(f"part-{k:06d}-*"))


# ------------------------------------------------------------------ damaged parts

@pytest.mark.parametrize("ext", [".csv", ".jsonl", ".parquet"])
def test_truncated_part_is_scored_again(interrupted, ext):
    # before: exit 0, "4,000 rows" in the summary, 3,749 in the CSV, and ragged rows
    src, out = interrupted(ext=ext)
    part = _part(out, 2)
    part.write_bytes(part.read_bytes()[: part.stat().st_size // 2])
    with pytest.warns(UserWarning, match=r"Part 2 .* truncated.*from row 500 \(2 parts dropped\)"):
        summary = score_file(src, out, chunksize=CHUNK, resume=True, progress=False)
    assert _ids(out) == [f"p{i}" for i in range(N)]
    assert summary["rows"] == N and summary["resumed_from"] == 2 * CHUNK
    assert summary["rescored_parts"] == 2
    assert sum(summary["status"].values()) == N


@pytest.mark.parametrize("damage", ["empty", "missing", "edited"])
def test_empty_missing_or_edited_part_is_scored_again(interrupted, damage):
    # before: a zero-byte part gave a raw pandas EmptyDataError traceback; a missing one a RuntimeError
    src, out = interrupted()
    part = _part(out, 1)
    if damage == "empty":
        part.write_bytes(b"")
    elif damage == "missing":
        part.unlink()
    else:
        data = bytearray(part.read_bytes())
        data[-5] = ord("X") if data[-5] != ord("X") else ord("Y")
        part.write_bytes(bytes(data))
    with pytest.warns(UserWarning, match="Part 1 "):
        summary = score_file(src, out, chunksize=CHUNK, resume=True, progress=False)
    assert _ids(out) == [f"p{i}" for i in range(N)]
    assert summary["resumed_from"] == CHUNK


def test_resume_with_another_chunksize_keeps_every_row(interrupted):
    src, out = interrupted()
    score_file(src, out, chunksize=333, resume=True, progress=False)
    assert _ids(out) == [f"p{i}" for i in range(N)]


def test_resume_with_n_process(interrupted):
    src, out = interrupted(k=3)
    part = _part(out, 2)
    part.write_bytes(part.read_bytes()[:100])
    with pytest.warns(UserWarning, match="Part 2 "):
        score_file(src, out, chunksize=CHUNK, resume=True, progress=False, n_process=2)
    assert _ids(out) == [f"p{i}" for i in range(N)]


# ------------------------------------------------------------------ a changed input

def test_rows_inserted_at_the_top_are_refused(interrupted):
    # before: exit 0 with 1,000 rows duplicated and 1,000 missing
    src, out = interrupted()
    src.write_text(_write(src.with_name("top.jsonl"), 1000, prefix="new").read_text()
                   + src.read_text(), encoding="utf-8")
    with pytest.raises(ResumeError, match=r"in\.jsonl has changed .* rows 0 to 249 \(part 0\)"):
        score_file(src, out, chunksize=CHUNK, resume=True, progress=False)
    assert not out.exists()


def test_another_file_of_the_same_name_is_refused(interrupted):
    # before: exit 0, the output held 2,000 rows of the old file and 1,500 of the new one
    src, out = interrupted()
    src.unlink()
    _write(src, 3500, prefix="other")
    with pytest.raises(ResumeError, match="has changed"):
        score_file(src, out, chunksize=CHUNK, resume=True, progress=False)
    assert not out.exists()


def test_a_row_edited_inside_the_scored_rows_is_refused(interrupted):
    src, out = interrupted()
    lines = src.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[600] = lines[600].replace("p600", "q600")  # part 2 holds rows 500-749
    src.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(ResumeError, match=r"rows 500 to 749 \(part 2\)"):
        score_file(src, out, chunksize=CHUNK, resume=True, progress=False)


def test_input_cut_short_is_refused(interrupted):
    src, out = interrupted()
    lines = src.read_text(encoding="utf-8").splitlines(keepends=True)
    src.write_text("".join(lines[:600]), encoding="utf-8")
    with pytest.raises(ResumeError, match="has changed"):
        score_file(src, out, chunksize=CHUNK, resume=True, progress=False)


def test_a_change_after_the_scored_rows_resumes(interrupted):
    # the rows already scored are what matters: fixing a broken record further on is fine
    src, out = interrupted()
    lines = src.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[1500] = json.dumps({"id": "fixed", "author": "a", "text": "fixed"}) + "\n"
    src.write_text("".join(lines), encoding="utf-8")
    with pytest.warns(UserWarning, match="but not in its first 1,000 rows"):
        score_file(src, out, chunksize=CHUNK, resume=True, progress=False)
    expected = [f"p{i}" for i in range(N)]
    expected[1500] = "fixed"
    assert _ids(out) == expected


def test_a_touched_but_identical_input_resumes_silently(interrupted, recwarn):
    src, out = interrupted()
    os.utime(src, (time.time() + 60, time.time() + 60))
    score_file(src, out, chunksize=CHUNK, resume=True, progress=False)
    assert _ids(out) == [f"p{i}" for i in range(N)]
    assert not [w for w in recwarn if "changed" in str(w.message)]


def test_other_settings_or_model_are_refused(interrupted, tmp_path):
    src, out = interrupted()
    with pytest.raises(ResumeError, match=r"csv_escape=True \(now False\)"):
        score_file(src, out, chunksize=CHUNK, resume=True, progress=False, csv_escape=False)
    manifest = out.with_name(out.name + ".partial") / "run.json"
    meta = json.loads(manifest.read_text(encoding="utf-8"))
    meta["model"] = "manifest:0123"
    manifest.write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(ResumeError, match="another model"):
        score_file(src, out, chunksize=CHUNK, resume=True, progress=False)


def test_cli_refusal_is_one_line(interrupted, tmp_path, capsys, monkeypatch):
    src, out = interrupted()
    src.write_text("".join(reversed(src.read_text(encoding="utf-8").splitlines(keepends=True))),
                   encoding="utf-8")
    code = main(["score", str(src), "-o", str(out), "--chunksize", str(CHUNK), "-q", "--resume"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.startswith("error: ") and "has changed since the run" in err and "Traceback" not in err
    assert len(err.splitlines()) == 1
    assert len(list(out.with_name(out.name + ".partial").glob("part-*"))) == 4  # left as they were


# ------------------------------------------------------------------ two scorers, -o == input

def _slow_scorer(src: Path, out: Path) -> subprocess.Popen:
    code = ("import time, kmlang.io.stream as s\n"
            "real = s.score\n"
            "def slow(*a, **k):\n    time.sleep(0.4)\n    return real(*a, **k)\n"
            "s.score = slow\n"
            f"s.score_file({str(src)!r}, {str(out)!r}, chunksize={CHUNK}, progress=False)\n")
    return subprocess.Popen([sys.executable, "-c", code], cwd=Path(__file__).parents[1])


def test_second_scorer_of_the_same_output_is_refused(tmp_path, capsys):
    # before: the second run deleted the first one's parts; the first then died with FileNotFoundError
    src = _write(tmp_path / "in.jsonl", N)
    out = tmp_path / "out.csv"
    partial = out.with_name(out.name + ".partial")
    first = _slow_scorer(src, out)
    try:
        deadline = time.time() + 120
        while len(list(partial.glob("part-*"))) < 2 and first.poll() is None and time.time() < deadline:
            time.sleep(0.05)
        assert first.poll() is None, "the first scorer ended too soon"
        def finished():  # a part being written is a .tmp file until it is renamed into place
            return {p.name for p in partial.glob("part-*") if not p.name.endswith(".tmp")}

        parts = finished()
        for resume in (False, True):
            with pytest.raises(OutputLockedError, match=rf"pid {first.pid}"):
                score_file(src, out, chunksize=CHUNK, resume=resume, progress=False)
        assert parts <= finished()  # the first one's parts stay
        assert main(["score", str(src), "-o", str(out), "-q"]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: ") and "being written by another kmlang score" in err
        assert "--resume" not in err and len(err.splitlines()) == 1
    finally:
        assert first.wait(timeout=300) == 0
    assert _ids(out) == [f"p{i}" for i in range(N)]


def test_stale_lock_of_a_dead_process_is_taken_over(interrupted):
    src, out = interrupted()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    import socket

    (out.with_name(out.name + ".partial") / "lock").write_text(f"{dead.pid} {socket.gethostname()}\n")
    summary = score_file(src, out, chunksize=CHUNK, resume=True, progress=False)
    assert summary["resumed_from"] == 4 * CHUNK and _ids(out) == [f"p{i}" for i in range(N)]


def test_output_equal_to_the_input_is_refused(tmp_path, monkeypatch, capsys):
    # before: exit 0 and the input was overwritten by its own scores
    src = _write(tmp_path / "in.jsonl", 30)
    data = src.read_bytes()
    with pytest.raises(ValueError, match="is the input"):
        score_file(src, src, progress=False)
    monkeypatch.chdir(tmp_path)
    assert main(["score", "in.jsonl", "-o", str(tmp_path / "." / "in.jsonl")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: The output") and "is the input" in err and len(err.splitlines()) == 1
    os.link(src, tmp_path / "hard.jsonl")
    with pytest.raises(ValueError, match="is the input"):
        score_file(src, tmp_path / "hard.jsonl", progress=False)
    assert src.read_bytes() == data
    assert not (tmp_path / "in.jsonl.partial").exists()


# ------------------------------------------------------------------ CSV formula injection

FORMULA = '=HYPERLINK("http://x","y")'


def _risky(tmp_path: Path) -> Path:
    rows = [{"id": 1, "author": "@evil", "text": FORMULA},
            {"id": 2, "author": "-dash", "text": "+1 agreed"},
            {"id": 3, "author": "\tTab", "text": "@mention first"},
            {"id": 4, "author": "fine", "text": "-5 is fine"},
            {"id": 5, "author": "sure", "text": "Trust me, I've done this for 20 years. You're wrong."}]
    src = tmp_path / "risky.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows * 3), encoding="utf-8")
    return src


def test_score_escapes_formulas_in_csv(tmp_path):
    # before: '=HYPERLINK("http://x","y")' was written raw
    src = _risky(tmp_path)
    out = tmp_path / "out.csv"
    score_file(src, out, chunksize=5, progress=False)
    df = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert df["text"].iloc[0] == "'" + FORMULA
    assert df["author"].tolist()[:4] == ["'@evil", "'-dash", "'\tTab", "fine"]
    assert df["text"].tolist()[1:4] == ["'+1 agreed", "'@mention first", "'-5 is fine"]
    assert df["id"].tolist()[:4] == ["1", "2", "3", "4"]  # numbers stay numbers
    scores = pd.read_csv(out)
    numeric = scores.drop(columns=["text", "author", "status", "doc_id", "timestamp", "parent_id"],
                          errors="ignore")
    assert all(pd.api.types.is_numeric_dtype(d) for d in numeric.dtypes)  # nothing escaped there
    assert (numeric < 0).any().any()  # negative scores stay numbers
    raw = tmp_path / "raw.csv"
    score_file(src, raw, chunksize=5, progress=False, csv_escape=False)
    assert pd.read_csv(raw, dtype=str, keep_default_na=False)["text"].iloc[0] == FORMULA


@pytest.mark.parametrize("ext", [".jsonl", ".parquet"])
def test_other_formats_are_not_escaped(tmp_path, ext):
    out = tmp_path / f"out{ext}"
    score_file(_risky(tmp_path), out, progress=False)
    df = read_output(out)
    assert df["text"].iloc[0] == FORMULA and df["author"].iloc[0] == "@evil"


def test_cli_score_and_aggregate_escape_unless_told_not_to(tmp_path):
    src = _risky(tmp_path)
    runner = CliRunner()
    for flag, expected in (([], "'@evil"), (["--no-csv-escape"], "@evil")):
        scores = tmp_path / f"scores{len(flag)}.csv"
        res = runner.invoke(app, ["score", str(src), "-o", str(scores), "-q", *flag])
        assert res.exit_code == 0, res.output
        assert pd.read_csv(scores, dtype=str, keep_default_na=False)["author"].iloc[0] == expected
        table = tmp_path / f"by_author{len(flag)}.csv"
        res = runner.invoke(app, ["aggregate", str(scores), "-o", str(table), "--by", "author",
                                  "--min-passages", "1", *flag])
        assert res.exit_code == 0, res.output
        authors = pd.read_csv(table, dtype=str, keep_default_na=False)["author"].tolist()
        assert expected in authors
        if not flag:
            assert not any(a[:1] in "=+-@\t\r" for a in authors)
        jsonl = tmp_path / f"by_author{len(flag)}.jsonl"
        res = runner.invoke(app, ["aggregate", str(scores), "-o", str(jsonl), "--by", "author",
                                  "--min-passages", "1", *flag])
        assert res.exit_code == 0 and expected in pd.read_json(jsonl, lines=True)["author"].tolist()


def test_escape_csv_cells_leaves_non_strings_alone():
    df = pd.DataFrame({"a": ["=1", None, 3, "\rCR"], "n": [-1.5, 2.0, None, 4.0],
                       "t": pd.to_datetime(["2024-01-01"] * 4), "=h": ["x"] * 4})
    out = escape_csv_cells(df)
    assert out["a"].tolist()[0] == "'=1" and out["a"].tolist()[2] == 3 and out["a"].isna().tolist()[1]
    assert out["a"].tolist()[3] == "'\rCR"
    assert out["n"].tolist()[0] == -1.5 and list(out.columns)[-1] == "'=h"
    assert escape_csv_cells(out)["a"].tolist()[0] == "'=1"  # idempotent
    assert df["a"].tolist()[0] == "=1"  # the caller's frame is left alone


def test_output_never_holds_more_text_than_max_chars(tmp_path):
    import json

    from kmlang.io.stream import score_file

    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"id": f"p{i}", "text": "I don't know why. " * 40}) + "\n"
                           for i in range(3)), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    score_file(src, out, max_chars=50, progress=False)
    rows = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert all(len(r["text"]) <= 50 and r["status"] == "truncated" for r in rows)
