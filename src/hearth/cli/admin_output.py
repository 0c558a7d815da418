# SPDX-License-Identifier: GPL-3.0-or-later
"""How ``hearth`` commands print: pure JSON on stdout for scripts (``--json``), tables for people."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


def print_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2))


def table(*columns: str) -> Table:
    shown = Table(header_style="bold")
    for column in columns:
        shown.add_column(column, overflow="fold")  # wrap long values, never cut them
    return shown


def show(shown: Table) -> None:
    Console().print(shown)


def yes(flag: bool) -> str:
    return "yes" if flag else "no"


def plain(value: str) -> Text:
    """A cell shown as written: brackets in names and descriptions are not rich markup."""
    return Text(value)
