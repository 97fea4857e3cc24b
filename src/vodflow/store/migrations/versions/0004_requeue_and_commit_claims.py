"""requeue hints, PullUpload leases and commit claims

subtasks.enqueued_at: when a queue message (a hint) was last sent for the subtask,
so the sweepers of every replica re-send lost hints continuously, one sender per
subtask per period. tasks.lease_owner / lease_until / enqueued_at: the same lease
and hint for PullUpload tasks, so a pull cut short by a restart is resumed.
upload_sessions.commit_owner / commit_until: who runs a CommitUpload and until when,
so a commit cut short by a crash can be taken over.

Expand-only: the columns are nullable, so a process of the previous revision
keeps working on the upgraded schema (docs/operations.md, Upgrades).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 11:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(sa.Column("lease_owner", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("lease_until", sa.Float(), nullable=True))
        batch.add_column(sa.Column("enqueued_at", sa.Float(), nullable=True))
    with op.batch_alter_table("subtasks") as batch:
        batch.add_column(sa.Column("enqueued_at", sa.Float(), nullable=True))
    with op.batch_alter_table("upload_sessions") as batch:
        batch.add_column(sa.Column("commit_owner", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("commit_until", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("upload_sessions") as batch:
        batch.drop_column("commit_until")
        batch.drop_column("commit_owner")
    with op.batch_alter_table("subtasks") as batch:
        batch.drop_column("enqueued_at")
    with op.batch_alter_table("tasks") as batch:
        batch.drop_column("enqueued_at")
        batch.drop_column("lease_until")
        batch.drop_column("lease_owner")
