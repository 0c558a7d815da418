"""production mode: task arguments and heartbeats, repository mirrors

Revision ID: 0005_production
Revises: 0004_pullrequests
Create Date: 2026-12-03 06:10:00

``tasks.args`` keeps what a task was asked to do, so whoever finds it lost (its worker stopped
beating) can undo what it had started; ``tasks.heartbeat_on`` is the last sign of life of the
worker running it. The ``mirror_*`` columns schedule and record the periodic pull of a repository
with a ``clone_uri`` (issue 18, "Mirrors"). ``auth_failures`` lets every server process count
the same authentication failures.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_production"
down_revision = "0004_pullrequests"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "auth_failures",
        sa.Column("failure_id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("failed_on", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("failure_id", name=op.f("pk_auth_failures")),
    )
    op.create_index(op.f("ix_auth_failures_address"), "auth_failures", ["address"])
    op.create_index(op.f("ix_auth_failures_failed_on"), "auth_failures", ["failed_on"])
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(sa.Column("args", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("heartbeat_on", sa.DateTime(), nullable=True))
    with op.batch_alter_table("repositories") as batch:
        batch.add_column(sa.Column("pull_interval", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("mirror_next_on", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("mirror_success_on", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("mirror_error", sa.Text(), nullable=True))
        batch.add_column(sa.Column("mirror_error_on", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("mirror_duration", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("repositories") as batch:
        for name in (
            "mirror_duration",
            "mirror_error_on",
            "mirror_error",
            "mirror_success_on",
            "mirror_next_on",
            "pull_interval",
        ):
            batch.drop_column(name)
    with op.batch_alter_table("tasks") as batch:
        batch.drop_column("heartbeat_on")
        batch.drop_column("args")
    op.drop_table("auth_failures")
