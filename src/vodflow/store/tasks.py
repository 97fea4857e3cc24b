"""Queries of the task aggregate: task flows, their subtasks, and SessionId de-duplication.

Subtask claims are single conditional UPDATEs: whoever's UPDATE matches the row
owns it until `lease_until`, so a job delivered twice (or re-submitted by the
sweeper while still running somewhere) is refused by the database, not by luck.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import (
    Float,
    String,
    and_,
    bindparam,
    case,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from vodflow.status import SUBTASK_FINAL, SUBTASK_LIVE, SubtaskStatus
from vodflow.status import TASK_LIVE as TASK_LIVE_STATES
from vodflow.store.db import Reader, Writer
from vodflow.store.inline import prepared
from vodflow.store.job_leases import claim_job as claim_job
from vodflow.store.job_leases import claim_job_hints as claim_job_hints
from vodflow.store.job_leases import expire_job_lease as expire_job_lease
from vodflow.store.job_leases import finish_job as finish_job
from vodflow.store.job_leases import jobs_held_by_others as jobs_held_by_others
from vodflow.store.job_leases import release_job as release_job
from vodflow.store.job_leases import renew_job as renew_job
from vodflow.store.job_leases import update_held_job as update_held_job
from vodflow.store.schema import subtasks, task_sessions, tasks
from vodflow.store.task_reads import DetailSource as DetailSource
from vodflow.store.task_reads import flow_state_rows as flow_state_rows
from vodflow.store.task_reads import get_task as get_task
from vodflow.store.task_reads import subtasks_of as subtasks_of
from vodflow.store.task_reads import task_detail_of as task_detail_of
from vodflow.store.task_reads import task_detail_rows as task_detail_rows
from vodflow.store.task_reads import task_detail_source as task_detail_source

# Subtask states: WAITING and PROCESSING are live, the others final; task states.
LIVE = SUBTASK_LIVE
FINAL = SUBTASK_FINAL
TASK_LIVE = TASK_LIVE_STATES


# The statements of a flow's start, claim and finish are built once per set of columns
# they write: constructing a statement (and its cache key) costs more CPU than SQLite
# spends executing it. Each column is still named in `.values()` (as `v_<column>`
# bound parameters), so a misspelled column fails to compile as before, instead of
# being ignored as an unknown execution parameter would be.


def _bound(columns: Iterable[str]) -> dict[str, Any]:
    return {c: bindparam(f"v_{c}") for c in columns}


def _args(values: dict[str, Any], **keys: Any) -> dict[str, Any]:
    return {**keys, **{f"v_{c}": v for c, v in values.items()}}


@functools.lru_cache(maxsize=64)
def _add_task_stmt(columns: tuple[str, ...]) -> Any:
    return insert(tasks).values(_bound(columns))


@functools.lru_cache(maxsize=64)
def _add_subtask_stmt(columns: tuple[str, ...]) -> Any:
    return insert(subtasks).values(_bound(columns)).returning(subtasks.c.id)


async def add_task(conn: Writer, **values: Any) -> None:
    await conn.execute(_add_task_stmt(tuple(values)), _args(values))


async def add_subtasks(conn: Writer, rows: Sequence[dict[str, Any]]) -> list[int]:
    ids: list[int] = []
    for row in rows:
        result = await conn.execute(_add_subtask_stmt(tuple(row)), _args(row))
        ids.append(int(result.scalar_one()))
    return ids


# Statements of every flow's claim and finish, built once: constructing a statement
# (and its cache key) costs more CPU than SQLite spends executing it.
_GET_TASK_ANY = prepared(select(tasks).where(tasks.c.task_id == bindparam("task_id")))
_LOCK_TASK = (
    select(tasks.c.task_id).where(tasks.c.task_id == bindparam("task_id")).with_for_update()
)
_COUNT_LIVE = prepared(
    select(func.count()).where(
        subtasks.c.task_id == bindparam("task_id"), subtasks.c.status.in_(list(SUBTASK_LIVE))
    )
)
_SET_OUTPUT = (
    update(subtasks).where(subtasks.c.id == bindparam("b_id")).values(output=bindparam("b_output"))
)


async def get_task_any(conn: Reader, task_id: str) -> dict[str, Any] | None:
    """A task whatever its application (for job handlers, which get only ids)."""
    row = (await conn.execute(_GET_TASK_ANY, {"task_id": task_id})).mappings().first()
    return dict(row) if row else None


async def lock_task(conn: Writer, task_id: str) -> None:
    """Serialise state changes of one flow (PostgreSQL row lock; SQLite has one writer).

    Without it two workers finishing the flow's last two subtasks at once each see
    the other still running under READ COMMITTED, and nobody ends the flow.
    """
    await conn.execute(_LOCK_TASK, {"task_id": task_id})


@functools.lru_cache(maxsize=64)
def _update_task_stmt(columns: tuple[str, ...], old: tuple[str, ...] | None) -> Any:
    stmt = update(tasks).where(tasks.c.task_id == bindparam("b_task_id"))
    if old is not None:
        stmt = stmt.where(tasks.c.status.in_(old))
    return stmt.values(_bound(columns))


async def update_task(conn: Writer, task_id: str, **values: Any) -> None:
    await conn.execute(_update_task_stmt(tuple(values), None), _args(values, b_task_id=task_id))


async def set_task_status(conn: Writer, task_id: str, old: Sequence[str], **values: Any) -> bool:
    """Change a task only if it is still in one of the `old` states."""
    stmt = _update_task_stmt(tuple(values), tuple(old))
    return (await conn.execute(stmt, _args(values, b_task_id=task_id))).rowcount == 1


# Read inline on SQLite by the flow's finish (store/inline.py): built once.
_GET_SUBTASK = prepared(select(subtasks).where(subtasks.c.id == bindparam("id")))
_HOLDS = prepared(
    select(func.count()).where(
        subtasks.c.id.in_(bindparam("ids", expanding=True)),
        subtasks.c.lease_owner == bindparam("owner"),
        subtasks.c.status == SubtaskStatus.PROCESSING,
    )
)


async def get_subtask(conn: Reader, subtask_id: int) -> dict[str, Any] | None:
    row = (await conn.execute(_GET_SUBTASK, {"id": subtask_id})).mappings().first()
    return dict(row) if row else None


def _claimable(now: Any) -> Any:
    return or_(
        subtasks.c.status == SubtaskStatus.WAITING,
        and_(
            subtasks.c.status == SubtaskStatus.PROCESSING,
            or_(subtasks.c.lease_until.is_(None), subtasks.c.lease_until < now),
        ),
    )


async def claim(
    conn: Writer,
    subtask_id: int,
    owner: str,
    until: float,
    now: float,
    *,
    skip_locked: bool = False,
) -> bool:
    """Take a waiting subtask, or one whose lease expired; False if someone holds it.

    `skip_locked` (PostgreSQL): give up at once on a row another transaction is
    claiming, instead of waiting for it. Claiming siblings uses it: two workers
    each claiming its own subtask and then the other's would otherwise deadlock.
    """
    params = {"b_id": subtask_id, "b_owner": owner, "b_until": until, "b_now": now}
    stmt = _CLAIM
    if skip_locked and conn.dialect.name == "postgresql":
        free = select(subtasks.c.id).where(subtasks.c.id == bindparam("b_id"))
        stmt = stmt.where(
            subtasks.c.id.in_(free.with_for_update(skip_locked=True).scalar_subquery())
        )
    return (await conn.execute(stmt, params)).rowcount == 1


# Built once (see _GET_TASK_ANY); `skip_locked` adds its condition to a copy.
_CLAIM = (
    update(subtasks)
    .where(subtasks.c.id == bindparam("b_id"), _claimable(bindparam("b_now", type_=Float)))
    .values(
        status=SubtaskStatus.PROCESSING,
        lease_owner=bindparam("b_owner", type_=String),
        lease_until=bindparam("b_until", type_=Float),
        attempts=subtasks.c.attempts + 1,
        progress=0,
        begin_time=func.coalesce(subtasks.c.begin_time, bindparam("b_now", type_=Float)),
    )
)


async def renew(
    conn: AsyncConnection, subtask_ids: Sequence[int], owner: str, until: float, progress: int
) -> bool:
    """Extend our lease and store progress; False when we no longer hold every subtask."""
    stmt = (
        update(subtasks)
        .where(
            subtasks.c.id.in_(list(subtask_ids)),
            subtasks.c.lease_owner == owner,
            subtasks.c.status == SubtaskStatus.PROCESSING,
        )
        .values(lease_until=until, progress=progress)
    )
    return (await conn.execute(stmt)).rowcount == len(subtask_ids)


async def holds(conn: Reader, subtask_ids: Sequence[int], owner: str) -> bool:
    result = await conn.execute(_HOLDS, {"ids": list(subtask_ids), "owner": owner})
    return int(result.scalar_one()) == len(subtask_ids)


@functools.lru_cache(maxsize=64)
def _finish_subtask_stmt(columns: tuple[str, ...], held: bool) -> Any:
    stmt = update(subtasks).where(
        subtasks.c.id == bindparam("b_id"), subtasks.c.status.in_(list(LIVE))
    )
    if held:
        stmt = stmt.where(subtasks.c.lease_owner == bindparam("b_owner"))
    return stmt.values(lease_owner=None, lease_until=None, **_bound(columns))


async def finish_subtask(conn: Writer, subtask_id: int, owner: str | None, **values: Any) -> bool:
    """Record a subtask's end, only if `owner` still holds it (None: unconditionally)."""
    stmt = _finish_subtask_stmt(tuple(values), owner is not None)
    args = _args(values, b_id=subtask_id)
    if owner is not None:
        args["b_owner"] = owner
    return (await conn.execute(stmt, args)).rowcount == 1


