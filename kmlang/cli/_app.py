from __future__ import annotations

import typer

app = typer.Typer(
    name="kmlang",
    help="Score forum, wiki, Q&A and mailing-list text on eleven 'I know' -> 'we know' knowledge-culture shifts.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
