"""``kmlang score``: score an export into CSV, JSONL or Parquet, streaming."""

from __future__ import annotations

import json
import shlex
import shutil
from enum import StrEnum
from pathlib import Path

import typer

from kmlang.cli._app import app
from kmlang.cli._errors import require_parquet

FIELDS = ("text", "author", "doc_id", "timestamp", "id", "parent_id")


class OnError(StrEnum):
    """What to do with a broken record (``--errors``)."""

    raise_ = "raise"
    skip = "skip"


def _columns(mapping: list[str] | None) -> dict[str, str]:
    out = {}
    for m in mapping or []:
        key, sep, value = m.partition("=")
        if not sep or key not in FIELDS:
            raise typer.BadParameter(f"takes FIELD=COLUMN with FIELD one of {', '.join(FIELDS)}; "
                                     f"got {m!r}", param_hint="'-c' / '--column'")
        out[key] = value
    return out


def command_line(ctx: typer.Context, *extra: str) -> str:
    """The ``kmlang`` command line with ``ctx``'s parameters (defaults left out), then ``extra``."""
    words = ["kmlang", ctx.info_name or ""]
    for p in ctx.command.params:
        value = ctx.params.get(p.name)
        if value is None or value == p.default or value in ((), []):
            continue
        values = value if getattr(p, "multiple", False) else [value]
        opt = min(p.opts, key=len)
        if p.param_type_name == "argument":
            words += [str(v) for v in values]
        elif getattr(p, "is_flag", False):
            words.append(opt if value else p.secondary_opts[0])
        else:
            for v in values:
                words += [opt, str(getattr(v, "value", v))]
    return shlex.join(words + [w for w in extra if w not in words])


def _part_rows(partial: Path) -> tuple[int, int]:
    """(whole parts, rows in them) in a part folder of ``score_file``."""
    from kmlang.io.stream import _parts

    try:
        parts = _parts(partial)
    except (OSError, RuntimeError):
        return 0, 0
    return len(parts), sum(n for _, n, _ in parts)


@app.command("score")
def score_cli(
    ctx: typer.Context,
    input: Path = typer.Argument(..., metavar="INPUT", help="Export to score (CSV/TSV, JSONL, "
                                 "JSON, Parquet, Stack Exchange XML, MediaWiki XML, mbox, Slack, "
                                 "Discourse)."),
    output: Path = typer.Option(..., "-o", "--output", metavar="FILE",
                                help="Output file: .csv, .jsonl or .parquet."),
    format: str = typer.Option(None, "--format", metavar="FORMAT",
                               help="Input format (default: detected)."),
    column: list[str] = typer.Option(None, "--column", "-c", metavar="FIELD=COLUMN",
                                     help="Column mapping, e.g. -c text=body -c author=user."),
    model: Path = typer.Option(None, "--model", metavar="DIR",
                               help="Model directory (default: the packaged model)."),
    chunksize: int = typer.Option(5000, "--chunksize", min=1, metavar="N", help="Rows per chunk."),
    n_process: int = typer.Option(1, "--n-process", min=1, metavar="N",
                                  help="Processes for parsing."),
    resume: bool = typer.Option(False, "--resume", help="Continue an interrupted run."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    no_text: bool = typer.Option(False, "--no-text",
                                 help="Leave the passage text out of the output."),
    no_comments: bool = typer.Option(False, "--no-comments",
                                     help="Stack Exchange: read Posts.xml without the "
                                          "Comments.xml beside it (score that file on its own)."),
    errors: OnError = typer.Option(OnError.raise_, "--errors", help="'raise': stop at a broken "
                                   "record; 'skip': skip it and report it."),
    no_csv_escape: bool = typer.Option(False, "--no-csv-escape",
                                       help="CSV output: write cells starting with =, +, -, @, tab or "
                                            "CR as they are (by default they get a leading ' so that "
                                            "spreadsheets do not run them as formulas)."),
) -> None:
    """Score every passage of INPUT; one output row per input row, in input order."""
    import sys

    from kmlang.io.stream import OutputLockedError, ResumeError, score_file

    columns = _columns(column)
    require_parquet(input, output)
    partial = output.with_name(output.name + ".partial")
    existed = partial.exists()
    before = _part_rows(partial)[0] if resume else 0
    try:
        summary = score_file(input, output, format=format, model=model, chunksize=chunksize,
                             n_process=n_process, resume=resume,
                             progress=False if quiet else sys.stderr.isatty(),
                             keep_text=not no_text, errors=errors.value,
                             csv_escape=not no_csv_escape, **columns,
                             **({"comments": False} if no_comments else {}))
    except (OutputLockedError, ResumeError) as exc:
        if isinstance(exc, ResumeError) and "--resume" in str(exc) and "continue with" in str(exc):
            exc.add_note(f"continue with: {command_line(ctx, '--resume')}")
        raise  # another scorer's parts, or parts this input no longer matches: left as they are
    except (Exception, KeyboardInterrupt) as exc:
        parts, rows = _part_rows(partial)
        if parts > before:  # this run finished parts: the same command with --resume goes on
            kept = (f"{rows:,} scored row{'s' * (rows != 1)} ({parts} finished "
                    f"part{'s' * (parts != 1)}) {'are' if rows != 1 else 'is'} kept in {partial}")
            again = command_line(ctx, "--resume")
            if isinstance(exc, KeyboardInterrupt):
                typer.echo(f"interrupted: {kept}; continue with: {again}", err=True)
                raise typer.Exit(130) from None
            exc.add_note(f"{kept}; once the cause is fixed, continue with: {again}")
        elif not existed and partial.is_dir() and parts == 0:  # nothing done: no folder left behind
            shutil.rmtree(partial, ignore_errors=True)
        raise
    if not quiet:
        typer.echo(json.dumps(summary), err=True)
