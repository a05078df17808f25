"""``kmlang check``: run the behavioural suite and print the failure rate per capability."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from kmlang.cli._app import app


@app.command("check")
def check_cli(
    model: Path = typer.Option(None, "--model", help="Model directory (default: the packaged model)."),
    probes: Path = typer.Option(None, "--probes", help="Probe file (default: the packaged suite)."),
    as_json: bool = typer.Option(False, "--json", help="Print per-capability counts and every failure as JSON."),
    show_failures: bool = typer.Option(False, "--failures", help="Also list the failed probes."),
) -> None:
    """Behavioural probes (minimum functionality, invariance, directional): failures per capability."""
    from kmlang.model.behaviour import failure_table, load_probes, run_probes
    from kmlang.model.persist import load_model

    res = run_probes(load_model(model), load_probes(probes))
    table = failure_table(res)
    if as_json:
        typer.echo(json.dumps({"capabilities": table.reset_index().to_dict(orient="records"),
                               "failures": res[~res["passed"]].to_dict(orient="records")}, indent=1))
        return
    typer.echo(table.to_string())
    if show_failures:
        for r in res[~res["passed"]].itertuples():
            typer.echo(f"{r.id}: {r.detail}")
