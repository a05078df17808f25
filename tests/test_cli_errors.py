"""User mistakes on the command line: one or two lines on stderr, exit 2, the CLI's own spelling.

Most cases run :func:`kmlang.cli.main` (the ``kmlang`` entry point) in this
process; a few run ``python -m kmlang`` in a subprocess, as a user would.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import warnings
from pathlib import Path

import pandas as pd
import pytest
import typer

import kmlang.io.stream
from kmlang.cli import app, main
from kmlang.cli._errors import cli_spelling, user_message
from tests.conftest import REPO

TEXTS = ["I don't know why it fails, can anyone help?", "Trust me, you're wrong.",
         "Thanks to Ana's notes we fixed it; the steps are on the wiki.", "I went to lunch."]


@pytest.fixture()
def files(tmp_path, monkeypatch):
    """Small inputs written for these tests; the working directory is tmp_path."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("KMLANG_DEBUG", raising=False)
    posts = pd.DataFrame({"body": TEXTS, "user": ["ana", "ben", "ana", "cy"]})
    posts.to_csv("posts.csv", index=False)
    Path("broken.jsonl").write_text('{"text": "We know.", "id": 1}\n{"text": "oops\n',
                                    encoding="utf-8")
    Path("empty.csv").write_text("", encoding="utf-8")
    with open("mid.jsonl", "w", encoding="utf-8") as fh:  # line 7 is broken
        for i in range(6):
            fh.write(json.dumps({"id": i, "text": TEXTS[i % 4]}) + "\n")
        fh.write('{"id": 6, "text": "cut off\n')
        for i in range(7, 10):
            fh.write(json.dumps({"id": i, "text": TEXTS[i % 4]}) + "\n")
    return tmp_path


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def assert_user_error(code: int, err: str, *expected: str, lines: int | None = None) -> list[str]:
    got = err.strip().splitlines()
    assert code == 2, err
    assert 1 <= len(got) <= 2, err
    if lines is not None:
        assert len(got) == lines, err
    assert got[0].startswith("error: "), err
    assert "Traceback" not in err
    for e in expected:
        assert e in err, (e, err)
    return got


# ------------------------------------------------------------------ each user error


def test_unknown_format(files, capsys):
    code, _, err = run(capsys, "score", "posts.csv", "-o", "out.csv", "--format", "foo")
    assert_user_error(code, err, "Unknown format 'foo'", "stackexchange",
                      "(or leave out --format to detect it)", lines=1)
    assert "format=" not in err


def test_missing_column_uses_the_c_option(files, capsys):
    code, _, err = run(capsys, "score", "posts.csv", "-o", "out.csv", "-c", "text=nope")
    assert_user_error(code, err, "Column 'nope' (given as -c text=nope)", "body, user", lines=1)
    assert not Path("out.csv").exists() and not Path("out.csv.partial").exists()


def test_no_text_column_says_which_option_names_it(files, capsys):
    pd.DataFrame({"words": TEXTS}).to_csv("other.csv", index=False)
    code, _, err = run(capsys, "score", "other.csv", "-o", "out.csv")
    assert_user_error(code, err, "words", "-c text=COLUMN", lines=1)
    assert "text='" not in err


def test_missing_file(files, capsys):
    code, _, err = run(capsys, "score", "nope.csv", "-o", "out.csv")
    assert_user_error(code, err, "nope.csv", lines=1)


def test_unreadable_input_file(files, capsys):
    code, _, err = run(capsys, "score", "broken.jsonl", "-o", "out.csv")
    assert_user_error(code, err, "broken.jsonl, line 2", "--errors skip", lines=1)
    assert "errors='skip'" not in err and "df.attrs" not in err


def test_unreadable_scores_file(files, capsys):
    code, _, err = run(capsys, "aggregate", "empty.csv", "-o", "by_author.csv")
    assert_user_error(code, err, "empty.csv is not a readable scores file", lines=1)


def test_not_a_scores_file(files, capsys):
    code, _, err = run(capsys, "aggregate", "posts.csv", "-o", "by_author.csv")
    assert_user_error(code, err, "posts.csv is not a scores file", "kmlang score posts.csv",
                      lines=1)


def test_unknown_output_format(files, capsys):
    code, _, err = run(capsys, "score", "posts.csv", "-o", "out.txt")
    assert_user_error(code, err, "out.txt", ".csv", ".parquet", lines=1)


