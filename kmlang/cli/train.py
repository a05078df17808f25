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
    authored_only: bool = typer.Option(False, "--authored-only", help="Train without the corpora that hold "
                                       "the real passages' text (a much weaker model on real text)."),
) -> None:
    """Train on the 'train' split (plus your files), evaluate on the 'test' split (and --dev), save model + card.

    Usage: kmlang train [MY_LABELS.jsonl ...] --out MODEL_DIR
    """
    from kmlang.model.persist import save_model
    from kmlang.model.train import train

    model, card = train(data, extra=list(labelled or []), shipped=shipped, seed=seed, nlp=nlp, dev=dev,
                        authored_only=authored_only)
    save_model(model, output, card=card)
    typer.echo(json.dumps({"pole_f1": card["metrics"], "macro_f1": card["metrics_macro_f1"],
                           "shortcuts": card["shortcuts"]}, indent=1))
    real = card["metrics"].get("test_real") or {}
    if real:
        typer.echo(f"On the {card['gold_labels']['test_real']['n']:,} held-out real passages: pole-F1 overall "
                   f"{real['overall']:.3f}, mean shift {real['mean_shift']:.3f} (the default model's card has "
                   "the same figures to compare with).", err=True)
    else:
        typer.echo("WARNING: no held-out real passages were available, so this model has NO real-text "
                   "figures; the figures above are on passages written for kmlang, which are far easier "
                   "than real text. Do not compare them with the default model's.", err=True)
    typer.echo(f"Saved to {output}")
