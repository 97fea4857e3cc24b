"""Leases of tasks that are one job each: the task row itself is the job.

PullUpload, EditMedia, SplitMedia, DescribeFileAttributes: every type but a flow
(whose subtasks carry the leases, store/tasks.py). The statements mirror the subtask
ones there; `store.tasks` re-exports these, so the task aggregate's queries stay one
module to its callers.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, case, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from vodflow.status import TaskStatus
from vodflow.store.schema import tasks

JOB_TASK = tasks.c.type != "Procedure"


def _job(task_id: str) -> Any:
    return and_(tasks.c.task_id == task_id, JOB_TASK)


def _job_expired(now: float) -> Any:
    return and_(
        tasks.c.status == TaskStatus.PROCESSING,
        or_(tasks.c.lease_until.is_(None), tasks.c.lease_until < now),
    )


async def claim_job(
    conn: AsyncConnection, task_id: str, owner: str, until: float, now: float
) -> bool:
    """Take a WAITING one-job task, or one whose runner's lease expired (an attempt)."""
    stmt = (
        update(tasks)
        .where(_job(task_id), or_(tasks.c.status == TaskStatus.WAITING, _job_expired(now)))
        .values(
            status=TaskStatus.PROCESSING,
            lease_owner=owner,
            lease_until=until,
            attempts=tasks.c.attempts + 1,
            begin_time=func.coalesce(tasks.c.begin_time, now),
        )
    )
    return (await conn.execute(stmt)).rowcount == 1


def _held(task_id: str, owner: str) -> Any:
    return and_(
        _job(task_id), tasks.c.lease_owner == owner, tasks.c.status == TaskStatus.PROCESSING
    )


async def renew_job(conn: AsyncConnection, task_id: str, owner: str, until: float) -> bool:
    stmt = update(tasks).where(_held(task_id, owner)).values(lease_until=until)
    return (await conn.execute(stmt)).rowcount == 1


async def update_held_job(conn: AsyncConnection, task_id: str, owner: str, **values: Any) -> bool:
    """Update a one-job task only while `owner` holds it (progress of a run)."""
    stmt = update(tasks).where(_held(task_id, owner)).values(**values)
    return (await conn.execute(stmt)).rowcount == 1


async def finish_job(conn: AsyncConnection, task_id: str, owner: str, **values: Any) -> bool:
    """End a one-job task, only if `owner` still holds it (not aborted nor taken over)."""
    return await update_held_job(conn, task_id, owner, lease_owner=None, lease_until=None, **values)


async def release_job(conn: AsyncConnection, task_id: str, owner: str) -> None:
    """Give a one-job task back (shutdown): WAITING, its message to be sent again at once.

    A clean release is not an interrupted attempt: its claim is taken back.
    """
    stmt = (
        update(tasks)
        .where(_held(task_id, owner))
        .values(
            status=TaskStatus.WAITING,
            lease_owner=None,
            lease_until=None,
            enqueued_at=None,
            attempts=case((tasks.c.attempts > 0, tasks.c.attempts - 1), else_=0),
        )
    )
    await conn.execute(stmt)


async def claim_job_hints(
    conn: AsyncConnection,
    now: float,
    *,
    after_s: float,
    max_gap_s: float,
    everything: bool = False,
    limit: int = 500,
) -> list[dict[str, Any]]:
    """`claim_hints` for one-job tasks: (task_id, type, priority) of each re-send claimed."""
    runnable_cond = and_(JOB_TASK, or_(tasks.c.status == TaskStatus.WAITING, _job_expired(now)))
    sent = tasks.c.enqueued_at
    if everything:
        due = or_(sent.is_(None), sent < now)
    else:
        due = or_(
            sent.is_(None),
            and_(tasks.c.status == TaskStatus.PROCESSING, sent < tasks.c.lease_until),
            and_(tasks.c.status == TaskStatus.PROCESSING, tasks.c.lease_until.is_(None)),
            and_(
                sent <= now - after_s,
                or_(sent <= now - max_gap_s, sent - tasks.c.create_time <= now - sent),
            ),
        )
    pick = (
        select(tasks.c.task_id)
        .where(runnable_cond, due)
        .order_by(tasks.c.priority.desc(), tasks.c.create_time)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    stmt = (
        update(tasks)
        .where(tasks.c.task_id.in_(pick.scalar_subquery()), runnable_cond, due)
        .values(enqueued_at=now)
        .returning(tasks.c.task_id, tasks.c.type, tasks.c.priority)
    )
    return [dict(r) for r in (await conn.execute(stmt)).mappings()]


async def jobs_held_by_others(conn: AsyncConnection, owner_prefix: str) -> list[dict[str, Any]]:
    """Running one-job tasks whose lease owner starts with `owner_prefix` (same host)."""
    stmt = select(tasks.c.task_id, tasks.c.lease_owner).where(
        JOB_TASK,
        tasks.c.status == TaskStatus.PROCESSING,
        tasks.c.lease_owner.like(owner_prefix + "%"),
    )
    return [dict(r) for r in (await conn.execute(stmt)).mappings()]


async def expire_job_lease(conn: AsyncConnection, task_id: str, owner: str) -> None:
    stmt = update(tasks).where(_job(task_id), tasks.c.lease_owner == owner).values(lease_until=0.0)
    await conn.execute(stmt)
