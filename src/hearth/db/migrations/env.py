# SPDX-License-Identifier: GPL-3.0-or-later
"""Alembic environment: the engine comes from ``hearth.db.migrate`` (never from a config file)."""

from __future__ import annotations

from alembic import context

from hearth.db.models import Base

config = context.config
engine = config.attributes["engine"]

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=engine.dialect.name == "sqlite",
    )
    context.run_migrations()
