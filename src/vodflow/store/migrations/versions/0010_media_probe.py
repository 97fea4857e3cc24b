"""media.probe: the source's full probe, kept from ingest so that ops need not probe again

`meta` holds MediaMetaData (Tencent's fields only); an op also needs what it leaves
out (stream indexes, audio channels, whether the file is a still image). A flow's op
read it by probing the source again with PyAV (decoding its first frame for the
rotation) on every run. Nullable: rows of earlier revisions have none, and their
ops probe as before; a process of the previous revision runs unchanged on the
upgraded schema (docs/operations.md, Upgrades).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 17:55:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("media") as batch:
        batch.add_column(sa.Column("probe", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("media") as batch:
        batch.drop_column("probe")
