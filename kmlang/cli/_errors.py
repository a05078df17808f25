"""How the command line reports user errors and warnings: one line each, in the CLI's spelling.

A user error (a file that is missing or cannot be read, an unknown format, a
missing column, a bad option value, a missing optional package, a model that
fails its integrity check) prints ``error: ...`` on standard error, at most one
more line saying what to do next, and exits with :data:`USER_ERROR` (2).
Anything else is a bug and keeps its traceback. ``kmlang --debug ...`` or
``KMLANG_DEBUG=1`` shows the traceback of user errors too, and warnings as
Python prints them.

The library's messages name keyword arguments (``format=``, ``text='<column>'``);
:func:`cli_spelling` rewrites them as the options a user types (``--format``,
``-c text=COLUMN``). The library itself is left alone.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path

from kmlang.errors import KmlangError

try:  # newer Typer ships its own copy of Click
    from typer._click.exceptions import ClickException
except ImportError:  # pragma: no cover - Typer on top of Click
    from click.exceptions import ClickException

__all__ = ["USER_ERROR", "EXTRAS", "cli_spelling", "debug_enabled", "one_line_warnings",
           "raised_by_kmlang", "require", "require_parquet", "set_debug", "user_message"]

#: Exit code of a user error (as for a usage error).
USER_ERROR = 2

#: Optional imports and the extra of kmlang that installs each.
EXTRAS = {"pyarrow": "readers", "mwparserfromhell": "readers", "matplotlib": "plot", "dask": "dask",
          "distributed": "dask", "jupyterlab": "notebooks", "ipykernel": "notebooks"}

_PACKAGE = Path(__file__).resolve().parents[1]  # kmlang/
_MAX_CHARS = 1000
_debug = False


def set_debug(on: bool) -> None:
    """Set by ``kmlang --debug``; reset by each run of :func:`kmlang.cli.main`."""
    global _debug
    _debug = on


def debug_enabled() -> bool:
    """``--debug`` was given or ``KMLANG_DEBUG`` is set to something other than 0/false/no."""
    env = os.environ.get("KMLANG_DEBUG", "").strip().lower()
    return _debug or env not in ("", "0", "false", "no", "off")


# ------------------------------------------------------------------ missing packages

def missing_message(module: str, purpose: str | None = None) -> str:
    extra = EXTRAS.get(module)
    install = f'pip install "kmlang[{extra}]"' if extra else f"pip install {module}"
    return f"{purpose or 'This'} needs {module}, which is not installed: {install}"


def require(module: str, purpose: str) -> None:
    """Fail before any work, naming the extra to install, when ``module`` is missing."""
    if importlib.util.find_spec(module) is None:
        raise ModuleNotFoundError(missing_message(module, purpose), name=module)


def require_parquet(*paths: Path | str | None) -> None:
    """:func:`require` pyarrow when one of ``paths`` is a ``.parquet`` file."""
    if any(p is not None and Path(p).suffix.lower() == ".parquet" for p in paths):
        require("pyarrow", "Reading and writing Parquet")


# ------------------------------------------------------------------ the CLI's spelling

_FIELDS = "text|author|doc_id|timestamp|id|parent_id"
_OPTIONS = {"format": "--format", "errors": "--errors", "chunksize": "--chunksize",
            "freq": "--freq", "interval": "--interval", "n_process": "--n-process",
            "min_passages": "--min-passages", "by": "--by"}
_RULES: list[tuple[str, str | Callable[[re.Match], str]]] = [
    (r"\(or format=None to detect it\)", "(or leave out --format to detect it)"),
    (r"resume=True / --resume", "--resume"),
    (r" and list the bad ones in df\.attrs\['skipped'\]", " and report the bad ones"),
    (r"; df\.attrs\['skipped'\] says where and why", ""),
    (r"use model=None for the blank default", "leave out --nlp for the blank default"),
    (r"Column '([^']*)' \(given as (\w+)=\)", r"Column '\1' (given as -c \2=\1)"),
    (rf"\b({_FIELDS})='<column>'", r"-c \1=COLUMN"),
    (rf"\b({_FIELDS})='([^']*)'", r"-c \1=\2"),
    (r"\bcolumns=\{([^}]*)\}",
     lambda m: " ".join(f"-c {k}={v}" for k, v in re.findall(r"'(\w+)': '([^']*)'", m[1]))
     or "no -c"),
    (r"\bkeep_text=(True|False)", lambda m: "--no-text" if m[1] == "False" else "no --no-text"),
    (rf"\b({'|'.join(_OPTIONS)})=(None|'[^']*'|[\w.-]+)?",
     lambda m: (f"no {_OPTIONS[m[1]]}" if m[2] == "None"
                else f"{_OPTIONS[m[1]]} {m[2].strip(chr(39))}" if m[2] else _OPTIONS[m[1]])),
    (rf"^({'|'.join(_OPTIONS)}) (must|names)\b", lambda m: f"{_OPTIONS[m[1]]} {m[2]}"),
]


def cli_spelling(message: str, command: str | None = None) -> str:
    """Rewrite the keyword arguments a library message names as the options of ``command``."""
    if command == "aggregate":
        message = message.replace("timestamp='<column>'", "--timestamp COLUMN")
    for pattern, repl in _RULES:
        message = re.sub(pattern, repl, message)
    return message


def _one_line(text: str) -> str:
    text = " ".join(text.split())
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return text if len(text) <= _MAX_CHARS else text[:_MAX_CHARS - 3] + "..."


# ------------------------------------------------------------------ errors and warnings

def raised_by_kmlang(exc: BaseException) -> bool:
    """The exception was raised in kmlang's own code (a message written for users), not deeper."""
    tb = exc.__traceback__
    if tb is None:
        return False
    while tb.tb_next is not None:
        tb = tb.tb_next
    return Path(tb.tb_frame.f_code.co_filename).resolve().is_relative_to(_PACKAGE)


