"""the PULL claim's index carries its whole ORDER BY: (app_id, visible_at, id)

The claim reads `WHERE app_id = ? AND confirmed_at IS NULL AND visible_at <= ?
ORDER BY visible_at, id LIMIT 16`. With the index on (app_id, visible_at) alone,
PostgreSQL could only walk it in order if it knew the ties on visible_at were few;
until ANALYZE ran it sorted every live row of the application instead (26.6 ms per
claim against 0.7 ms with 10,000 queued). With `id` in the index the index order is
the ORDER BY, so the plan is the same whatever the table's statistics say.

Index-only: a process of the previous revision runs unchanged on the upgraded
schema (docs/operations.md, Upgrades).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 03:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIVE_PULL = sa.text("confirmed_at IS NULL AND visible_at IS NOT NULL")


def _replace(columns: list[str]) -> None:
    with op.batch_alter_table("events") as batch:
        batch.drop_index("ix_events_pull")
        batch.create_index(
            "ix_events_pull",
            columns,
            unique=False,
            sqlite_where=LIVE_PULL,
            postgresql_where=LIVE_PULL,
        )


def upgrade() -> None:
    _replace(["app_id", "visible_at", "id"])


def downgrade() -> None:
    _replace(["app_id", "visible_at"])
