"""``kmlang train``: fit a model on labelled passages and save it with its card."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from ._app import app


@app.command("train")
def train_cli(
    data: Path = typer.Option(None, "--data", help="Labelled JSONL file or folder (default: data/labelled)."),
    output: Path = typer.Option(..., "-o", "--output", help="Model directory to write."),
    dev: Path = typer.Option(None, "--dev", help="Labelled JSONL to report accuracy on (never trained on)."),
    seed: int = typer.Option(0, help="Random seed."),
    nlp: str = typer.Option(None, help="spaCy pipeline to parse with (default: blank English)."),
) -> None:
    """Train on the 'train' split, evaluate on the 'test' split (and --dev), save model + card + manifest."""
    from ..persist import save_model
    from ..train import train

    model, card = train(data, seed=seed, nlp=nlp, dev=dev)
    save_model(model, output, card=card)
    typer.echo(json.dumps(card["metrics"], indent=1))
    typer.echo(f"Saved to {output}")
