"""pull_leases: the PULL queue's lease state in narrow rows of its own

A claim (PullEvents) and a confirmation (ConfirmEvents) changed visible_at, handle,
attempts and confirmed_at in place on `events`, so each rewrote 16 rows of ~1.5 KB
(the event body is in the row): on SQLite 8 table pages per statement, each a WAL
frame. The lease state now lives in `pull_leases`, one ~50-byte row per PULL event
(16 of them share a page); the body is read, never written, by a claim.
`bench/pull_sql.py` measured -29 % of SQLite's CPU per claim+confirm pair.

Not expand-only: the lease columns move, so a process of the previous revision
cannot run on the upgraded schema (its PullEvents would fail on the missing
columns). Stop every API replica of the older version before starting the new
one (docs/operations.md, Upgrades). Every PULL event keeps its lease state, its
handle and its pull count; the downgrade moves them back.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIVE = sa.text("confirmed_at IS NULL AND visible_at IS NOT NULL")
EVENT_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
MOVED = ("visible_at", "handle", "confirmed_at")


def _live_index(name: str, table: str, id_column: str) -> None:
    """The PULL claim's index: live leases in the claim's order (migration 0009)."""
    columns = ["app_id", "visible_at", id_column]
    op.create_index(name, table, columns, sqlite_where=LIVE, postgresql_where=LIVE)


def upgrade() -> None:
    op.create_table(
        "pull_leases",
        sa.Column("event_id", EVENT_ID, autoincrement=False, nullable=False),
        sa.Column("app_id", sa.BigInteger(), nullable=False),
        sa.Column("visible_at", sa.Float(), nullable=True),
        sa.Column("handle", sa.String(length=64), nullable=True),
        sa.Column("confirmed_at", sa.Float(), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.ForeignKeyConstraint(["event_id"], ["events.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("event_id"),
    )
    op.execute(
        "INSERT INTO pull_leases (event_id, app_id, visible_at, handle, confirmed_at, attempts) "
        "SELECT id, app_id, visible_at, handle, confirmed_at, attempts FROM events "
        "WHERE mode = 'PULL'"
    )
    _live_index("ix_pull_leases_live", "pull_leases", "event_id")
    op.drop_index("ix_events_pull", table_name="events")
    # Plain ALTER TABLE on both stores (SQLite >= 3.35): a batch copy of the table
    # would re-create its indexes from reflection, where partial ones lose their WHERE.
    for column in MOVED:
        op.execute(f"ALTER TABLE events DROP COLUMN {column}")


def downgrade() -> None:
    op.add_column("events", sa.Column("visible_at", sa.Float(), nullable=True))
    op.add_column("events", sa.Column("handle", sa.String(length=64), nullable=True))
    op.add_column("events", sa.Column("confirmed_at", sa.Float(), nullable=True))
    lease = "SELECT {} FROM pull_leases WHERE pull_leases.event_id = events.id"
    moved = [f"{c} = ({lease.format(c)})" for c in MOVED]
    moved.append(f"attempts = COALESCE(({lease.format('attempts')}), attempts)")
    op.execute(f"UPDATE events SET {', '.join(moved)} WHERE mode = 'PULL'")
    _live_index("ix_events_pull", "events", "id")
    op.drop_index("ix_pull_leases_live", table_name="pull_leases")
    op.drop_table("pull_leases")
