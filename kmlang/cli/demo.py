"""``kmlang demo``: score the sample passages shipped with kmlang and print the result."""

from __future__ import annotations

import json
from importlib.resources import files

import typer

from kmlang.cli._app import app


def sample_passages() -> list[dict]:
    raw = (files("kmlang") / "data" / "samples.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in raw.splitlines() if line.strip()]


def demo_table():
    """Score the shipped samples with the default model; return the score frame."""
    import pandas as pd

    from kmlang.model.scoring import score

    frame = pd.DataFrame(sample_passages())
    return score(frame, text="text")


@app.command("demo")
def demo_cli(width: int = typer.Option(60, help="Characters of each passage to show.")) -> None:
    """Score a few sample passages with the default model and print positions and labels."""
    import pandas as pd

    from kmlang.shifts import TARGETS

    df = demo_table()
    cols = ["overall"] + [t for t in TARGETS if t != "overall"]
    show = pd.DataFrame({"passage": df["text"].str.slice(0, width).str.replace("\n", " ")})
    for t in cols:
        show[t] = df[t].round(2)
    with pd.option_context("display.width", 250, "display.max_columns", 20, "display.max_colwidth", width):
        typer.echo("Position per shift: -1 = individual pole ('I know'), +1 = collective pole ('we know').\n")
        typer.echo(show.to_string(index=False))
        typer.echo("\nLabels (-1/0/+1):")
        lab = pd.DataFrame({t: df[f"{t}_label"] for t in cols})
        lab.insert(0, "passage", show["passage"].str.slice(0, 30))
        typer.echo(lab.to_string(index=False))
