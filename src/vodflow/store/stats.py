"""Counts for /metrics: work queued, events waiting. Each walks a small index."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from vodflow.status import SUBTASK_LIVE, DeliveryStatus
from vodflow.store.schema import events, pull_leases, subtasks


async def subtasks_live(conn: AsyncConnection) -> dict[str, int]:
    """Subtasks WAITING (queued) and PROCESSING (leased), all applications."""
    stmt = (
        select(subtasks.c.status, func.count())
        .where(subtasks.c.status.in_(SUBTASK_LIVE))
        .group_by(subtasks.c.status)
    )
    found = {str(s): int(n) for s, n in (await conn.execute(stmt)).all()}
    return {s: found.get(s, 0) for s in SUBTASK_LIVE}


async def pull_backlog(conn: AsyncConnection) -> int:
    """PULL events not yet confirmed (visible or leased to a puller)."""
    leases = pull_leases.c
    stmt = select(func.count()).where(leases.confirmed_at.is_(None), leases.visible_at.is_not(None))
    return int((await conn.execute(stmt)).scalar_one())


async def push_pending(conn: AsyncConnection) -> int:
    stmt = select(func.count()).where(events.c.delivery_status == DeliveryStatus.PENDING)
    return int((await conn.execute(stmt)).scalar_one())
