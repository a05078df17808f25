"""``kmlang evaluate``: macro-F1 of a model on labelled passages, beside baselines."""

from __future__ import annotations

from pathlib import Path

import typer

from ._app import app


@app.command("evaluate")
def evaluate_cli(
    data: Path = typer.Argument(..., help="Labelled JSONL with text (e.g. ../shared/dev/dev.jsonl) or a folder "
                                          "of label files (its 'test' split is used)."),
    model: Path = typer.Option(None, "--model", help="Model directory (default: the packaged model)."),
    baselines: bool = typer.Option(True, help="Also show always-neutral and pronoun-ratio baselines."),
) -> None:
    """Print macro-F1 per shift and overall."""
    from ..evaluation import evaluate, load_eval_set
    from ..labelled import load_labelled
    from ..persist import load_model

    if data.is_dir():
        frame = load_labelled(data, split="test")
    else:
        frame = load_eval_set(data)
    m = load_model(model)
    table = evaluate(m, frame, baselines=baselines)
    typer.echo(f"{len(frame)} passages; macro-F1 per target")
    typer.echo(table.round(3).to_string())
