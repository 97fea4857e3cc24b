"""Tasks that are one job each (EditMedia, SplitMedia, DescribeFileAttributes).

Recording one (its SessionId claimed and its row written in one transaction, the
job submitted after commit), beginning it (WAITING -> PROCESSING, once: a
duplicate delivery of the job finds it begun) and failing it (FINISH with the
error, its event in the same transaction) are the same for every such task.
"""

from __future__ import annotations

from typing import Any

from vodflow.core import events
from vodflow.core.jobs import JobQueue
from vodflow.core.task_options import FlowOptions, claim_session
from vodflow.status import TaskStatus
from vodflow.store import apps as apps_q
from vodflow.store import tasks as tasks_q
from vodflow.store.db import Database
from vodflow.timeutil import now
from vodflow.wire.task_views import err_code


async def record_job_task(
    db: Database,
    queue: JobQueue,
    *,
    job_kind: str,
    task_type: str,
    task_id: str,
    app_id: int,
    options: FlowOptions,
    task_input: dict[str, Any],
    output: dict[str, Any],
    t: float,
    file_id: str | None = None,
) -> str:
    """Write the task WAITING (and claim its SessionId), then submit its job."""
    async with db.tx() as conn:
        await claim_session(conn, app_id, options.session_id, task_id, t)
        await tasks_q.add_task(
            conn,
            task_id=task_id,
            app_id=app_id,
            type=task_type,
            status=TaskStatus.WAITING,
            file_id=file_id,
            **options.columns(),
            err_code=0,
            err_code_ext="",
            message="",
            input=task_input,
            output=output,
            create_time=t,
        )
    await queue.submit(job_kind, task_id, options.priority)
    return task_id


async def begin_job_task(db: Database, task_id: str, task_type: str) -> dict[str, Any] | None:
    """The task row, now PROCESSING; None when it is not of `task_type` or already begun."""
    async with db.tx() as conn:
        task = await tasks_q.get_task_any(conn, task_id)
        if task is None or task["type"] != task_type:
            return None
        if not await tasks_q.set_task_status(
            conn, task_id, [TaskStatus.WAITING], status=TaskStatus.PROCESSING, begin_time=now()
        ):
            return None  # already run (a duplicate delivery)
    return task


async def fail_job_task(
    db: Database,
    task: dict[str, Any],
    output: dict[str, Any],
    event_type: str,
    code_ext: str,
    message: str,
) -> None:
    """End the task FINISH with an error (`output` updated in place); its event with it."""
    output.update(
        Status="FINISH",
        ErrCode=err_code(code_ext),
        ErrCodeExt=code_ext,
        Message=message[:500],
        Progress=100,
    )
    async with db.tx() as conn:
        await tasks_q.update_task(
            conn,
            task["task_id"],
            status=TaskStatus.FINISH,
            err_code=output["ErrCode"],
            err_code_ext=code_ext,
            message=message[:500],
            output=output,
            finish_time=now(),
        )
        app_row = await apps_q.get(conn, task["app_id"])
        if app_row is not None:
            await events.emit(conn, app_row, event_type, output)
