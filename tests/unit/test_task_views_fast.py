"""wire/task_views.py builds ProcedureTask directly (no pydantic round trip on the
read path): its answer must be byte for byte what validating through the model and
dumping gave, for every subtask status and with or without the optional parts."""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from vodflow.status import SubtaskStatus
from vodflow.timeutil import iso
from vodflow.wire.task_views import (
    ABORTED_CODE,
    ABORTED_MESSAGE,
    err_code,
    procedure_task,
    task_detail,
)
from vodflow.wire.tasks import RESULT_FIELDS, ProcedureTask


def _reference_subtask(row: Mapping[str, Any]) -> dict[str, Any]:
    """subtask_result as it was before the fast path (model order left to pydantic)."""
    status = row["status"]
    code_ext, message = row["err_code_ext"] or "", row["message"] or ""
    progress = int(row["progress"] or 0)
    if status == SubtaskStatus.SUCCESS:
        shown, code_ext, message, progress = "SUCCESS", "", "SUCCESS", 100
    elif status == SubtaskStatus.FAIL:
        shown = "FAIL"
    elif status == SubtaskStatus.ABORTED:
        shown, code_ext, message = "FAIL", ABORTED_CODE, ABORTED_MESSAGE
    else:
        shown, code_ext, message = "PROCESSING", "", ""
    body: dict[str, Any] = {
        "Status": shown,
        "ErrCodeExt": code_ext,
        "ErrCode": int(row.get("err_code") or 0)
        if shown == "FAIL" and row.get("err_code")
        else err_code(code_ext),
        "Message": message,
        "Progress": progress,
        "Input": row["input"],
        "BeginProcessTime": iso(row["begin_time"]),
        "FinishTime": iso(row["finish_time"]),
    }
    if status == SubtaskStatus.SUCCESS and row.get("output") is not None:
        body["Output"] = row["output"]
    return {"Type": row["type"], RESULT_FIELDS[row["type"]]: body}


def _reference(task: Mapping[str, Any], subtasks: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    snap = task.get("input") or {}
    return ProcedureTask.model_validate(
        {
            "TaskId": task["task_id"],
            "Status": task["status"],
            "ErrCode": int(task["err_code"] or 0),
            "Message": task["message"] or "",
            "FileId": task["file_id"] or "",
            "FileName": snap.get("FileName", ""),
            "FileUrl": snap.get("FileUrl", ""),
            "MetaData": snap.get("MetaData") or None,
            "MediaProcessResultSet": [_reference_subtask(s) for s in subtasks],
            "TasksPriority": int(task["priority"] or 0),
            "TasksNotifyMode": task["notify_mode"],
            "SessionContext": task["session_context"] or "",
            "SessionId": task["session_id"] or "",
        }
    ).dump()


def _bytes(value: Any) -> bytes:
    # As starlette's JSONResponse renders the envelope.
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


def _subtask(kind: str, status: SubtaskStatus, n: int) -> dict[str, Any]:
    timed = n % 3
    return {
        "type": kind,
        "status": status,
        "err_code_ext": "SourceFileError.Broken" if status == SubtaskStatus.FAIL else None,
        "err_code": 60001 if (status == SubtaskStatus.FAIL and n % 2) else None,
        "message": "broken input" if status == SubtaskStatus.FAIL else None,
        "progress": 40 if status == SubtaskStatus.PROCESSING else None,
        "input": {"Definition": 10 + n, "Nested": {"Gone": None, "Set": [1, None, "é"]}},
        "output": None if n % 4 == 3 else {"Url": f"http://h/{n}.jpg", "Size": 12.5, "Z": None},
        "begin_time": None if timed == 0 else 1_700_000_000.25 + n,
        "finish_time": None if timed < 2 else 1_700_000_100.75 + n,
    }


TASK_STATUSES = ["WAITING", "PROCESSING", "FINISH", "ABORTED"]


@pytest.mark.parametrize("task_status", TASK_STATUSES)
@pytest.mark.parametrize("meta", [None, {}, {"Duration": 2.0, "Width": 320, "Codec": None}])
def test_procedure_task_answers_the_bytes_the_model_gave(
    task_status: str, meta: dict[str, Any] | None
) -> None:
    subtasks = [
        _subtask(kind, status, n)
        for n, (kind, status) in enumerate(itertools.product(RESULT_FIELDS, SubtaskStatus))
    ]
    snap: dict[str, Any] = {"FileName": "clip", "FileUrl": "http://h/clip.mp4"}
    if meta is not None:
        snap["MetaData"] = meta
    for task in (
        {
            "task_id": "1250000000-Procedure-abct1",
            "status": task_status,
            "err_code": 0,
            "message": "",
            "file_id": "5285485487985271487",
            "input": snap,
            "priority": 10,
            "notify_mode": "Finish",
            "session_context": "ctx ü",
            "session_id": "s-1",
        },
        {
            "task_id": "1250000000-Procedure-deft2",
            "status": task_status,
            "err_code": None,
            "message": None,
            "file_id": None,
            "input": None,
            "priority": None,
            "notify_mode": "None",
            "session_context": None,
            "session_id": None,
        },
    ):
        for subs in (subtasks, [], subtasks[:1]):
            assert _bytes(procedure_task(task, subs)) == _bytes(_reference(task, subs))


def test_task_detail_embeds_the_same_procedure_task() -> None:
    task = {
        "task_id": "1250000000-Procedure-abct1",
        "type": "Procedure",
        "status": "FINISH",
        "err_code": 0,
        "message": "",
        "file_id": "1",
        "input": {},
        "priority": 0,
        "notify_mode": "Finish",
        "session_context": "",
        "session_id": "",
        "create_time": 1_700_000_000.0,
        "begin_time": 1_700_000_001.0,
        "finish_time": None,
    }
    subs = [_subtask("Transcode", SubtaskStatus.SUCCESS, 1)]
    detail = task_detail(task, subs)
    assert _bytes(detail["ProcedureTask"]) == _bytes(_reference(task, subs))
    assert "FinishTime" not in detail
