# SPDX-License-Identifier: GPL-3.0-or-later
"""How ``hearth`` commands print: pure JSON on stdout for scripts (``--json``), tables for people."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
import typer.core
from rich.console import Console
from rich.table import Table
from rich.text import Text

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]

_option_type = typer.core.TyperOption.display_type_rich


def _flag_shows_no_type(self: typer.core.TyperOption, ctx: Any) -> str | None:
    """Typer's help labels every flag ``<bool>`` (``--help <bool>``), as if it took a value;
    a flag takes none, so its type column stays empty. Options with a value keep theirs."""
    return None if self.is_flag else _option_type(self, ctx)


typer.core.TyperOption.display_type_rich = _flag_shows_no_type  # type: ignore[method-assign]


def print_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2))


def table(*columns: str) -> Table:
    shown = Table(header_style="bold")
    for column in columns:
        shown.add_column(column, overflow="fold")  # wrap long values, never cut them
    return shown


def show(shown: Table) -> None:
    """On a terminal, wrapped to its width; into a pipe or a file, every row whole on one line
    (an 80-column wrap would cut ``team/hgtool`` in two for ``grep`` and ``awk``)."""
    console = Console()
    if not console.is_terminal:
        console = Console(width=1_000_000)
    console.print(shown)


def yes(flag: bool) -> str:
    return "yes" if flag else "no"


def plain(value: str) -> Text:
    """A cell shown as written: brackets in names and descriptions are not rich markup."""
    return Text(value)
