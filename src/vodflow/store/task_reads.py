"""A task and its subtasks by id: DescribeTaskDetail's reads, and the flows' own.

Built once with bind parameters, so that on SQLite they run inline on a plain
sqlite3 connection (store/inline.py) when read through `Database.read_inline`; in a
transaction or on PostgreSQL they are ordinary statements. `store.tasks` re-exports
both functions (the task aggregate's queries live there).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, select

from vodflow.store.db import Reader
from vodflow.store.inline import prepared
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
