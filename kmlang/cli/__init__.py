"""kmlang's command line (Typer). Each command is a thin wrapper over a library function.

Run ``kmlang --help``. Importing this package registers every command on ``app``
(the command modules import their heavy dependencies only when run).
"""

from __future__ import annotations

from kmlang.cli import (  # noqa: F401
    aggregate,
    check,
    demo,
    evaluate,
    explain,
    report,
    score,
    suggest,
    train,
)
from kmlang.cli._app import app


def main() -> None:
    app()


__all__ = ["app", "main"]