async def release(conn: AsyncConnection, subtask_ids: Sequence[int], owner: str) -> None:
    """Give subtasks back (shutdown): waiting again, to be re-run from scratch.

    A clean release is not an interrupted attempt: its claim is taken back, so
    restarting a server during a long job never uses up the job's attempts.
    """
    stmt = (
        update(subtasks)
        .where(subtasks.c.id.in_(list(subtask_ids)), subtasks.c.lease_owner == owner)
        .where(subtasks.c.status == SubtaskStatus.PROCESSING)
        .values(
            status=SubtaskStatus.WAITING,
            lease_owner=None,
            lease_until=None,
            progress=0,
            attempts=case((subtasks.c.attempts > 0, subtasks.c.attempts - 1), else_=0),
            # No message is queued for it any more: the sweeper sends one at once.
            enqueued_at=None,
        )
    )
    await conn.execute(stmt)


async def abort_subtasks(conn: AsyncConnection, task_id: str, now: float) -> None:
    stmt = (
        update(subtasks)
        .where(subtasks.c.task_id == task_id, subtasks.c.status.in_(list(LIVE)))
        .values(status=SubtaskStatus.ABORTED, lease_owner=None, lease_until=None, finish_time=now)
    )
    await conn.execute(stmt)


async def count_live(conn: Reader, task_id: str) -> int:
    return int((await conn.execute(_COUNT_LIVE, {"task_id": task_id})).scalar_one())


