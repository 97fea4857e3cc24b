"""A task and its subtasks by id: DescribeTaskDetail's read, and the flows' own.

Built once with bind parameters, so that on SQLite they run inline on a plain
sqlite3 connection (store/inline.py) when read through `Database.read_inline`; in a
transaction or on PostgreSQL they are ordinary statements. `store.tasks` re-exports
its functions (the task aggregate's queries live there).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Text, and_, bindparam, cast, select

from vodflow.store.db import Reader
from vodflow.store.inline import decode_json, prepared
from vodflow.store.schema import apps, subtasks, tasks

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
# A subtask's JSON columns, read as text by DescribeTaskDetail's statement: its rows
# as stored are then plain values, a key for its answer (api/answer_memo.py).
_SUBTASK_JSON = ("input", "output")

# The task and its subtasks in one statement, so one snapshot without a transaction:
# a row per subtask (in order), or one row of NULL subtask columns.
_TASK_COLS = tuple(
    cast(tasks.c[k], Text).label(k) if k in _TASK_JSON else tasks.c[k] for k in _DETAIL_TASK
)
_SUBTASK_COLS = tuple(subtasks.c[k].label(f"sub_{k}") for k in _DETAIL_SUBTASK)
_SUBTASK_TEXT_COLS = tuple(
    (cast(subtasks.c[k], Text) if k in _SUBTASK_JSON else subtasks.c[k]).label(f"sub_{k}")
    for k in _DETAIL_SUBTASK
)
_DETAIL = prepared(
    select(*_TASK_COLS, *_SUBTASK_TEXT_COLS)
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


DetailSource = tuple[tuple[Any, ...], ...]


async def task_detail_source(conn: Reader, app_id: int, task_id: str) -> DetailSource | None:
    """The rows of a task's DescribeTaskDetail answer as stored (JSON as its text),
    all its answer is made from; None for a task unknown to the application."""
    rows = (await conn.execute(_DETAIL, {"task_id": task_id, "app_id": app_id})).all()
    return tuple(tuple(r) for r in rows) if rows else None


def task_detail_of(source: DetailSource) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The task (the columns its answer shows) and, for a Procedure, its subtasks in
    order, from `task_detail_source`'s rows."""
    task, subs, _ = _split(source, 0)
    for sub in subs:
        for k in _SUBTASK_JSON:
            sub[k] = decode_json(sub[k])
    return task, subs


async def task_detail_rows(
    conn: Reader, app_id: int, task_id: str
) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    """`task_detail_of` the task's rows; None for a task unknown to the application."""
    source = await task_detail_source(conn, app_id, task_id)
    return task_detail_of(source) if source is not None else None


# What events.emit reads of an application (outbox mode, event switches).
_EMIT_APP = ("id", "event_mode", "upload_event_switch", "delete_event_switch")

# A flow's ProcedureStateChanged reads its task, its subtasks and its application's
# event configuration: one statement (the task and application repeated per subtask)
# instead of three.
_FLOW_STATE = prepared(
    select(*_TASK_COLS, *(apps.c[k].label(f"app_{k}") for k in _EMIT_APP), *_SUBTASK_COLS)
    .select_from(
        tasks.join(apps, apps.c.id == tasks.c.app_id).outerjoin(
            subtasks, subtasks.c.task_id == tasks.c.task_id
        )
    )
    .where(tasks.c.task_id == bindparam("task_id"))
    .order_by(subtasks.c.seq)
)


async def flow_state_rows(
    conn: Reader, task_id: str
) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any]] | None:
    """The task (the columns its ProcedureTask shows), its subtasks in order, and its
    application's event configuration (the columns events.emit reads); None for an
    unknown task or application."""
    rows = (await conn.execute(_FLOW_STATE, {"task_id": task_id})).all()
    return _split(rows, len(_EMIT_APP)) if rows else None


def _split(
    rows: Sequence[Any], n_app: int
) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any]]:
    """A joined read's task, subtasks (none if NULL-joined) and application columns."""
    n = len(_DETAIL_TASK)
    task = dict(zip(_DETAIL_TASK, rows[0][:n], strict=True))
    for k in _TASK_JSON:
        task[k] = decode_json(task[k])
    app = dict(zip(_EMIT_APP[:n_app], rows[0][n : n + n_app], strict=True))
    n += n_app
    if rows[0][n] is None:  # no subtask joined (subtasks.type is never NULL)
        return task, [], app
    return task, [dict(zip(_DETAIL_SUBTASK, row[n:], strict=True)) for row in rows], app
