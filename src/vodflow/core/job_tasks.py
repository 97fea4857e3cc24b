"""Tasks that are one job each (EditMedia, SplitMedia, DescribeFileAttributes, PullUpload).

Recording one (its SessionId claimed and its row written in one transaction, the
job submitted after commit), running it under a lease and failing it (FINISH with
the error, its event in the same transaction) are the same for every such task.

A run is leased like a subtask (core/leases.py, core/subtasks.py): `run_job_task`
claims the task row (WAITING, or PROCESSING whose lease expired: the runner died)
for this process until `lease_s` from now, renews it while the work runs and gives
it back on a clean shutdown. A kill -9 leaves a lease that expires (or, on the same
host, an owner that is gone): the sweeper sends the job again, the next claim kills
the FFmpeg of the dead attempt that may still run, discards its work directory
(`.tmp/job-<TaskId>-<random>`) and runs the task from scratch; a task claimed more
than MAX_ATTEMPTS times fails. Every write of a run is conditional on the lease
(`update_held_job`, `finish_job`), so a run that lost it (taken over, aborted) keeps
nothing: two runs never both add media.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import shutil
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

from vodflow.blobstore import BlobStore
from vodflow.core import events
from vodflow.core.jobs import JobQueue
from vodflow.core.leases import MAX_ATTEMPTS, hold
from vodflow.core.library import LibraryService
from vodflow.core.task_options import FlowOptions, claim_session
from vodflow.media.strays import kill_strays
from vodflow.owners import OWNER
from vodflow.status import TaskStatus
from vodflow.store import apps as apps_q
from vodflow.store import tasks as tasks_q
from vodflow.store.db import Database
from vodflow.timeutil import now
from vodflow.wire.task_views import err_code

log = logging.getLogger("vodflow.job_tasks")

INTERRUPTED = f"processing was interrupted {MAX_ATTEMPTS} times"


class LeaseLost(Exception):
    """The task is no longer ours (aborted, or taken over after our lease expired):
    raised inside a run's transaction, it rolls back what that run would add."""


# The work of a run: the claimed task row and its private work directory.
JobBody = Callable[[dict[str, Any], Path], Coroutine[Any, Any, None]]
# A task claimed more than MAX_ATTEMPTS times: end it with an error.
JobExhausted = Callable[[dict[str, Any]], Awaitable[None]]


class JobTaskService:
    """What every one-job task service holds, and how it runs its job under a lease."""

    task_type: str  # the Tencent TaskType of the service's tasks

    def __init__(
        self,
        db: Database,
        blobs: BlobStore,
        library: LibraryService,
        queue: JobQueue,
        lease_s: float,
    ) -> None:
        self.db = db
        self.blobs = blobs
        self.library = library
        self.queue = queue
        self.lease_s = lease_s

    async def run_leased(self, task_id: str, body: JobBody, exhausted: JobExhausted) -> None:
        """`run_job_task` with this service's database, lease and work directory."""
        await run_job_task(
            self.db,
            task_id,
            self.task_type,
            lease_s=self.lease_s,
            tmp_dir=self.blobs.tmp_dir,
            body=body,
            exhausted=exhausted,
        )


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
            enqueued_at=t,  # its message is sent right after the commit
        )
    await queue.submit(job_kind, task_id, options.priority)
    return task_id


async def claim_job_task(
    db: Database, task_id: str, task_type: str, lease_s: float
) -> dict[str, Any] | None:
    """The task row, now PROCESSING and leased to this process for `lease_s`; None when
    it is not of `task_type`, has ended, or another runner's lease holds it."""
    t = now()
    async with db.tx() as conn:
        task = await tasks_q.get_task_any(conn, task_id)
        if task is None or task["type"] != task_type:
            return None
        if not await tasks_q.claim_job(conn, task_id, OWNER, t + lease_s, t):
            return None
        return await tasks_q.get_task_any(conn, task_id)


async def run_job_task(
    db: Database,
    task_id: str,
    task_type: str,
    *,
    lease_s: float,
    tmp_dir: Path,
    body: JobBody,
    exhausted: JobExhausted,
) -> None:
    """Claim the task, run `body` under the lease, give it back on shutdown.

    A duplicate delivery (the task runs elsewhere, or has ended) does nothing.
    """
    task = await claim_job_task(db, task_id, task_type, lease_s)
    if task is None:
        return  # someone runs it, or it ended
    until = float(task["lease_until"])
    # A dead attempt's FFmpeg may still run in its work directory: stop it first.
    await asyncio.to_thread(_discard_work_dirs, tmp_dir, task_id)
    if int(task["attempts"] or 0) > MAX_ATTEMPTS:
        log.warning("%s %s: %s, failing it", task_type, task_id, INTERRUPTED)
        await exhausted(task)
        return
    work = tmp_dir / f"job-{task_id}-{secrets.token_hex(6)}"
    work.mkdir(parents=True, exist_ok=True)

    async def renew(new_until: float) -> bool:
        async with db.tx() as conn:
            return await tasks_q.renew_job(conn, task_id, OWNER, new_until)

    job = asyncio.create_task(body(task, work))
    cancelled = False
    try:
        ended = await hold(job, renew, lease_s=lease_s, until=until, label=f"{task_type} {task_id}")
        if ended:
            with contextlib.suppress(LeaseLost):
                job.result()
    except asyncio.CancelledError:
        cancelled = True
        # Shutdown: give the task back so that the next start runs it at once.
        with contextlib.suppress(Exception):
            await asyncio.shield(_release(db, task_id))
        raise
    finally:
        if cancelled:  # no more awaiting once cancelled
            shutil.rmtree(work, ignore_errors=True)
        else:  # many unlink calls: not on the event loop
            await asyncio.to_thread(shutil.rmtree, work, True)


async def _release(db: Database, task_id: str) -> None:
    async with db.tx() as conn:
        await tasks_q.release_job(conn, task_id, OWNER)


def _discard_work_dirs(tmp_dir: Path, task_id: str) -> None:
    prefix = f"job-{task_id}-"
    for entry in tmp_dir.iterdir() if tmp_dir.is_dir() else ():
        if entry.name.startswith(prefix):
            kill_strays(str(entry))
            shutil.rmtree(entry, ignore_errors=True)


async def fail_job_task(
    db: Database,
    task: dict[str, Any],
    output: dict[str, Any],
    event_type: str,
    code_ext: str,
    message: str,
) -> None:
    """End the task FINISH with an error (`output` updated in place); its event with it,
    if this process still holds the task's lease."""
    output.update(
        Status="FINISH",
        ErrCode=err_code(code_ext),
        ErrCodeExt=code_ext,
        Message=message[:500],
        Progress=100,
    )
    async with db.tx() as conn:
        if not await tasks_q.finish_job(
            conn,
            task["task_id"],
            OWNER,
            status=TaskStatus.FINISH,
            err_code=output["ErrCode"],
            err_code_ext=code_ext,
            message=message[:500],
            output=output,
            finish_time=now(),
        ):
            return  # no longer ours: the run that holds it (or the abort) ends it
        app_row = await apps_q.get(conn, task["app_id"])
        if app_row is not None:
            await events.emit(conn, app_row, event_type, output)
