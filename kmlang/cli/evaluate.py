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
    as_json: bool = typer.Option(False, "--json", help="Print pole-F1, precision, recall and F1 of "
                                                       "each pole, macro-F1, support and confusion matrices as JSON."),
    baselines: bool = typer.Option(True, help="Table only: also show always-neutral and pronoun-ratio."),
    nlp: str = typer.Option(None, "--nlp", help="Parse with this spaCy pipeline (e.g. en_core_web_sm)."),
) -> None:
    """Pole-F1 per shift and overall (the mean F1 of the poles gold holds >= 5 times), beside baselines."""
    from kmlang.cues.nlp import load_nlp
    from kmlang.model.evaluation import evaluate, evaluation_report, load_eval_set, predict_labels
    from kmlang.model.labelled import load_labelled
    from kmlang.model.persist import load_model

    frame = load_labelled(data, split="test") if data.is_dir() else load_eval_set(data)
    m = load_model(model)
    pipeline = load_nlp(nlp) if nlp else None
    from kmlang.model.evaluation import POLE_RULE, warn_if_trained_on

    overlap = warn_if_trained_on(m, frame["text"])
    pred = predict_labels(m, frame["text"], nlp=pipeline)  # one scoring pass for every figure
    if as_json:
        report = evaluation_report(frame.reset_index(drop=True), pred)
        report["passages_in_training_data"] = overlap
        typer.echo(json.dumps(report, indent=1))
        return
    table = evaluate(m, frame, baselines=baselines, nlp=pipeline, pred=pred, warn_overlap=False)
    typer.echo(f"{len(frame)} passages; {POLE_RULE}; NaN: not measured (no such pole)")
    typer.echo(table.round(3).to_string())
    macro = evaluate(m, frame, baselines=False, pred=pred, warn_overlap=False, metric="macro_f1")
    typer.echo(f"three-class macro-F1: overall {macro.loc['overall', 'kmlang']:.3f}, "
               f"mean shift {macro.loc['mean_shift', 'kmlang']:.3f} (--json for every figure)")
