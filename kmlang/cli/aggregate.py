"""``kmlang aggregate``: roll a scores file up by author, document, period or any column."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kmlang.cli._app import app


def aggregate_file(scores: Path, output: Path, *, by: list[str] | None, freq: str | None,
                   min_passages: int = 5, shrink: bool = True, interval: str = "se"):
    """Read a scores file, aggregate it, write the table (format from the suffix); return it."""
    from kmlang.analysis.aggregation import aggregate
    from kmlang.analysis.report import read_scores
    from kmlang.io.stream import _out_format, write_frame

    fmt = _out_format(Path(output))
    frame = read_scores(scores)
    table = aggregate(frame, by=by or None, freq=freq, min_passages=min_passages, shrink=shrink,
                      interval=interval)
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    write_frame(table, Path(output), fmt)
    return table


@app.command("aggregate")
def aggregate_cli(
    scores: Annotated[Path, typer.Argument(
        help="Scores file written by `kmlang score` (.csv, .jsonl or .parquet).")],
    output: Annotated[Path, typer.Option(
        "-o", "--output", help="Table to write: .csv, .jsonl or .parquet.")],
    by: Annotated[list[str] | None, typer.Option(
        "--by", help="Group column (repeat for several); 'none' for the whole community.")] = None,
    freq: Annotated[str | None, typer.Option(
        "--freq", help="Also group by period: W, M or Q.")] = None,
    min_passages: Annotated[int, typer.Option(
        "--min-passages", help="Leave out groups with fewer passages.")] = 5,
    shrink: Annotated[bool, typer.Option(
        help="Shrink group means toward the community mean.")] = True,
    interval: Annotated[str, typer.Option(help="Interval: 'se' or 'bootstrap'.")] = "se",
) -> None:
    """Relevance-weighted mean positions per group (default: by author), with 95% intervals."""
    cols = [b for b in (by or ["author"]) if b.lower() != "none"]
    table = aggregate_file(scores, output, by=cols, freq=freq, min_passages=min_passages,
                           shrink=shrink, interval=interval)
    dropped = table.attrs.get("dropped_groups", 0)
    typer.echo(f"Wrote {len(table)} groups to {output} ({dropped} groups under {min_passages} "
               "passages left out).", err=True)