@pytest.mark.parametrize(("args", "expected"), [
    (["--n-process", "two"], "'--n-process'"),
    (["--chunksize", "0"], "'--chunksize'"),
    (["--errors", "ignore"], "'--errors'"),
    (["-c", "txt=body"], "'-c' / '--column'"),
    (["--no-such-option"], "--no-such-option"),
])
def test_bad_option_values(files, capsys, args, expected):
    code, _, err = run(capsys, "score", "posts.csv", "-o", "out.csv", *args)
    lines = assert_user_error(code, err, expected)
    if len(lines) == 2:
        assert lines[1] == "Try 'kmlang score --help' for help."


def test_bad_option_value_of_aggregate_in_cli_spelling(files, capsys):
    assert main(["score", "posts.csv", "-o", "scores.csv", "-q"]) == 0
    code, _, err = run(capsys, "aggregate", "scores.csv", "-o", "a.csv", "--freq", "fortnight")
    assert_user_error(code, err, "--freq must be", "'fortnight'", lines=1)
    code, _, err = run(capsys, "aggregate", "scores.csv", "-o", "a.csv", "--freq", "M",
                       "--timestamp", "when")
    assert_user_error(code, err, "'when'", "--freq M", lines=1)
    assert "freq=" not in err


def test_tampered_model(files, capsys, tmp_path):
    import shutil

    from kmlang.model.persist import default_model_dir

    model = tmp_path / "model"
    shutil.copytree(default_model_dir(), model)
    with open(model / "card.json", "a", encoding="utf-8") as fh:
        fh.write(" ")
    code, _, err = run(capsys, "score", "posts.csv", "-o", "out.csv", "--model", str(model))
    assert_user_error(code, err, "card.json does not match its manifest", lines=1)
    assert not Path("out.csv.partial").exists()  # nothing done, nothing left behind
    code, _, err = run(capsys, "explain", "We know.", "--model", str(tmp_path / "none"))
    assert_user_error(code, err, "No model directory", lines=1)


