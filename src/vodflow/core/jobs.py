"""The job-queue port: how core hands work to whatever runs it.

Core names the kinds of job it submits; `runtime/` maps each kind to the core
entry point that runs it (runtime/jobs.py) and provides the queues (the
in-process pool, Celery). The queue is only a hint: the database rows are the
truth, and a lost job is found again by the sweeper.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from typing import Protocol

# Run one subtask of a task flow (job id: the subtask row id).
SUBTASK_JOB = "subtask"
# Fetch the file of one PullUpload task (job id: the TaskId).
PULL_UPLOAD_JOB = "pull_upload"
# Hash the source of one DescribeFileAttributes task (job id: the TaskId).
FILE_ATTRIBUTES_JOB = "file_attributes"
# Make the new media of one EditMedia task (job id: the TaskId).
EDIT_MEDIA_JOB = "edit_media"
# Cut the segments of one SplitMedia task (job id: the TaskId).
SPLIT_MEDIA_JOB = "split_media"

# Task types that are one job each (not flows of subtasks), by tasks.type: the task
# row is leased like a subtask (core/job_tasks.py) and the sweeper re-sends its lost
# messages and those of expired leases (runtime/sweeper.py).
TASK_JOBS = {
    "PullUpload": PULL_UPLOAD_JOB,
    "DescribeFileAttributes": FILE_ATTRIBUTES_JOB,
    "EditMedia": EDIT_MEDIA_JOB,
    "SplitMedia": SPLIT_MEDIA_JOB,
}


class JobQueue(Protocol):
    async def submit(self, kind: str, job_id: str, priority: int = 0) -> None: ...


# Set by an executor that bounds how many jobs run at once, in the context of each job
# it runs: the job calls it (`free_slot`) once its media work is over, so that the next
# job's FFmpeg starts while this one records its end (a few transactions and file
# moves). The job keeps its lease until it has ended: only its slot is given up early.
JOB_SLOT: ContextVar[Callable[[], None] | None] = ContextVar("vodflow_job_slot", default=None)


def free_slot() -> None:
    """Give this job's executor slot to the next job (nothing if none was given)."""
    release = JOB_SLOT.get()
    if release is not None:
        release()
