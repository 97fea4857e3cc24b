"""Task flows: ProcessMedia, ProcessMediaByProcedure, DescribeFileAttributes, ManageTask,
DescribeTaskDetail, DescribeTasks."""

from __future__ import annotations

from typing import Any

from vodflow.api.answer_memo import AnswerMemo
from vodflow.api.envelope import RawPayload
from vodflow.api.registry import Context, action
from vodflow.core.flows import FlowOptions, FlowService
from vodflow.core.tasks import TaskQueries, detail_of
from vodflow.errors import VodError
from vodflow.timeutil import parse_iso
from vodflow.wire.tasks import (
    DescribeFileAttributesRequest,
    DescribeTaskDetailRequest,
    DescribeTasksRequest,
    FlowRequest,
    ManageTaskRequest,
    ProcessMediaByProcedureRequest,
    ProcessMediaRequest,
    TimeRange,
)


def _flows(ctx: Context) -> FlowService:
    return ctx.services.flows


def _tasks(ctx: Context) -> TaskQueries:
    return ctx.services.tasks


def _options(req: FlowRequest) -> FlowOptions:
    return FlowOptions.of(
        priority=req.TasksPriority,
        notify_mode=req.TasksNotifyMode,
        session_context=req.SessionContext,
        session_id=req.SessionId,
        ext_info=req.ExtInfo,
    )


@action()
async def ProcessMedia(ctx: Context, req: ProcessMediaRequest) -> dict[str, Any]:
    mpt = req.MediaProcessTask.dump() if req.MediaProcessTask is not None else {}
    task_id = await _flows(ctx).start(ctx.app_id, req.FileId, mpt, _options(req))
    return {"TaskId": task_id}


@action()
async def DescribeFileAttributes(
    ctx: Context, req: DescribeFileAttributesRequest
) -> dict[str, Any]:
    options = FlowOptions.of(
        priority=req.TasksPriority,
        session_context=req.SessionContext,
        session_id=req.SessionId,
        ext_info=req.ExtInfo,
    )
    task_id = await ctx.services.attributes.start(ctx.app_id, req.FileId, options)
    return {"TaskId": task_id}


@action()
async def ProcessMediaByProcedure(
    ctx: Context, req: ProcessMediaByProcedureRequest
) -> dict[str, Any]:
    mpt = await ctx.services.templates.get_procedure(ctx.app_id, req.ProcedureName)
    if mpt is None:
        raise VodError(
            "InvalidParameterValue.ProcedureName",
            f"The procedure `{req.ProcedureName}` does not exist.",
        )
    task_id = await _flows(ctx).start(ctx.app_id, req.FileId, mpt, _options(req))
    return {"TaskId": task_id}


@action()
async def ManageTask(ctx: Context, req: ManageTaskRequest) -> dict[str, Any]:
    if not await ctx.services.pulls.abort(ctx.app_id, req.TaskId):
        await _flows(ctx).abort(ctx.app_id, req.TaskId)
    return {}


# A task polled until it changes is read every time and rendered once per state.
_DETAILS = AnswerMemo(detail_of)


@action()
async def DescribeTaskDetail(ctx: Context, req: DescribeTaskDetailRequest) -> RawPayload:
    return RawPayload(_DETAILS.answer(await _tasks(ctx).detail_source(ctx.app_id, req.TaskId)))


def _range(value: TimeRange | None, name: str) -> tuple[float | None, float | None]:
    if value is None:
        return None, None
    after = parse_iso(value.After, f"{name}.After") if value.After else None
    before = parse_iso(value.Before, f"{name}.Before") if value.Before else None
    return after, before


@action()
async def DescribeTasks(ctx: Context, req: DescribeTasksRequest) -> dict[str, Any]:
    sort_field = req.Sort.Field if req.Sort else "CreateTime"
    descending = (req.Sort.Order if req.Sort else "Desc") == "Desc"
    infos, token = await _tasks(ctx).listing(
        ctx.app_id,
        status=req.Status,
        file_id=req.FileId,
        create_range=_range(req.CreateTime, "CreateTime"),
        finish_range=_range(req.FinishTime, "FinishTime"),
        sort_field=sort_field,
        descending=descending,
        limit=req.Limit,
        scroll_token=req.ScrollToken,
    )
    return {"TaskSet": infos, "ScrollToken": token}
