"""kmlang's command line (Typer). Each command is a thin wrapper over a library function.

Run ``kmlang --help``. Importing this package registers every command on ``app``
(the command modules import their heavy dependencies only when run).
:func:`main` is the ``kmlang`` entry point: it prints user errors as one line
(exit code 2) and warnings as one line each; see :mod:`kmlang.cli._errors`.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Sequence

import typer

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
from kmlang.cli._errors import USER_ERROR, debug_enabled, one_line_warnings, set_debug, user_message


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``kmlang`` with ``argv`` (default: the process's arguments); return the exit code.

    A user error prints ``error: ...`` (and at most one hint line) on standard
    error and returns 2; ``--debug`` or ``KMLANG_DEBUG=1`` lets it raise with its
    traceback instead. Any other exception is a bug and is raised as it is.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    command = next((a for a in args if not a.startswith("-")), None)
    set_debug(False)
    with warnings.catch_warnings():  # restores showwarning when done
        warnings.showwarning = one_line_warnings(warnings.showwarning)
        try:
            command_group = typer.main.get_command(app)
            result = command_group.main(args, prog_name="kmlang", standalone_mode=False)
        except typer.Abort:
            print("Aborted!", file=sys.stderr)
            return 1
        except Exception as exc:
            if type(exc).__name__ == "NoArgsIsHelpError":  # bare `kmlang`: the help
                exc.show()
                return exc.exit_code
            message = None if debug_enabled() else user_message(exc, command)
            if message is None:
                raise
            print(message, file=sys.stderr)
            return USER_ERROR
    return result if isinstance(result, int) else 0


__all__ = ["app", "main"]
