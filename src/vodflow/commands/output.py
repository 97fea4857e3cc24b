"""What every CLI command shares: plain help, one-line errors, output that never wraps.

Kept light on purpose: `vodflow --help` imports this and typer only (the SDK, rich,
uvicorn and the server load when a command runs), so help answers at once.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, NoReturn

import typer

if TYPE_CHECKING:
    from rich.console import Console


def typer_app(**kwargs: Any) -> typer.Typer:
    """A Typer with click's plain help: `[default: x]` shown as written, flags without
    a `<bool>` type, no rich markup eating brackets, no 100-line tracebacks."""
    return typer.Typer(
        rich_markup_mode=None, pretty_exceptions_enable=False, add_completion=False, **kwargs
    )


def fail(message: str, exit_code: int = 2) -> NoReturn:
    """One line on stderr saying what went wrong (and what to do), then exit."""
    line = " ".join(str(message).split())
    sys.stderr.write(f"error: {line}\n")
    raise typer.Exit(exit_code)


def out() -> Console:
    """stdout for results: long lines (URLs) are never wrapped, even when piped."""
    from rich.console import Console

    return Console(soft_wrap=True, highlight=False)


def err() -> Console:
    from rich.console import Console

    return Console(stderr=True, soft_wrap=True, highlight=False)
