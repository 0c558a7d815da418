"""from_group_id on the four permission-row tables of repositories and repository groups: the
repository group whose grant wrote the row on something inside it (``apply_to_children``,
``copy_permissions``), which the permission explainer names ("inherited from"); NULL for rows
written on the object itself, and for every row that exists before this revision

Revision ID: 0015_permission_origin
Revises: 0014_task_progress
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015_permission_origin"
down_revision = "0014_task_progress"
branch_labels = None
depends_on = None

TABLES = ("repo_user_perms", "repo_user_group_perms", "group_user_perms", "group_user_group_perms")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("from_group_id", sa.Integer(), nullable=True))
            batch_op.create_index(batch_op.f(f"ix_{table}_from_group_id"), ["from_group_id"])
            batch_op.create_foreign_key(
                batch_op.f(f"fk_{table}_from_group_id_repo_groups"),
                "repo_groups",
                ["from_group_id"],
                ["group_id"],
                ondelete="SET NULL",
            )


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(
                batch_op.f(f"fk_{table}_from_group_id_repo_groups"), type_="foreignkey"
            )
            batch_op.drop_index(batch_op.f(f"ix_{table}_from_group_id"))
            batch_op.drop_column("from_group_id")
