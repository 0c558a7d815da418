# SPDX-License-Identifier: GPL-3.0-or-later
"""``hearth admin migrate-db --to postgresql://…``: move the instance's database (``db/copy.py``).

Stop the servers and workers first (the copy is of one moment; writes made during it would be
lost), run this, then point ``database_url`` at the target and start them again. The source is
left as it was, so going back is changing the setting back.
"""

from __future__ import annotations

from typing import Annotated

import typer

from hearth.cli.admin_context import fail, settings, shown_url
from hearth.db.copy import CopyError, copy_instance
from hearth.db.session import Database


def migrate_db(
    to: Annotated[str, typer.Option("--to", help="The empty target, postgresql://user@host/db.")],
) -> None:
    """Copy the whole instance's database to an empty PostgreSQL database."""
    config = settings()
    if not to.startswith("postgresql"):
        raise fail("--to: expected a postgresql:// URL", 2)
    if to == config.database_url:
        raise fail("--to: that is the instance's own database", 2)
    source, target = Database(config.database_url), Database(to)
    try:
        report = copy_instance(
            source, target, lambda table, rows: typer.echo(f"{table}: {rows} rows")
        )
    except CopyError as exc:
        raise fail(str(exc)) from None
    except Exception as exc:
        raise fail(f"cannot copy to {shown_url(to)}: {exc}") from None
    finally:
        source.dispose()
        target.dispose()
    total = sum(report.rows.values())
    typer.echo(
        f"Copied {total} rows in {len(report.rows)} tables to {shown_url(to)}; row counts checked."
    )
    typer.echo(f"Now set database_url (HEARTH_DATABASE_URL) to {shown_url(to)} and restart.")
