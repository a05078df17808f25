"""``kmlang explain``: the cues and n-grams behind one passage's scores."""

from __future__ import annotations

from pathlib import Path

import typer

from kmlang.cli._app import app


@app.command("explain")
def explain_cli(
    text: str = typer.Argument(..., help="The passage (use '-' to read it from standard input)."),
    model: Path = typer.Option(None, "--model", help="Model directory (default: the packaged model)."),
    html: Path = typer.Option(None, "--html", help="Also write an HTML rendering here."),
) -> None:
    """Print each shift's position, label and the features that pushed it."""
    import sys

    from kmlang.model.explanation import explain

    if text == "-":
        text = sys.stdin.read()
    ex = explain(text, model=model)
    typer.echo(str(ex))
    if html is not None:
        html.write_text(ex.to_html(), encoding="utf-8")
