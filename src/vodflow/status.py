"""The states rows go through, named once (the values are what the database holds).

Task and subtask values are Tencent's own (DescribeTaskDetail shows them);
upload sessions and push deliveries are vodflow's.
"""

from __future__ import annotations

from enum import StrEnum


class TaskStatus(StrEnum):
    WAITING = "WAITING"
    PROCESSING = "PROCESSING"
    FINISH = "FINISH"
    ABORTED = "ABORTED"


class SubtaskStatus(StrEnum):
    WAITING = "WAITING"
    PROCESSING = "PROCESSING"
    SUCCESS = "SUCCESS"
    FAIL = "FAIL"
    ABORTED = "ABORTED"


class UploadState(StrEnum):
    """An upload session: open for bytes, being committed, or ended."""

    PENDING = "PENDING"
    COMMITTING = "COMMITTING"
    COMMITTED = "COMMITTED"
    FAILED = "FAILED"


class DeliveryStatus(StrEnum):
    """A PUSH event: waiting for its (next) attempt, delivered, or given up."""

    PENDING = "PENDING"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"


TASK_LIVE = (TaskStatus.WAITING, TaskStatus.PROCESSING)
SUBTASK_LIVE = (SubtaskStatus.WAITING, SubtaskStatus.PROCESSING)
SUBTASK_FINAL = (SubtaskStatus.SUCCESS, SubtaskStatus.FAIL, SubtaskStatus.ABORTED)
