# SPDX-License-Identifier: GPL-3.0-or-later
"""``hearth admin import-kallithea``: parse, show progress, print the report.

The work is ``services/kallithea_import.py``'s; this module turns its progress calls into a bar
on a terminal (one line per step on stderr otherwise, so a log shows how far a run got) and its
report into a table or JSON. The exit status is 0 when everything came over, 1 when anything was
skipped (each skip is listed with its reason) or the import failed (nothing was changed), 2 for
bad arguments or an uninitialised target.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
from rich.progress import Progress as Bar

from hearth.cli.admin_context import fail, reason, settings, shown_url
from hearth.cli.admin_output import JsonFlag, plain, print_json, show, table
from hearth.config import Settings
from hearth.db.session import Database
from hearth.errors import HearthError
from hearth.services import bootstrap, kallithea_import
from hearth.services.kallithea_import import Report

_PHASES = {
    "read": "reading",
    "plan": "planned",
    "copy": "copying",
    "verify": "checking",
    "rows": "writing",
    "place": "placing",
    "done": "done",
}


def import_kallithea(
    db: Annotated[
        str, typer.Option("--db", help="Kallithea's database URL (sqlite:///…/kallithea.db).")
    ],
    repos: Annotated[
        Path, typer.Option("--repos", help="Kallithea's repository root on this machine.")
    ],
    move: Annotated[
        bool, typer.Option("--move", help="Remove the Kallithea directories once imported.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Report what would be imported; change nothing.")
    ] = False,
    json_output: JsonFlag = False,
) -> None:
    """Import a whole Kallithea 0.7 instance (users, keys, groups, repositories, permissions,
    gists, journal) into this instance; stop the server first."""
    config = settings()
    database = Database(config.database_url)
    try:
        try:
            with database.sessions() as session:
                initialised = bootstrap.default_user_id(session) is not None
        except Exception as exc:
            raise fail(
                f"cannot open the database ({shown_url(config.database_url)}): {reason(exc)}", 2
            ) from None
        if not initialised:
            raise fail("the instance is not initialised; run `hearth init`", 2)
        report = _run(database, config, db, repos, move, dry_run)
    except HearthError as exc:
        raise fail(exc.text) from None
    finally:
        database.dispose()
    if json_output:
        print_json(report.as_json())
    else:
        _show(report)
    if not report.ok:
        raise typer.Exit(1)


def _run(
    database: Database, config: Settings, db: str, repos: Path, move: bool, dry_run: bool
) -> Report:
    if sys.stderr.isatty():
        with Bar(
            BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TextColumn("{task.description}"),
            transient=True,
        ) as bar:  # fmt: skip
            task = bar.add_task("reading", total=None)

            def on_progress(phase: str, name: str) -> None:
                if phase == "plan":  # every directory is staged once and placed once
                    bar.update(task, total=2 * int(name), description="copying")
                    return
                advance = 1 if phase in ("verify", "place") else 0
                bar.update(task, advance=advance, description=f"{_PHASES.get(phase, phase)} {name}")

            return kallithea_import.run(
                database, config, db_url=db, repos_dir=repos, move=move, dry_run=dry_run,
                progress=on_progress,
            )  # fmt: skip

    def on_line(phase: str, name: str) -> None:
        if phase == "plan":
            name = f"{name} repositories and gists"
        typer.echo(f"import: {_PHASES.get(phase, phase)} {name}".rstrip(), err=True)

    return kallithea_import.run(
        database, config, db_url=db, repos_dir=repos, move=move, dry_run=dry_run, progress=on_line
    )


def _show(report: Report) -> None:
    if report.already_imported:
        typer.echo(f"{report.source} was already imported into this instance; nothing to do.")
    elif report.dry_run:
        typer.echo(f"Dry run: nothing was changed. Would import from {report.source}:")
    else:
        typer.echo(f"Imported from {report.source} in {report.seconds:.1f} s:")
    if report.merged_admin:
        typer.echo(f"The target's admin is merged with Kallithea's `{report.merged_admin}`.")
    counts = table("kind", "count")
    for kind, count in report.counts.items():
        counts.add_row(kind, str(count))
    show(counts)
    if report.skips:
        skipped = table("skipped", "name", "reason")
        for skip in report.skips:
            skipped.add_row(skip.kind, plain(skip.name), plain(skip.reason))
        show(skipped)
    if report.left_behind:
        left = {k: v for k, v in report.left_behind.items() if v}
        if left:
            behind = table("not imported (no counterpart in Hearth)", "rows")
            for name, rows in left.items():
                behind.add_row(name, str(rows))
            show(behind)