def _expired(now: float) -> Any:
    return and_(
        subtasks.c.status == SubtaskStatus.PROCESSING,
        or_(subtasks.c.lease_until.is_(None), subtasks.c.lease_until < now),
    )


def _hint_due(now: float, after_s: float, max_gap_s: float) -> Any:
    """A runnable subtask whose queue message may be lost: send another.

    Never sent (or given back), or sent before its lease expired: at once. Otherwise
    `after_s` after the last one, the gap doubling with the time it has waited
    (a backlog costs few duplicates), up to `max_gap_s`.
    """
    sent = subtasks.c.enqueued_at
    waited = sent - subtasks.c.create_time
    return or_(
        sent.is_(None),
        and_(subtasks.c.status == SubtaskStatus.PROCESSING, sent < subtasks.c.lease_until),
        and_(sent <= now - after_s, or_(sent <= now - max_gap_s, waited <= now - sent)),
    )


async def claim_hints(
    conn: AsyncConnection,
    now: float,
    *,
    after_s: float,
    max_gap_s: float,
    everything: bool = False,
    limit: int = 500,
) -> list[dict[str, Any]]:
    """Claim the re-send of lost queue messages: runnable subtasks (WAITING, or PROCESSING
    with an expired lease, of live tasks) whose hint is due; (id, priority) of each.

    The claim is the UPDATE of `enqueued_at` to `now`, conditional on the hint still
    being due, so of several replicas sweeping at once exactly one sends each
    (PostgreSQL re-checks the condition on the row it locked). `everything`: every
    runnable subtask not yet claimed at `now` (a restart whose in-process queue was
    lost). Call again until it returns fewer than `limit` rows.
    """
    runnable_cond = or_(subtasks.c.status == SubtaskStatus.WAITING, _expired(now))
    due = (
        or_(subtasks.c.enqueued_at.is_(None), subtasks.c.enqueued_at < now)
        if everything
        else _hint_due(now, after_s, max_gap_s)
    )
    pick = (
        select(subtasks.c.id)
        .join(tasks, tasks.c.task_id == subtasks.c.task_id)
        .where(runnable_cond, due, tasks.c.status.in_(list(TASK_LIVE)))
        .order_by(subtasks.c.priority.desc(), subtasks.c.id)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        pick = pick.with_for_update(of=subtasks, skip_locked=True)
    stmt = (
        update(subtasks)
        .where(subtasks.c.id.in_(pick.scalar_subquery()), runnable_cond, due)
        .values(enqueued_at=now)
        .returning(subtasks.c.id, subtasks.c.priority)
    )
    rows = [dict(r) for r in (await conn.execute(stmt)).mappings()]
    rows.sort(key=lambda r: (-int(r["priority"] or 0), int(r["id"])))
    return rows


async def held_by_others(conn: AsyncConnection, owner_prefix: str) -> list[dict[str, Any]]:
    """Running subtasks whose lease owner starts with `owner_prefix` (same host)."""
    stmt = select(subtasks.c.id, subtasks.c.priority, subtasks.c.lease_owner).where(
        subtasks.c.status == SubtaskStatus.PROCESSING,
        subtasks.c.lease_owner.like(owner_prefix + "%"),
    )
    return [dict(r) for r in (await conn.execute(stmt)).mappings()]


async def expire_lease(conn: AsyncConnection, subtask_id: int, owner: str) -> None:
    stmt = (
        update(subtasks)
        .where(subtasks.c.id == subtask_id, subtasks.c.lease_owner == owner)
        .values(lease_until=0.0)
    )
    await conn.execute(stmt)


# --- SessionId de-duplication ----------------------------------------------


async def session_task(conn: Writer, app_id: int, session_id: str, since: float) -> str | None:
    stmt = select(task_sessions.c.task_id).where(
        task_sessions.c.app_id == app_id,
        task_sessions.c.session_id == session_id,
        task_sessions.c.create_time >= since,
    )
    return (await conn.execute(stmt)).scalar_one_or_none()


async def put_session(conn: Writer, app_id: int, session_id: str, task_id: str, now: float) -> None:
    await conn.execute(
        delete(task_sessions).where(
            task_sessions.c.app_id == app_id, task_sessions.c.session_id == session_id
        )
    )
    await conn.execute(
        insert(task_sessions).values(
            app_id=app_id, session_id=session_id, task_id=task_id, create_time=now
        )
    )


async def purge_sessions(conn: AsyncConnection, before: float) -> None:
    await conn.execute(delete(task_sessions).where(task_sessions.c.create_time < before))


# --- listing -----------------------------------------------------------------


async def search(
    conn: AsyncConnection,
    app_id: int,
    *,
    status: str | None = None,
    file_id: str | None = None,
    create_range: tuple[float | None, float | None] = (None, None),
    finish_range: tuple[float | None, float | None] = (None, None),
    sort_field: str = "CreateTime",
    descending: bool = True,
    after: tuple[float, str] | None = None,
    limit: int = 10,
) -> list[dict[str, Any]]:
    """Tasks of one application, keyset-paged on (sort time, task_id)."""
    col = tasks.c.create_time if sort_field == "CreateTime" else tasks.c.finish_time
    conds = [tasks.c.app_id == app_id]
    if status:
        conds.append(tasks.c.status == status)
    if file_id:
        conds.append(tasks.c.file_id == file_id)
    for column, (lo, hi) in (
        (tasks.c.create_time, create_range),
        (tasks.c.finish_time, finish_range),
    ):
        if lo is not None:
            conds.append(column >= lo)
        if hi is not None:
            conds.append(column < hi)
    if sort_field != "CreateTime":
        conds.append(col.is_not(None))
    if after is not None:
        at, tid = after
        if descending:
            conds.append(or_(col < at, and_(col == at, tasks.c.task_id < tid)))
        else:
            conds.append(or_(col > at, and_(col == at, tasks.c.task_id > tid)))
    order = [col.desc(), tasks.c.task_id.desc()] if descending else [col, tasks.c.task_id]
    stmt = select(tasks).where(*conds).order_by(*order).limit(limit)
    return [dict(r) for r in (await conn.execute(stmt)).mappings()]


async def set_output(conn: Writer, subtask_id: int, output: Any) -> None:
    await conn.execute(_SET_OUTPUT, {"b_id": subtask_id, "b_output": output})
