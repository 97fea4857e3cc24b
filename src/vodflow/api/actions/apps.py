"""Applications: CreateSubAppId, DescribeSubAppIds, ModifySubAppIdInfo, ModifySubAppIdStatus.

Managing applications needs the root credential: a temporary credential, even
one limited to an application, can neither list, create, rename nor disable or
destroy applications (it would otherwise destroy the very application it works
for, or see every other one).
"""

from __future__ import annotations

from typing import Any

from vodflow.api.registry import Context, action
from vodflow.timeutil import iso
from vodflow.wire.apps import (
    CreateSubAppIdRequest,
    DescribeSubAppIdsRequest,
    ModifySubAppIdInfoRequest,
    ModifySubAppIdStatusRequest,
    SubAppIdInfo,
)


@action(root_only=True)
async def CreateSubAppId(ctx: Context, req: CreateSubAppIdRequest) -> dict[str, Any]:
    app_id = await ctx.services.apps.create(req.Name, req.Description or "", req.Mode or "fileid")
    return {"SubAppId": app_id}


@action(root_only=True)
async def DescribeSubAppIds(ctx: Context, req: DescribeSubAppIdsRequest) -> dict[str, Any]:
    rows, total = await ctx.services.apps.listing(req.Name, req.Offset, req.Limit)
    infos = [
        SubAppIdInfo(
            SubAppId=r["id"],
            SubAppIdName=r["name"],
            Name=r["name"],
            Description=r["description"],
            CreateTime=iso(r["create_time"]) or "",
            Status=r["status"],
            Mode=r["mode"],
            StorageRegions=["ap-local"],
        ).dump()
        for r in rows
    ]
    return {"SubAppIdInfoSet": infos, "TotalCount": total}


@action(allow_disabled_app=True, root_only=True)
async def ModifySubAppIdInfo(ctx: Context, req: ModifySubAppIdInfoRequest) -> dict[str, Any]:
    await ctx.services.apps.modify(ctx.app_id, name=req.Name, description=req.Description)
    return {}


@action(allow_disabled_app=True, root_only=True)
async def ModifySubAppIdStatus(ctx: Context, req: ModifySubAppIdStatusRequest) -> dict[str, Any]:
    await ctx.services.apps.set_status(ctx.app_id, req.Status)
    return {}
