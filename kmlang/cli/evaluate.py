"""``kmlang evaluate``: accuracy and macro-F1 of a model on labelled passages, beside baselines."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from kmlang.cli._app import app


@app.command("evaluate")
def evaluate_cli(
    data: Path = typer.Argument(..., help="Labelled JSONL with text (e.g. ../shared/dev/dev.jsonl), or a folder "
                                          "of label files (its 'test' split is used)."),
    model: Path = typer.Option(None, "--model", help="Model directory (default: the packaged model)."),
    as_json: bool = typer.Option(False, "--json", help="Print accuracy, macro-F1, support and confusion "
                                                       "matrices as JSON."),
    baselines: bool = typer.Option(True, help="Table only: also show always-neutral and pronoun-ratio."),
    nlp: str = typer.Option(None, "--nlp", help="Parse with this spaCy pipeline (e.g. en_core_web_sm)."),
) -> None:
    """Macro-F1 per shift and overall (scikit-learn's macro average over the classes present)."""
    from kmlang.cues.nlp import load_nlp
    from kmlang.model.evaluation import evaluate, evaluation_report, load_eval_set, predict_labels
    from kmlang.model.labelled import load_labelled
    from kmlang.model.persist import load_model

    frame = load_labelled(data, split="test") if data.is_dir() else load_eval_set(data)
    m = load_model(model)
    pipeline = load_nlp(nlp) if nlp else None
    if as_json:
        pred = predict_labels(m, frame["text"], nlp=pipeline)
        typer.echo(json.dumps(evaluation_report(frame.reset_index(drop=True), pred), indent=1))
        return
    table = evaluate(m, frame, baselines=baselines, nlp=pipeline)
    typer.echo(f"{len(frame)} passages; macro-F1 per target (mean_shift: shifts with >= 5 non-zero gold labels)")
    typer.echo(table.round(3).to_string())
