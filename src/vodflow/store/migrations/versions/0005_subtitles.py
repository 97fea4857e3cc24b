"""media subtitles (ModifyMediaInfo AddSubtitles, AttachMediaSubtitles)

Expand-only: a new table, so a process of the previous revision keeps working on
the upgraded schema (docs/operations.md, Upgrades).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 03:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "media_subtitles",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("file_id", sa.String(length=32), nullable=False),
        sa.Column("subtitle_id", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("language", sa.String(length=35), nullable=False),
        sa.Column("format", sa.String(length=8), nullable=False),
        sa.Column("blob_key", sa.String(length=512), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("create_time", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["file_id"], ["media.file_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("file_id", "subtitle_id", name="uq_media_subtitle"),
    )


def downgrade() -> None:
    op.drop_table("media_subtitles")
