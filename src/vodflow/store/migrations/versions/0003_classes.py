"""media categories (CreateClass)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 12:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "classes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("app_id", sa.BigInteger(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("create_time", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["app_id"], ["apps.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_classes_app_parent", "classes", ["app_id", "parent_id"], unique=False)
    op.create_index("ix_media_app_class", "media", ["app_id", "class_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_media_app_class", table_name="media")
    op.drop_index("ix_classes_app_parent", table_name="classes")
    op.drop_table("classes")
