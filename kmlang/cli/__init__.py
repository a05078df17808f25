"""kmlang's command line (Typer). Each command is a thin wrapper over a library function.

Run ``kmlang --help``.
"""

from __future__ import annotations

from ._app import app


def main() -> None:
    from . import demo, evaluate, explain, score, train  # noqa: F401  (register commands)

    for optional in ("report", "suggest", "aggregate"):
        try:
            __import__(f"kmlang.cli.{optional}")
        except ImportError:  # pragma: no cover - command not available in this build
            pass
    app()


__all__ = ["app", "main"]
