"""client upload signatures: flow options of an upload session, spent one-time signatures

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 11:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("upload_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("task_priority", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("task_notify_mode", sa.String(length=8), nullable=True))
    op.create_table(
        "spent_upload_signatures",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("digest"),
    )
    with op.batch_alter_table("spent_upload_signatures", schema=None) as batch_op:
        batch_op.create_index("ix_spent_upload_signatures_expiry", ["expires_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("spent_upload_signatures", schema=None) as batch_op:
        batch_op.drop_index("ix_spent_upload_signatures_expiry")
    op.drop_table("spent_upload_signatures")
    with op.batch_alter_table("upload_sessions", schema=None) as batch_op:
        batch_op.drop_column("task_notify_mode")
        batch_op.drop_column("task_priority")
