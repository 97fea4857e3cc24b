"""DescribeFileAttributes: an async task reading the source file's Md5 and Sha1.

The task row (type DescribeFileAttributes) carries the whole
DescribeFileAttributesTask as its output, as PullUpload's does; the
DescribeFileAttributesComplete event is written in the transaction that
finishes the task. The digests are computed from the stored bytes each time
(not copied from the upload), so the answer is what is on disk now. The run is
leased like every one-job task (core/job_tasks.py).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from pathlib import Path
from typing import Any

from vodflow import ids
from vodflow.core import events
from vodflow.core.job_tasks import INTERRUPTED, JobTaskService, record_job_task
from vodflow.core.jobs import FILE_ATTRIBUTES_JOB
from vodflow.core.library import not_found_file
from vodflow.core.task_options import FlowOptions
from vodflow.owners import OWNER
from vodflow.status import TaskStatus
from vodflow.store import apps as apps_q
from vodflow.store import tasks as tasks_q
from vodflow.timeutil import now
from vodflow.wire.task_views import err_code

log = logging.getLogger("vodflow.file_attributes")

TASK_TYPE = "DescribeFileAttributes"
EVENT_TYPE = "DescribeFileAttributesComplete"
CHUNK = 1024 * 1024


def digests(path: Path) -> dict[str, str]:
    md5, sha1 = hashlib.md5(usedforsecurity=False), hashlib.sha1(usedforsecurity=False)
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            md5.update(chunk)
            sha1.update(chunk)
    return {"Md5": md5.hexdigest(), "Sha1": sha1.hexdigest()}


class FileAttributesService(JobTaskService):
    task_type = TASK_TYPE

    async def start(self, app_id: int, file_id: str, options: FlowOptions) -> str:
        """Record the task and submit it; its TaskId."""
        media = await self.library.get(app_id, file_id)
        if media is None:
            raise not_found_file(file_id)
        t = now()
        task_id = ids.task_id(app_id, TASK_TYPE)
        output = {
            "TaskId": task_id,
            "Status": "PROCESSING",
            "ErrCode": 0,
            "ErrCodeExt": "",
            "Message": "",
            "Progress": 0,
            "FileId": file_id,
            "SessionId": options.session_id,
            "SessionContext": options.session_context,
        }
        return await record_job_task(
            self.db,
            self.queue,
            job_kind=FILE_ATTRIBUTES_JOB,
            task_type=TASK_TYPE,
            task_id=task_id,
            app_id=app_id,
            options=options,
            task_input={"FileId": file_id},
            output=output,
            t=t,
            file_id=file_id,
        )

    async def run(self, task_id: str) -> None:
        """The FILE_ATTRIBUTES_JOB: hash the source, finish the task with its event."""
        await self.run_leased(
            task_id,
            self._run,
            lambda task: self._finish(task, "InternalError", INTERRUPTED),
        )

    async def _run(self, task: dict[str, Any], _work: Path) -> None:
        task_id = task["task_id"]
        media = await self.library.get(task["app_id"], task["file_id"])
        if media is None or not media["path"]:
            await self._finish(task, "SourceFileError", "The source file no longer exists.")
            return
        try:
            found = await asyncio.to_thread(digests, Path(media["path"]))
        except OSError:
            log.exception("DescribeFileAttributes %s could not read the source", task_id)
            await self._finish(task, "SourceFileError", "The source file could not be read.")
            return
        await self._finish(task, "", "SUCCESS", found)

    async def _finish(
        self,
        task: dict[str, Any],
        code_ext: str,
        message: str,
        found: dict[str, str] | None = None,
    ) -> None:
        output = dict(task["output"] or {}) | {
            "Status": "SUCCESS" if found is not None else "FAIL",
            "ErrCode": err_code(code_ext),
            "ErrCodeExt": code_ext,
            "Message": message,
            "Progress": 100,
        }
        if found is not None:
            output["Output"] = found
        async with self.db.tx() as conn:
            if not await tasks_q.finish_job(
                conn,
                task["task_id"],
                OWNER,
                status=TaskStatus.FINISH,
                err_code=output["ErrCode"],
                err_code_ext=code_ext,
                message=message,
                output=output,
                finish_time=now(),
            ):
                return  # no longer ours: the run that holds it ends it
            app_row = await apps_q.get(conn, task["app_id"])
            if app_row is not None:
                await events.emit(conn, app_row, EVENT_TYPE, output)
