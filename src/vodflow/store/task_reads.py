"""A task and its subtasks by id: DescribeTaskDetail's read, and the flows' own.

Built once with bind parameters, so that on SQLite they run inline on a plain
sqlite3 connection (store/inline.py) when read through `Database.read_inline`; in a
transaction or on PostgreSQL they are ordinary statements. `store.tasks` re-exports
its functions (the task aggregate's queries live there).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Text, and_, bindparam, cast, select

from vodflow.store.db import Reader
from vodflow.store.inline import decode_json, prepared
from vodflow.store.schema import subtasks, tasks

_GET_TASK = prepared(
    select(tasks).where(
        tasks.c.task_id == bindparam("task_id"), tasks.c.app_id == bindparam("app_id")
    )
)
_SUBTASKS_OF = prepared(
    select(subtasks).where(subtasks.c.task_id == bindparam("task_id")).order_by(subtasks.c.seq)
)


async def get_task(conn: Reader, app_id: int, task_id: str) -> dict[str, Any] | None:
    row = (await conn.execute(_GET_TASK, {"task_id": task_id, "app_id": app_id})).mappings().first()
    return dict(row) if row else None


async def subtasks_of(conn: Reader, task_id: str) -> list[dict[str, Any]]:
    return [dict(r) for r in (await conn.execute(_SUBTASKS_OF, {"task_id": task_id})).mappings()]


# What the DescribeTaskDetail answer shows of a task and of each of its subtasks
# (wire/task_views.py): fewer columns read, fewer values made.
_DETAIL_TASK = (
    *("task_id", "type", "status", "file_id", "priority", "notify_mode", "session_context"),
    *("session_id", "err_code", "message", "input", "output"),
    *("create_time", "begin_time", "finish_time"),
)
_DETAIL_SUBTASK = (
    *("type", "input", "status", "progress", "err_code", "err_code_ext", "message"),
    *("output", "begin_time", "finish_time"),
)

# Repeated on every row of the join: read as text, decoded once (from the first row).
_TASK_JSON = ("input", "output")

# The task and its subtasks in one statement, so one snapshot without a transaction:
# a row per subtask (in order), or one row of NULL subtask columns.
_DETAIL = prepared(
    select(
        *(cast(tasks.c[k], Text).label(k) if k in _TASK_JSON else tasks.c[k] for k in _DETAIL_TASK),
        *(subtasks.c[k].label(f"sub_{k}") for k in _DETAIL_SUBTASK),
    )
    .select_from(
        tasks.outerjoin(
            subtasks,
            # Only a Procedure's answer lists its subtasks.
            and_(subtasks.c.task_id == tasks.c.task_id, tasks.c.type == "Procedure"),
        )
    )
    .where(tasks.c.task_id == bindparam("task_id"), tasks.c.app_id == bindparam("app_id"))
    .order_by(subtasks.c.seq),
    alone=True,
)


async def task_detail_rows(
    conn: Reader, app_id: int, task_id: str
) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    """The task (the columns its answer shows) and, for a Procedure, its subtasks in
    order; None for a task unknown to the application."""
    rows = (await conn.execute(_DETAIL, {"task_id": task_id, "app_id": app_id})).all()
    if not rows:
        return None
    n = len(_DETAIL_TASK)
    task = dict(zip(_DETAIL_TASK, rows[0][:n], strict=True))
    for k in _TASK_JSON:
        task[k] = decode_json(task[k])
    if rows[0][n] is None:  # no subtask joined (subtasks.type is never NULL)
        return task, []
    return task, [dict(zip(_DETAIL_SUBTASK, row[n:], strict=True)) for row in rows]
