"""Media categories: CreateClass, DescribeAllClass, ModifyClass, DeleteClass."""

from __future__ import annotations

from typing import Any

from vodflow.api.registry import Context, action
from vodflow.wire.classes import (
    CreateClassRequest,
    DeleteClassRequest,
    DescribeAllClassRequest,
    ModifyClassRequest,
)


@action()
async def CreateClass(ctx: Context, req: CreateClassRequest) -> dict[str, Any]:
    class_id = await ctx.services.classes.create(ctx.app_id, req.ParentId, req.ClassName)
    return {"ClassId": class_id}


@action()
async def DescribeAllClass(ctx: Context, req: DescribeAllClassRequest) -> dict[str, Any]:
    return {"ClassInfoSet": await ctx.services.classes.listing(ctx.app_id)}


@action()
async def ModifyClass(ctx: Context, req: ModifyClassRequest) -> dict[str, Any]:
    await ctx.services.classes.rename(ctx.app_id, req.ClassId, req.ClassName)
    return {}


@action()
async def DeleteClass(ctx: Context, req: DeleteClassRequest) -> dict[str, Any]:
    await ctx.services.classes.delete(ctx.app_id, req.ClassId)
    return {}
