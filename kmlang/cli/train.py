"""``kmlang train``: fit a model on labelled passages and save it with its card."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from kmlang.cli._app import app


@app.command("train")
def train_cli(
    labelled: list[Path] = typer.Argument(None, help="Your own labelled JSONL files (the guide's format), "
                                                     "added to the shipped data/labelled."),
    output: Path = typer.Option(..., "--out", "-o", help="Model directory to write."),
    shipped: bool = typer.Option(True, "--shipped/--no-shipped", help="Also train on the shipped labelled data."),
    data: Path = typer.Option(None, "--data", help="Folder of the shipped labelled data (default: data/labelled)."),
    dev: Path = typer.Option(None, "--dev", help="Labelled JSONL to report accuracy on (never trained on)."),
    seed: int = typer.Option(0, help="Random seed."),
    nlp: str = typer.Option(None, help="spaCy pipeline to parse with (default: blank English)."),
) -> None:
    """Train on the 'train' split (plus your files), evaluate on the 'test' split (and --dev), save model + card."""
    from kmlang.model.persist import save_model
    from kmlang.model.train import train

    model, card = train(data, extra=list(labelled or []), shipped=shipped, seed=seed, nlp=nlp, dev=dev)
    save_model(model, output, card=card)
    typer.echo(json.dumps({"pole_f1": card["metrics"], "macro_f1": card["metrics_macro_f1"],
                           "shortcuts": card["shortcuts"]}, indent=1))
    typer.echo(f"Saved to {output}")
