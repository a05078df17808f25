"""``kmlang score``: score an export into CSV, JSONL or Parquet, streaming."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from kmlang.cli._app import app


def _columns(mapping: list[str]) -> dict[str, str]:
    out = {}
    for m in mapping or []:
        key, sep, value = m.partition("=")
        if not sep or key not in {"text", "author", "doc_id", "timestamp", "id", "parent_id"}:
            raise typer.BadParameter(f"--column takes FIELD=SOURCE_COLUMN with FIELD one of text, author, doc_id, "
                                     f"timestamp, id, parent_id; got {m!r}")
        out[key] = value
    return out


@app.command("score")
def score_cli(
    input: Path = typer.Argument(..., help="Export to score (CSV/TSV, JSONL, JSON, Parquet, Stack Exchange XML, "
                                           "MediaWiki XML, mbox, Slack, Discourse)."),
    output: Path = typer.Option(..., "-o", "--output", help="Output file: .csv, .jsonl or .parquet."),
    format: str = typer.Option(None, "--format", help="Input format (default: detected)."),
    column: list[str] = typer.Option(None, "--column", "-c", help="Column mapping FIELD=SOURCE, e.g. text=body."),
    model: Path = typer.Option(None, "--model", help="Model directory (default: the packaged model)."),
    chunksize: int = typer.Option(5000, help="Rows per chunk."),
    n_process: int = typer.Option(1, "--n-process", help="Processes for parsing."),
    resume: bool = typer.Option(False, "--resume", help="Continue an interrupted run."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    no_text: bool = typer.Option(False, "--no-text", help="Leave the passage text out of the output."),
    errors: str = typer.Option("raise", help="'raise' on a broken record, or 'skip' it and report it."),
) -> None:
    """Score every passage of INPUT; one output row per input row, in input order."""
    import sys

    from kmlang.io.stream import score_file

    summary = score_file(input, output, format=format, model=model, chunksize=chunksize, n_process=n_process,
                         resume=resume, progress=False if quiet else sys.stderr.isatty(), keep_text=not no_text,
                         errors=errors, **_columns(column))
    if not quiet:
        typer.echo(json.dumps(summary), err=True)
