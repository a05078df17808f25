"""Streaming `kmlang score`: formats, order, resume after SIGKILL, no corrupt output."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from kmlang.cli import app
from kmlang.io.stream import score_file
from tests.conftest import read_output

TEXTS = [
    "I don't know why the build fails, can anyone help?",
    "Trust me, I've done this for years. You're wrong.",
    "Thanks to Ana's notes we fixed it; I put the steps on the wiki for everyone.",
    "I restarted the server at noon.",
    "",
    "Good point, I stand corrected.",
]


def _write_input(path: Path, n: int) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        for i in range(n):
            fh.write(json.dumps({"id": f"p{i}", "author": f"a{i % 7}", "text": TEXTS[i % len(TEXTS)]}) + "\n")
    return path


@pytest.mark.parametrize("ext", [".csv", ".jsonl", ".parquet"])
def test_score_file_formats_keep_order_and_rows(tmp_path, ext):
    src = _write_input(tmp_path / "in.jsonl", 53)
    out = tmp_path / f"out{ext}"
    summary = score_file(src, out, chunksize=10, progress=False)
    df = read_output(out)
    assert summary["rows"] == 53 and len(df) == 53
    assert list(df["id"]) == [f"p{i}" for i in range(53)]
    assert (df["status"] == "empty").sum() == sum(1 for i in range(53) if TEXTS[i % 6] == "")
    assert not (tmp_path / f"out{ext}.partial").exists()


def test_cli_score_and_quiet(tmp_path):
    src = _write_input(tmp_path / "in.jsonl", 12)
    out = tmp_path / "out.csv"
    res = CliRunner().invoke(app, ["score", str(src), "-o", str(out), "--quiet", "--chunksize", "5"])
    assert res.exit_code == 0, res.output
    assert len(read_output(out)) == 12


def test_unknown_output_extension(tmp_path):
    src = _write_input(tmp_path / "in.jsonl", 3)
    with pytest.raises(ValueError, match=".csv"):
        score_file(src, tmp_path / "out.xlsx", progress=False)


def _run_and_kill(src: Path, out: Path, parts: int) -> None:
    code = ("from kmlang.io.stream import score_file; import sys; "
            f"score_file({str(src)!r}, {str(out)!r}, chunksize=20, progress=False)")
    proc = subprocess.Popen([sys.executable, "-c", code])
    partial = out.with_name(out.name + ".partial")
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        n = len(list(partial.glob("part-*"))) if partial.exists() else 0
        if n >= parts:
            break
        time.sleep(0.01)
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait()


@pytest.mark.parametrize("kill_after_parts", [0, 1, 4])
def test_resume_after_sigkill_equals_uninterrupted_run(tmp_path, kill_after_parts):
    src = _write_input(tmp_path / "in.jsonl", 140)
    ref = tmp_path / "ref.csv"
    full = score_file(src, ref, chunksize=20, progress=False)
    out = tmp_path / "out.csv"
    _run_and_kill(src, out, kill_after_parts)
    partial = out.with_name(out.name + ".partial")
    # a half-written part (crash mid-write) must be ignored
    if partial.exists():
        (partial / "part-000099-20.csv.tmp").write_text("garbage", encoding="utf-8")
    summary = score_file(src, out, chunksize=20, resume=True, progress=False)
    assert summary["rows"] == 140
    assert summary["status"] == full["status"]  # counts cover the rows scored before the crash too
    pd.testing.assert_frame_equal(read_output(out), read_output(ref))


def test_crash_never_leaves_a_complete_looking_file(tmp_path):
    src = _write_input(tmp_path / "in.jsonl", 140)
    out = tmp_path / "out.csv"
    _run_and_kill(src, out, 2)
    # whatever happened, the output name exists only if complete
    if out.exists():
        assert len(read_output(out)) == 140


def test_resume_refuses_another_runs_partial(tmp_path):
    a = _write_input(tmp_path / "a.jsonl", 30)
    b = _write_input(tmp_path / "b.jsonl", 30)
    out = tmp_path / "out.csv"
    partial = out.with_name(out.name + ".partial")
    partial.mkdir()
    (partial / "run.json").write_text(json.dumps({"input": str(a.resolve()), "format": None, "columns": {},
                                                   "output_format": "csv"}), encoding="utf-8")
    with pytest.raises(ValueError, match="another run"):
        score_file(b, out, resume=True, progress=False)


def test_without_resume_a_stale_partial_is_discarded_with_a_warning(tmp_path):
    src = _write_input(tmp_path / "in.jsonl", 10)
    out = tmp_path / "out.csv"
    (out.with_name(out.name + ".partial")).mkdir()
    with pytest.warns(UserWarning, match="Discarding"):
        score_file(src, out, progress=False)
    assert len(read_output(out)) == 10


def test_empty_input_writes_header_only(tmp_path):
    src = tmp_path / "empty.jsonl"
    src.write_text("", encoding="utf-8")
    out = tmp_path / "out.csv"
    try:
        score_file(src, out, format="jsonl", progress=False)
    except Exception as e:  # an empty file may be refused by the reader, but clearly
        assert "empty" in str(e).lower() or "no " in str(e).lower()
        return
    assert out.read_text(encoding="utf-8").startswith("text")


def test_cli_end_to_end_on_5000_real_passages(tmp_path, shared):
    src = tmp_path / "se.jsonl"
    with (shared / "corpora" / "stackexchange.jsonl").open(encoding="utf-8") as fh, src.open("w") as out:
        for line, _ in zip(fh, range(5000), strict=False):
            out.write(line)
    scores = tmp_path / "scores.parquet"
    runner = CliRunner()
    res = runner.invoke(app, ["score", str(src), "-o", str(scores), "--quiet"])
    assert res.exit_code == 0, res.output
    df = pd.read_parquet(scores)
    assert len(df) == 5000 and df["id"].is_unique
    assert (df["status"].isin(["ok", "truncated", "non_english"])).all()
    by_author = tmp_path / "by_author.csv"
    res = runner.invoke(app, ["aggregate", str(scores), "--by", "author", "-o", str(by_author)])
    assert res.exit_code == 0, res.output
    agg = pd.read_csv(by_author)
    assert agg["n_passages"].min() >= 5 and {"overall", "overall_lo", "overall_hi"} <= set(agg.columns)
    monthly = tmp_path / "monthly.csv"
    res = runner.invoke(app, ["aggregate", str(scores), "--by", "none", "--freq", "M", "-o", str(monthly)])
    assert res.exit_code == 0, res.output
    assert len(pd.read_csv(monthly)) > 3


def test_real_stackexchange_export_scores(shared):
    import kmlang

    df = kmlang.read(shared / "corpora" / "exports" / "stackexchange_conlang_meta")
    scores = kmlang.score(df)
    assert len(scores) == len(df) > 100
    assert scores["timestamp"].dt.tz is not None


def test_two_processes_keep_one_pool_and_equal_one_process(tmp_path):
    """n_process=2 scores chunk k+1 in the workers while chunk k is written; same output as one process."""
    src = _write_input(tmp_path / "in.jsonl", 2600)
    one, two = tmp_path / "one.csv", tmp_path / "two.csv"
    score_file(src, one, chunksize=1000, progress=False)
    summary = score_file(src, two, chunksize=1000, n_process=2, progress=False)
    assert summary["rows"] == 2600
    pd.testing.assert_frame_equal(read_output(one), read_output(two))
