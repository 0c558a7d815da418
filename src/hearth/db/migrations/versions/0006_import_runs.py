"""import_runs: imports from other forges, for reruns to recognise (issue 17)

Revision ID: 0006_import_runs
Revises: 0005_production
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_import_runs"
down_revision = "0005_production"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "import_runs",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("report", sa.JSON(), nullable=True),
        sa.Column("finished_on", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", name=op.f("pk_import_runs")),
    )
    op.create_index(
        op.f("ix_import_runs_fingerprint"), "import_runs", ["fingerprint"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_import_runs_fingerprint"), table_name="import_runs")
    op.drop_table("import_runs")
