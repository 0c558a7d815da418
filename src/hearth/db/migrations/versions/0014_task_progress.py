"""tasks.progress: how far a background task has got (the admin rescan page shows it while a
worker runs it)

Revision ID: 0014_task_progress
Revises: 0013_api_key_last_used
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_task_progress"
down_revision = "0013_api_key_last_used"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("progress", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_column("progress")
