"""Tencent's task structures from task rows: ProcedureTask, MediaProcessTaskResult,
TaskSimpleInfo and the DescribeTaskDetail answer (nulls omitted everywhere)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from vodflow.status import SubtaskStatus
from vodflow.timeutil import iso
from vodflow.wire.tasks import RESULT_FIELDS, TaskSimpleInfo

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
    # Built in SubtaskResult's field order, nulls omitted: the bytes its dump() gave
    # (tests/unit/test_task_views_fast.py compares the two).
    body: dict[str, Any] = {
        "Status": shown,
        "ErrCodeExt": code_ext,
        "ErrCode": int(row.get("err_code") or 0)
        if shown == "FAIL" and row.get("err_code")
        else err_code(code_ext),
        "Message": message,
        "Progress": progress,
        "Input": row["input"],
    }
    if status == SubtaskStatus.SUCCESS and row.get("output") is not None:
        body["Output"] = row["output"]
    begin, finish = iso(row["begin_time"]), iso(row["finish_time"])
    if begin is not None:
        body["BeginProcessTime"] = begin
    if finish is not None:
        body["FinishTime"] = finish
    return {"Type": row["type"], RESULT_FIELDS[row["type"]]: body}


def procedure_task(
    task: Mapping[str, Any], subtasks: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """The whole ProcedureTask of a flow, nulls omitted."""
    # Built directly in ProcedureTask's field order, nulls omitted, rather than
    # validated into the model and dumped again: every value is ours, and this is the
    # DescribeTaskDetail answer and every ProcedureStateChanged event. The bytes are
    # those of `ProcedureTask.model_validate(...).dump()`; a unit test holds them equal.
    snap = task.get("input") or {}
    answer: dict[str, Any] = {
        "TaskId": task["task_id"],
        "Status": task["status"],
        "ErrCode": int(task["err_code"] or 0),
        "Message": task["message"] or "",
        "FileId": task["file_id"] or "",
        "FileName": snap.get("FileName", ""),
        "FileUrl": snap.get("FileUrl", ""),
    }
    meta = snap.get("MetaData") or None
    if meta is not None:
        answer["MetaData"] = meta
    answer["MediaProcessResultSet"] = [subtask_result(s) for s in subtasks]
    answer["AiContentReviewResultSet"] = []
    answer["AiAnalysisResultSet"] = []
    answer["AiRecognitionResultSet"] = []
    answer["TasksPriority"] = int(task["priority"] or 0)
    answer["TasksNotifyMode"] = task["notify_mode"]
    answer["SessionContext"] = task["session_context"] or ""
    answer["SessionId"] = task["session_id"] or ""
    answer["Operator"] = ""
    answer["OperationType"] = ""
    return answer


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