def _message(exc: BaseException) -> str | None:
    if isinstance(exc, ClickException):  # a bad option or argument
        return exc.format_message()
    if isinstance(exc, ImportError):
        if "pip install" in str(exc):
            return str(exc)
        return missing_message(exc.name) if exc.name in EXTRAS else None
    if isinstance(exc, KmlangError):
        return str(exc)
    if isinstance(exc, OSError):  # missing or unreadable file or folder
        return f"{exc.strerror}: {exc.filename}" if exc.strerror and exc.filename else str(exc)
    if isinstance(exc, UnicodeError) or type(exc).__module__ == "pandas.errors":
        return f"cannot read the input: {exc}"
    if isinstance(exc, KeyError | ValueError) and raised_by_kmlang(exc):
        if isinstance(exc, KeyError) and len(exc.args) == 1 and isinstance(exc.args[0], str):
            return exc.args[0]  # str(KeyError) adds quotes
        return str(exc)
    return None


def user_message(exc: BaseException, command: str | None = None) -> str | None:
    """``error: ...`` and at most one hint line for a user error; ``None`` for a bug."""
    text = _message(exc)
    if text is None:
        return None
    lines = [f"error: {_one_line(cli_spelling(text, command))}"]
    notes = getattr(exc, "__notes__", None)
    ctx = getattr(exc, "ctx", None)
    if notes:
        lines.append(_one_line(str(notes[-1])))
    elif getattr(exc, "option_name", None) == "--debug":  # a global option, given after the command
        lines.append(f"--debug goes before the command: kmlang --debug {command or 'COMMAND'} ...")
    elif ctx is not None and isinstance(exc, ClickException):
        lines.append(f"Try '{ctx.command_path} --help' for help.")
    return "\n".join(lines)


def one_line_warnings(previous: Callable) -> Callable:
    """A ``warnings.showwarning`` that prints ``warning: ...`` on one line (``previous`` under
    ``--debug``)."""
    def show(message, category, filename, lineno, file=None, line=None) -> None:
        if debug_enabled():
            previous(message, category, filename, lineno, file, line)
            return
        try:
            (file or sys.stderr).write(f"warning: {_one_line(cli_spelling(str(message)))}\n")
        except (OSError, ValueError):  # standard error closed
            pass
    return show
