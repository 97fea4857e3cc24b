"""Tencent's task structures from task rows: ProcedureTask, MediaProcessTaskResult,
TaskSimpleInfo and the DescribeTaskDetail answer (nulls omitted everywhere)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from vodflow.status import SubtaskStatus
from vodflow.timeutil import iso
from vodflow.wire.tasks import RESULT_FIELDS, ProcedureTask, TaskSimpleInfo

# Tencent's legacy integer ErrCode for each family of processing error codes.
ERR_CODES = {"InvalidInput": 40000, "SourceFileError": 60000, "InternalError": 70000}
ABORTED_CODE = "InternalError"
ABORTED_MESSAGE = "The task flow was aborted by ManageTask."


def err_code(code_ext: str) -> int:
    """The deprecated integer ErrCode that goes with an ErrCodeExt string."""
    if not code_ext:
        return 0
    return ERR_CODES.get(code_ext.split(".", 1)[0], 70000)


def subtask_result(row: Mapping[str, Any]) -> dict[str, Any]:
    """One MediaProcessTaskResult (Type plus its *Task object)."""
    status = row["status"]
    code_ext, message = row["err_code_ext"] or "", row["message"] or ""
    progress = int(row["progress"] or 0)
    if status == SubtaskStatus.SUCCESS:
        shown, code_ext, message, progress = "SUCCESS", "", "SUCCESS", 100
    elif status == SubtaskStatus.FAIL:
        shown = "FAIL"
    elif status == SubtaskStatus.ABORTED:
        shown, code_ext, message = "FAIL", ABORTED_CODE, ABORTED_MESSAGE
    else:  # WAITING or PROCESSING: Tencent reports both as PROCESSING
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


def procedure_task(
    task: Mapping[str, Any], subtasks: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """The whole ProcedureTask of a flow, nulls omitted."""
    snap = task.get("input") or {}
    model = ProcedureTask.model_validate(
        {
            "TaskId": task["task_id"],
            "Status": task["status"],
            "ErrCode": int(task["err_code"] or 0),
            "Message": task["message"] or "",
            "FileId": task["file_id"] or "",
            "FileName": snap.get("FileName", ""),
            "FileUrl": snap.get("FileUrl", ""),
            "MetaData": snap.get("MetaData") or None,
            "MediaProcessResultSet": [subtask_result(s) for s in subtasks],
            "TasksPriority": int(task["priority"] or 0),
            "TasksNotifyMode": task["notify_mode"],
            "SessionContext": task["session_context"] or "",
            "SessionId": task["session_id"] or "",
        }
    )
    return model.dump()


def simple_info(task: Mapping[str, Any]) -> dict[str, Any]:
    return TaskSimpleInfo(
        TaskId=task["task_id"],
        Status=task["status"],
        FileId=task["file_id"] or "",
        TaskType=task["type"],
        CreateTime=iso(task["create_time"]) or "",
        BeginProcessTime=iso(task["begin_time"]),
        FinishTime=iso(task["finish_time"]),
        SessionId=task["session_id"] or "",
        SessionContext=task["session_context"] or "",
    ).dump()


def task_detail(task: Mapping[str, Any], subtasks: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The DescribeTaskDetail answer of any task type."""
    answer: dict[str, Any] = {
        "TaskType": task["type"],
        "Status": task["status"],
        "CreateTime": iso(task["create_time"]),
        "BeginProcessTime": iso(task["begin_time"]),
        "FinishTime": iso(task["finish_time"]),
    }
    if task["type"] == "Procedure":
        answer["ProcedureTask"] = procedure_task(task, subtasks)
    elif task.get("output") is not None:
        answer[f"{task['type']}Task"] = task["output"]
    return {k: v for k, v in answer.items() if v is not None}
