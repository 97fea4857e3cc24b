"""Watermark templates: Create/Modify/Delete/DescribeWatermarkTemplate(s).

The rules (types, positions, sizes, the image) are core's (`core/watermarks.py`,
`core/watermark_templates.py`); templates are used through a task's WatermarkSet.
"""

from __future__ import annotations

from typing import Any

from vodflow.api.registry import Context, action
from vodflow.wire.templates import (
    CreateWatermarkTemplateRequest,
    DeleteTemplateRequest,
    DescribeWatermarkTemplatesRequest,
    ModifyWatermarkTemplateRequest,
)

# Request fields that are not template parameters.
_NOT_PARAMS = {"SubAppId", "Definition", "Name", "Comment"}


def _fields(req: Any) -> dict[str, Any]:
    return {k: v for k, v in req.dump().items() if k not in _NOT_PARAMS}


@action()
async def CreateWatermarkTemplate(
    ctx: Context, req: CreateWatermarkTemplateRequest
) -> dict[str, Any]:
    definition, image_url = await ctx.services.watermarks.create(
        ctx.app_id, req.Name or "", req.Comment or "", _fields(req)
    )
    answer: dict[str, Any] = {"Definition": definition}
    if image_url:
        answer["ImageUrl"] = image_url
    return answer


@action()
async def ModifyWatermarkTemplate(
    ctx: Context, req: ModifyWatermarkTemplateRequest
) -> dict[str, Any]:
    await ctx.services.watermarks.modify(
        ctx.app_id, req.Definition, name=req.Name, comment=req.Comment, changes=_fields(req)
    )
    return {}


@action()
async def DeleteWatermarkTemplate(ctx: Context, req: DeleteTemplateRequest) -> dict[str, Any]:
    await ctx.services.watermarks.delete(ctx.app_id, req.Definition)
    return {}


@action()
async def DescribeWatermarkTemplates(
    ctx: Context, req: DescribeWatermarkTemplatesRequest
) -> dict[str, Any]:
    items, total = await ctx.services.watermarks.describe(
        ctx.app_id,
        definitions=req.Definitions,
        type_=req.Type,
        offset=req.Offset,
        limit=req.Limit,
    )
    return {"TotalCount": total, "WatermarkTemplateSet": items}
