"""``kmlang aggregate``: roll a scores file up by author, document, period or any column."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from kmlang.cli._app import app
from kmlang.cli._errors import raised_by_kmlang, require_parquet


class Interval(StrEnum):
    """How the 95% intervals are made (``--interval``)."""

    se = "se"
    bootstrap = "bootstrap"


def aggregate_file(scores: Path, output: Path, *, by: list[str] | None, freq: str | None,
                   min_passages: int = 5, shrink: bool = True, interval: str = "se",
                   timestamp: str = "timestamp", csv_escape: bool = True, shares: bool = True,
                   model: Path | None = None, share_communities: bool = False):
    """Read a scores file, aggregate it, write the table (format from the suffix); return it.

    ``csv_escape``: in a CSV table, text cells starting with =, +, -, @, tab or CR get a leading
    ``'`` so that spreadsheets do not run them as formulas (see
    :func:`kmlang.io.stream.escape_csv_cells`). ``shares``: add the share of passages per
    pole, corrected with the error rates of ``model`` (default: the packaged model), which
    should be the model that scored the file."""
    from kmlang.analysis.aggregation import aggregate
    from kmlang.analysis.report import read_scores
    from kmlang.errors import ReaderError
    from kmlang.io.stream import _out_format, write_frame

    fmt = _out_format(Path(output))
    try:
        frame = read_scores(scores)
    except (ValueError, UnicodeError) as e:  # pandas' parse errors are ValueErrors too
        if raised_by_kmlang(e):
            raise
        raise ReaderError(f"{scores} is not a readable scores file ({e})") from e
    table = aggregate(frame, by=by or None, freq=freq, min_passages=min_passages, shrink=shrink,
                      interval=interval, timestamp=timestamp, shares=shares, model=model,
                      share_communities=share_communities)
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    write_frame(table, Path(output), fmt, csv_escape=csv_escape)
    return table


@app.command("aggregate")
def aggregate_cli(
    scores: Annotated[Path, typer.Argument(
        metavar="SCORES",
        help="Scores file written by `kmlang score` (.csv, .jsonl or .parquet).")],
    output: Annotated[Path, typer.Option(
        "-o", "--output", metavar="FILE", help="Table to write: .csv, .jsonl or .parquet.")],
    by: Annotated[list[str] | None, typer.Option(
        "--by", metavar="COLUMN",
        help="Group column (repeat for several); 'none' for the whole community.")] = None,
    freq: Annotated[str | None, typer.Option(
        "--freq", metavar="W|M|Q", help="Also group by period: W, M or Q.")] = None,
    timestamp: Annotated[str, typer.Option(
        "--timestamp", metavar="COLUMN", help="Timestamp column used by --freq.")] = "timestamp",
    min_passages: Annotated[int, typer.Option(
        "--min-passages", min=0, metavar="N", help="Leave out groups with fewer passages.")] = 5,
    shrink: Annotated[bool, typer.Option(
        "--shrink/--no-shrink", help="Shrink group means toward the community mean.")] = True,
    interval: Annotated[Interval, typer.Option(
        "--interval", help="Interval: 'se' (standard error) or 'bootstrap'.")] = Interval.se,
    shares: Annotated[bool, typer.Option(
        "--shares/--no-shares", help="Add the share of passages at each pole, corrected for the "
        "model's error, with 95% intervals.")] = True,
    share_communities: Annotated[bool, typer.Option(
        "--share-communities", help="Widen the shares' intervals for a community unlike the "
        "labelled ones, as the report does (see docs/shares.md).")] = False,
    model: Annotated[Path | None, typer.Option(
        "--model", metavar="DIR", help="The model that scored the file, whose error rates "
        "correct the shares (default: the packaged model).")] = None,
    no_csv_escape: Annotated[bool, typer.Option(
        "--no-csv-escape", help="CSV output: write cells starting with =, +, -, @, tab or CR as "
        "they are (by default they get a leading ' so that spreadsheets do not run them as "
        "formulas).")] = False,
) -> None:
    """Mean positions and corrected shares per group (default: by author), with 95% intervals."""
    require_parquet(scores, output)
    cols = [b for b in (by or ["author"]) if b.lower() != "none"]
    table = aggregate_file(scores, output, by=cols, freq=freq, min_passages=min_passages,
                           shrink=shrink, interval=interval.value, timestamp=timestamp,
                           csv_escape=not no_csv_escape, shares=shares, model=model,
                           share_communities=share_communities)
    dropped = table.attrs.get("dropped_groups", 0)
    typer.echo(f"Wrote {len(table)} groups to {output} ({dropped} groups under {min_passages} "
               "passages left out).", err=True)
