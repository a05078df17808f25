"""``kmlang suggest``: the passages most worth labelling next (active learning)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kmlang.cli._app import app
from kmlang.cli._errors import require_parquet
from kmlang.cli.score import _columns

_NEXT = ("Next: fill in every 'labels' value and 'overall' with -1, 0 or 1 and set 'register', "
         "following kmlang's labelling guide (docs/labelling-guide.md); then run "
         "`kmlang train FILE --out MODEL_DIR` (your file is added to the shipped labelled data).")


@app.command("suggest")
def suggest_cli(
    corpus: Annotated[Path, typer.Argument(
        metavar="INPUT", help="Export to pick passages from (any format `kmlang score` reads).")],
    output: Annotated[Path, typer.Option(
        "-o", "--output", metavar="FILE",
        help="JSONL label file to write.")] = Path("to_label.jsonl"),
    n: Annotated[int, typer.Option(
        "--n", "-n", min=1, metavar="N", help="How many passages to suggest.")] = 50,
    model: Annotated[Path | None, typer.Option(
        "--model", metavar="DIR", help="Model directory (default: the packaged model).")] = None,
    format: Annotated[str | None, typer.Option(
        "--format", metavar="FORMAT", help="Input format (default: detected).")] = None,
    column: Annotated[list[str] | None, typer.Option(
        "--column", "-c", metavar="FIELD=COLUMN",
        help="Column mapping, e.g. -c text=body.")] = None,
    seed: Annotated[int, typer.Option("--seed", metavar="N", help="Seed for breaking ties.")] = 0,
) -> None:
    """Write the N passages the model is least sure about (and not alike) with empty labels."""
    from kmlang.io.readers import read
    from kmlang.model.suggest import suggest, write_suggestions

    columns = _columns(column)
    require_parquet(corpus)
    frame = read(corpus, format=format, **columns)
    out = suggest(frame, n=n, model=model, random_state=seed, source=Path(corpus).name)
    write_suggestions(out, output)
    if len(out):
        u = out["uncertainty"]
        typer.echo(f"Wrote {len(out)} passages to {output} (uncertainty {u.max():.2f} to "
                   f"{u.min():.2f}).\n{_NEXT}", err=True)
    else:
        typer.echo(f"No passage could be suggested; wrote an empty {output}.", err=True)
