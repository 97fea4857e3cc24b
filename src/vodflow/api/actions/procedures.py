"""Procedure (task-flow) templates: named MediaProcessTasks for ProcessMediaByProcedure
and uploads with `Procedure`."""

from __future__ import annotations

from typing import Any

from vodflow.api.registry import Context, action
from vodflow.core.templates import TemplateService
from vodflow.errors import VodError
from vodflow.wire.templates import (
    CreateProcedureTemplateRequest,
    DeleteProcedureTemplateRequest,
    DescribeProcedureTemplatesRequest,
    ResetProcedureTemplateRequest,
)


def _svc(ctx: Context) -> TemplateService:
    return ctx.services.templates


@action()
async def CreateProcedureTemplate(
    ctx: Context, req: CreateProcedureTemplateRequest
) -> dict[str, Any]:
    # vodflow runs media processing only (no AI tasks), so the tasks are required.
    if req.MediaProcessTask is None:
        raise VodError("MissingParameter", "MediaProcessTask is required.")
    await _svc(ctx).create_procedure(
        ctx.app_id, req.Name, req.Comment or "", req.MediaProcessTask.dump()
    )
    return {}


@action()
async def ResetProcedureTemplate(
    ctx: Context, req: ResetProcedureTemplateRequest
) -> dict[str, Any]:
    mpt = req.MediaProcessTask.dump() if req.MediaProcessTask is not None else None
    await _svc(ctx).reset_procedure(ctx.app_id, req.Name, req.Comment, mpt)
    return {}


@action()
async def DeleteProcedureTemplate(
    ctx: Context, req: DeleteProcedureTemplateRequest
) -> dict[str, Any]:
    await _svc(ctx).delete_procedure(ctx.app_id, req.Name)
    return {}


@action()
async def DescribeProcedureTemplates(
    ctx: Context, req: DescribeProcedureTemplatesRequest
) -> dict[str, Any]:
    items, total = await _svc(ctx).describe_procedures(
        ctx.app_id, names=req.Names, type_=req.Type, offset=req.Offset, limit=req.Limit
    )
    return {"TotalCount": total, "ProcedureTemplateSet": items}
