"""Job kinds -> the core entry points that run them: the one table every executor uses.

Core submits jobs by kind through its JobQueue port (core/jobs.py); the
in-process pool and the Celery worker both run them through `JobTable.run`.
The table is bound once core exists, since core's services need the queue
first (a flow submits subtasks; a subtask's runner advances the flow).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from vodflow.core.edit_media import EditMediaService
from vodflow.core.file_attributes import FileAttributesService
from vodflow.core.jobs import (
    EDIT_MEDIA_JOB,
    FILE_ATTRIBUTES_JOB,
    PULL_UPLOAD_JOB,
    SPLIT_MEDIA_JOB,
    SUBTASK_JOB,
)
from vodflow.core.pull_upload import PullUploadService
from vodflow.core.split_media import SplitMediaService
from vodflow.core.subtasks import SubtaskRunner

JobEntry = Callable[[str], Awaitable[None]]


class JobTable:
    def __init__(self) -> None:
        self._entries: dict[str, JobEntry] = {}

    def bind(
        self,
        subtasks: SubtaskRunner,
        pulls: PullUploadService,
        attributes: FileAttributesService,
        edits: EditMediaService,
        splits: SplitMediaService,
    ) -> None:
        self._entries = {
            SUBTASK_JOB: subtasks.run,
            PULL_UPLOAD_JOB: pulls.run,
            FILE_ATTRIBUTES_JOB: attributes.run,
            EDIT_MEDIA_JOB: edits.run,
            SPLIT_MEDIA_JOB: splits.run,
        }

    async def run(self, kind: str, job_id: str) -> None:
        await self._entries[kind](job_id)
