# SPDX-License-Identifier: GPL-3.0-or-later
"""Alembic, driven from code: ``upgrade`` brings a database to the newest schema.

Alembic is imported when a migration is asked for, not with this module: every ``hearth``
command imports it through the services, and most never migrate (about 90 ms per command).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from hearth.db.session import Database

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(db: Database) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = db.engine
    return config


def upgrade(db: Database) -> None:
    """Apply every migration up to the single head (the chain is linear)."""
    from alembic import command

    command.upgrade(alembic_config(db), "head")


def pending(db: Database) -> list[str]:
    """Revisions not yet applied (``hearth admin doctor`` reports them)."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(db))
    with db.engine.connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
    heads = set(script.get_heads())
    if current == heads:
        return []
    return [rev.revision for rev in script.walk_revisions() if rev.revision not in current]
