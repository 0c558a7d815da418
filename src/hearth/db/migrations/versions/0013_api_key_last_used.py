"""api_keys.last_used: when a key last authenticated a request (the My account page shows it);
an index on repositories.updated_on (the home page sorts by last change)

Revision ID: 0013_api_key_last_used
Revises: 0006_import_runs
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_api_key_last_used"
down_revision = "0006_import_runs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_used", sa.Float(), nullable=True))
    with op.batch_alter_table("repositories", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_repositories_updated_on"), ["updated_on"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("repositories", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_repositories_updated_on"))
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_column("last_used")