def test_missing_extra_fails_before_any_work(files, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    code, _, err = run(capsys, "report", "posts.csv", "-o", "report.html")
    assert_user_error(code, err, "kmlang report needs matplotlib", 'pip install "kmlang[plot]"',
                      lines=1)
    assert not Path("report.html").exists()
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    code, _, err = run(capsys, "score", "posts.csv", "-o", "scores.parquet")
    assert_user_error(code, err, "needs pyarrow", 'pip install "kmlang[readers]"', lines=1)
    assert not Path("scores.parquet.partial").exists()


# ------------------------------------------------------------------ a run that stops midway


def test_failed_run_says_what_is_kept_and_how_to_resume(files, capsys):
    code, _, err = run(capsys, "score", "mid.jsonl", "-o", "out.csv", "--chunksize", "2", "-q")
    first, hint = assert_user_error(code, err, "mid.jsonl, line 7", lines=2)
    assert "6 scored rows (3 finished parts) are kept in out.csv.partial" in hint
    command = hint.split("continue with: ")[1]
    assert command == "kmlang score mid.jsonl -o out.csv --chunksize 2 -q --resume"
    # fix the input, then run exactly that command
    lines = Path("mid.jsonl").read_text(encoding="utf-8").splitlines()
    lines[6] = json.dumps({"id": 6, "text": "cut off"})
    Path("mid.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert main(shlex.split(command)[1:]) == 0
    out = pd.read_csv("out.csv")
    assert out["id"].tolist() == list(range(10))
    assert not Path("out.csv.partial").exists()


def test_interrupted_run_says_how_to_resume(files, capsys, monkeypatch):
    real, calls = kmlang.io.stream.score, []

    def score_then_interrupt(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(kmlang.io.stream, "score", score_then_interrupt)
    code, _, err = run(capsys, "score", "posts.csv", "-o", "out.jsonl", "--chunksize", "1", "-q",
                       "-c", "author=user")
    assert code == 130
    assert err.strip() == ("interrupted: 2 scored rows (2 finished parts) are kept in "
                           "out.jsonl.partial; continue with: kmlang score posts.csv -o out.jsonl "
                           "-c author=user --chunksize 1 -q --resume")


def test_nothing_done_leaves_no_partial_folder(files, capsys):
    code, _, err = run(capsys, "score", "broken.jsonl", "-o", "out.csv")
    assert_user_error(code, err, lines=1)
    assert not Path("out.csv.partial").exists()


# ------------------------------------------------------------------ warnings, help, --debug


def test_warnings_are_one_line(files, capsys):
    Path("out.csv.partial").mkdir()  # an earlier, unfinished run
    code, _, err = run(capsys, "score", "posts.csv", "-o", "out.csv", "-q")
    assert code == 0
    assert err.strip().splitlines() == [
        "warning: Discarding an unfinished earlier run in out.csv.partial (use --resume to "
        "continue it instead)."]


def test_warning_format_is_only_installed_by_the_entry_point(files, capsys):
    before = warnings.showwarning
    main(["score", "posts.csv", "-o", "out.csv", "-q"])
    assert warnings.showwarning is before


@pytest.mark.parametrize("command", sorted(typer.main.get_command(app).commands) + [None])
def test_help_shows_no_bool_placeholders(capsys, command):
    code, out, _ = run(capsys, *([command] if command else []), "--help")
    assert code == 0 and "Usage: kmlang" in out
    assert "<bool>" not in out
    if command == "score":
        assert re.search(r"^\s+--resume\s+Continue", out, flags=re.M)
        assert re.search(r"^\s+-q, --quiet\s+No progress bar", out, flags=re.M)


@pytest.mark.parametrize("how", ["option", "environment"])
def test_debug_shows_the_traceback(files, monkeypatch, how):
    args = ["score", "nope.csv", "-o", "out.csv"]
    if how == "option":
        args.insert(0, "--debug")
    else:
        monkeypatch.setenv("KMLANG_DEBUG", "1")
    with pytest.raises(FileNotFoundError):
        main(args)


def test_debug_after_the_command_says_where_it_goes(files, capsys):
    code, _, err = run(capsys, "score", "posts.csv", "-o", "out.csv", "--debug")
    _, hint = assert_user_error(code, err, "--debug", lines=2)
    assert hint == "--debug goes before the command: kmlang --debug score ..."


def test_a_bug_keeps_its_traceback():
    try:
        int("not a number")  # a ValueError raised outside kmlang's code: not a user error
    except ValueError as exc:
        assert user_message(exc) is None
    assert user_message(RuntimeError("boom")) is None


def test_library_keywords_are_spelled_as_options():
    assert cli_spelling("x belongs to another run of this input, with format=None, "
                        "columns={'text': 'body'}, keep_text=False, errors='raise'") == \
        ("x belongs to another run of this input, with no --format, -c text=body, --no-text, "
         "--errors raise")
    assert cli_spelling("Pass timestamp='<column>'.", "aggregate") == "Pass --timestamp COLUMN."
    assert cli_spelling("Pass timestamp='<column>'.", "report") == "Pass -c timestamp=COLUMN."


# ------------------------------------------------------------------ python -m kmlang, as a user


def _kmlang(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k != "KMLANG_DEBUG"} | (env or {})
    environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), environ.get("PYTHONPATH")]))
    return subprocess.run([sys.executable, "-m", "kmlang", *args], cwd=cwd, env=environ,
                          capture_output=True, text=True, timeout=300)


def test_python_m_kmlang_user_error_and_debug(files):
    proc = _kmlang("score", "posts.csv", "-o", "out.csv", "--format", "nope", cwd=files)
    assert_user_error(proc.returncode, proc.stderr, "Unknown format 'nope'", lines=1)
    assert proc.stdout == ""
    debug = _kmlang("score", "posts.csv", "-o", "out.csv", "--format", "nope", cwd=files,
                    env={"KMLANG_DEBUG": "1"})
    assert debug.returncode == 1
    assert "Traceback (most recent call last)" in debug.stderr
    assert "UnknownFormatError" in debug.stderr
    debug = _kmlang("--debug", "score", "posts.csv", "-o", "out.csv", "-c", "text=nope", cwd=files)
    assert debug.returncode == 1
    assert "Traceback (most recent call last)" in debug.stderr and "KeyError" in debug.stderr


def test_python_m_kmlang_runs_a_command(files):
    proc = _kmlang("score", "posts.csv", "-o", "out.csv", "-q", cwd=files)
    assert proc.returncode == 0, proc.stderr
    assert len(pd.read_csv(files / "out.csv")) == len(TEXTS)
