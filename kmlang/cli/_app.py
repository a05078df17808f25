"""The Typer app every command registers on, and its global options."""

from __future__ import annotations

import typer

from kmlang.cli._errors import set_debug

app = typer.Typer(
    name="kmlang",
    help="Score forum, wiki, Q&A and mailing-list text on eleven 'I know' -> 'we know' "
         "knowledge-culture shifts.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain help: Typer's rich panels print a "<bool>" type beside every flag.
    rich_markup_mode=None,
)


@app.callback()
def global_options(
    debug: bool = typer.Option(False, "--debug", help="On an error, show the full Python traceback "
                                                      "(also KMLANG_DEBUG=1)."),
) -> None:
    if debug:
        set_debug(True)
