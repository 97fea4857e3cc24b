"""Head/tail templates: Create/Modify/Delete/DescribeHeadTailTemplate(s).

Stored as parameter templates of kind `HeadTail` (core.templates); the candidate
FileIds must be videos of the caller's application (core.kinds.head_tail).
"""

from __future__ import annotations

from typing import Any

from vodflow.api.registry import Context, action
from vodflow.core.kinds import head_tail
from vodflow.wire.head_tail import (
    CreateHeadTailTemplateRequest,
    DeleteHeadTailTemplateRequest,
    DescribeHeadTailTemplatesRequest,
    ModifyHeadTailTemplateRequest,
)

KIND = head_tail.TEMPLATES.name
_PARAMS = ("HeadCandidateSet", "TailCandidateSet", "FillType")


async def _params(ctx: Context, req: Any) -> dict[str, Any]:
    """The template parameters given, their candidates checked against the library."""
    given = {k: v for k, v in req.dump().items() if k in _PARAMS}

    async def lookup(file_id: str) -> dict[str, Any] | None:
        return await ctx.services.library.get(ctx.app_id, file_id)

    await head_tail.check_candidates(given, lookup)
    return given


@action()
async def CreateHeadTailTemplate(
    ctx: Context, req: CreateHeadTailTemplateRequest
) -> dict[str, Any]:
    params = await _params(ctx, req)
    definition = await ctx.services.templates.create(
        ctx.app_id, KIND, req.Name, req.Comment or "", params
    )
    return {"Definition": definition}


@action()
async def ModifyHeadTailTemplate(
    ctx: Context, req: ModifyHeadTailTemplateRequest
) -> dict[str, Any]:
    params = await _params(ctx, req)
    await ctx.services.templates.modify(
        ctx.app_id, KIND, req.Definition, name=req.Name, comment=req.Comment, changes=params
    )
    return {}


@action()
async def DeleteHeadTailTemplate(
    ctx: Context, req: DeleteHeadTailTemplateRequest
) -> dict[str, Any]:
    await ctx.services.templates.delete(ctx.app_id, KIND, req.Definition)
    return {}


@action()
async def DescribeHeadTailTemplates(
    ctx: Context, req: DescribeHeadTailTemplatesRequest
) -> dict[str, Any]:
    items, total = await ctx.services.templates.describe(
        ctx.app_id,
        KIND,
        definitions=req.Definitions,
        type_=None,
        offset=req.Offset,
        limit=req.Limit,
    )
    return {"TotalCount": total, "HeadTailTemplateSet": items}
