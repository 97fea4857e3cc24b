"""Reading task flows back: the ProcedureTask of a flow, task details and listings.

Rows hold plain values; this module is the one place that turns them into
Tencent's structures, so DescribeTaskDetail, DescribeTasks and the
ProcedureStateChanged event show exactly the same thing.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from vodflow.errors import VodError, invalid_value
from vodflow.status import SubtaskStatus
from vodflow.store import tasks as q
from vodflow.store.db import Database
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
        "ErrCode": err_code(code_ext),
        "Message": message,
        "Progress": progress,
        "Input": row["input"],
        "BeginProcessTime": iso(row["begin_time"]),
        "FinishTime": iso(row["finish_time"]),
    }
    if status == SubtaskStatus.SUCCESS and row.get("output") is not None:
        body["Output"] = row["output"]
    field, _kind = RESULT_FIELDS[row["type"]]
    return {"Type": row["type"], field: body}


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


async def procedure_task_in(conn: AsyncConnection, task_id: str) -> dict[str, Any] | None:
    task = await q.get_task_any(conn, task_id)
    if task is None:
        return None
    return procedure_task(task, await q.subtasks_of(conn, task_id))


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


class TaskQueries:
    """DescribeTaskDetail and DescribeTasks, for every task type the store holds."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def detail(self, app_id: int, task_id: str) -> dict[str, Any]:
        async with self.db.read() as conn:
            task = await q.get_task(conn, app_id, task_id)
            if task is None:
                raise VodError(
                    "InvalidParameterValue.TaskId", f"The task `{task_id[:128]}` does not exist."
                )
            subtasks = await q.subtasks_of(conn, task_id) if task["type"] == "Procedure" else []
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

    async def listing(
        self,
        app_id: int,
        *,
        status: str | None,
        file_id: str | None,
        create_range: tuple[float | None, float | None],
        finish_range: tuple[float | None, float | None],
        sort_field: str,
        descending: bool,
        limit: int,
        scroll_token: str | None,
    ) -> tuple[list[dict[str, Any]], str]:
        after = decode_token(scroll_token, sort_field, descending) if scroll_token else None
        async with self.db.read() as conn:
            rows = await q.search(
                conn,
                app_id,
                status=status,
                file_id=file_id,
                create_range=create_range,
                finish_range=finish_range,
                sort_field=sort_field,
                descending=descending,
                after=after,
                limit=limit + 1,
            )
        more = len(rows) > limit
        rows = rows[:limit]
        token = ""
        if more and rows:
            last = rows[-1]
            at = last["create_time"] if sort_field == "CreateTime" else last["finish_time"]
            token = encode_token(at, last["task_id"], sort_field, descending)
        return [simple_info(r) for r in rows], token


def encode_token(at: float, task_id: str, sort_field: str, descending: bool) -> str:
    raw = json.dumps([at, task_id, sort_field, descending], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_token(token: str, sort_field: str, descending: bool) -> tuple[float, str]:
    """The cursor of a ScrollToken; a token of another sort order is refused."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        at, task_id, field, desc = json.loads(raw)
        if field != sort_field or desc != descending:
            raise ValueError("sort changed")
        return float(at), str(task_id)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
        raise invalid_value("ScrollToken", "not a token this listing returned") from exc
