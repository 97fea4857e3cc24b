"""fault injection rules and their firings (test-only, `vodflow serve --faults`)

In the database rather than in one process's memory so that every process of a
scaled deployment (Celery workers run the subtasks, any replica answers the API and
delivers events) applies the same rules. New tables only: expand-only.

Revision ID: 0007
Revises: 0005
Create Date: 2026-12-06 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "fault_rules",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("rule_id", sa.String(length=32), nullable=False, unique=True),
        sa.Column("app_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("match", sa.JSON(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("remaining", sa.Integer(), nullable=True),
        sa.Column("fired", sa.Integer(), nullable=False),
        sa.Column("probability", sa.Float(), nullable=True),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("draws", sa.Integer(), nullable=False),
        sa.Column("expire_at", sa.Float(), nullable=True),
        sa.Column("create_time", sa.Float(), nullable=False),
    )
    op.create_index("ix_fault_rules_app", "fault_rules", ["app_id", "kind"])
    op.create_table(
        "fault_firings",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("app_id", sa.BigInteger(), nullable=False),
        sa.Column("rule_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("time", sa.Float(), nullable=False),
        sa.Column("target_key", sa.String(length=128), nullable=False),
        sa.Column("ids", sa.JSON(), nullable=False),
    )
    op.create_index("ix_fault_firings_rule", "fault_firings", ["rule_id", "target_key"])
    op.create_index("ix_fault_firings_app", "fault_firings", ["app_id"])


def downgrade() -> None:
    op.drop_table("fault_firings")
    op.drop_table("fault_rules")
