"""leases of the tasks that are one job each

tasks.attempts: how many times the task row was claimed (leased) by a runner, so
EditMedia, SplitMedia, DescribeFileAttributes and PullUpload tasks, leased like
subtasks since this revision, fail after MAX_ATTEMPTS interrupted runs instead of
being re-run forever. Their lease_owner / lease_until / enqueued_at columns exist
since 0004 (PullUpload used them alone).

Expand-only: the column has a server default, so a process of the previous
revision keeps inserting tasks on the upgraded schema (docs/operations.md, Upgrades).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 04:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(
            sa.Column("attempts", sa.Integer(), nullable=False, server_default=sa.text("0"))
        )


def downgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.drop_column("attempts")
