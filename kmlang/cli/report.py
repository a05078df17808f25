"""``kmlang report``: one self-contained HTML report of an export."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kmlang.cli._app import app
from kmlang.cli._errors import require, require_parquet
from kmlang.cli.score import _columns


@app.command("report")
def report_cli(
    input: Annotated[Path, typer.Argument(
        metavar="INPUT", help="Export to report on (any format `kmlang score` reads), or a scores "
                              "file written by `kmlang score`.")],
    output: Annotated[Path, typer.Option(
        "-o", "--output", metavar="FILE", help="HTML file to write.")] = Path("report.html"),
    format: Annotated[str | None, typer.Option(
        "--format", metavar="FORMAT", help="Input format (default: detected).")] = None,
    column: Annotated[list[str] | None, typer.Option(
        "--column", "-c", metavar="FIELD=COLUMN",
        help="Column mapping, e.g. -c text=body.")] = None,
    model: Annotated[Path | None, typer.Option(
        "--model", metavar="DIR", help="Model directory (default: the packaged model).")] = None,
    names: Annotated[bool, typer.Option(
        "--names", help="Show author names instead of pseudonyms.")] = False,
    pseudonym_key: Annotated[str | None, typer.Option(
        "--pseudonym-key", metavar="KEY", envvar="KMLANG_PSEUDONYM_KEY", show_envvar=True,
        help="Secret key of the pseudonyms (at least 16 characters): reports made with the same "
             "key give a name the same pseudonym. Default: a random key per report. Prefer the "
             "environment variable: a key on the command line ends up in shell history.")] = None,
    title: Annotated[str | None, typer.Option(
        "--title", metavar="TEXT",
        help="Heading of the report (default: from the file name).")] = None,
    by: Annotated[str, typer.Option(
        "--by", metavar="COLUMN", help="Column of the 'groups at each end' table.")] = "author",
    freq: Annotated[str, typer.Option(
        "--freq", metavar="W|M|Q", help="Period of the trend: W, M or Q.")] = "M",
    min_passages: Annotated[int, typer.Option(
        "--min-passages", min=0, metavar="N",
        help="Leave out groups and periods with fewer passages.")] = 5,
) -> None:
    """Score INPUT and write an HTML report: profile, trend, ends, passages, accuracy."""
    from kmlang.analysis.report import report_file

    columns = _columns(column)
    if pseudonym_key is not None and len(pseudonym_key.encode("utf-8")) < 16:
        raise typer.BadParameter("the key must be at least 16 characters long (a short key can "
                                 "be guessed, and with it every name)",
                                 param_hint="'--pseudonym-key' / KMLANG_PSEUDONYM_KEY")
    require("matplotlib", "kmlang report")
    require_parquet(input)
    out = report_file(input, output, format=format, names=names, model=model, title=title, by=by,
                      freq=freq, min_passages=min_passages,
                      pseudonym_key=pseudonym_key, **columns)
    typer.echo(f"Wrote {out}", err=True)
