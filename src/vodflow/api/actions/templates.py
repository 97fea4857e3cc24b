"""Parameter templates: Create/Modify/Delete/Describe for the six template kinds.

Transcode, SnapshotByTimeOffset, SampleSnapshot, ImageSprite, AnimatedGraphics
and AdaptiveDynamicStreaming templates all follow one pattern, so each action
is one line over the four helpers below; the rules live in core.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from vodflow.api.registry import Context, action
from vodflow.core.templates import TemplateService
from vodflow.wire.common import WireModel
from vodflow.wire.templates import (
    CreateAdaptiveDynamicStreamingTemplateRequest,
    CreateAnimatedGraphicsTemplateRequest,
    CreateImageSpriteTemplateRequest,
    CreateSampleSnapshotTemplateRequest,
    CreateSnapshotByTimeOffsetTemplateRequest,
    CreateTranscodeTemplateRequest,
    DeleteTemplateRequest,
    DescribeTemplatesRequest,
    DescribeTranscodeTemplatesRequest,
    ModifyAdaptiveDynamicStreamingTemplateRequest,
    ModifyAnimatedGraphicsTemplateRequest,
    ModifyImageSpriteTemplateRequest,
    ModifySampleSnapshotTemplateRequest,
    ModifySnapshotByTimeOffsetTemplateRequest,
    ModifyTranscodeTemplateRequest,
)

# Request fields that are not template parameters.
_NOT_PARAMS = {"SubAppId", "Definition", "Name", "Comment"}


def _svc(ctx: Context) -> TemplateService:
    return ctx.services.templates


def _fields(req: WireModel) -> dict[str, Any]:
    return {k: v for k, v in req.dump().items() if k not in _NOT_PARAMS}


async def _create(ctx: Context, kind: str, req: Any) -> dict[str, Any]:
    definition = await _svc(ctx).create(
        ctx.app_id, kind, req.Name or "", req.Comment or "", _fields(req)
    )
    return {"Definition": definition}


async def _modify(ctx: Context, kind: str, req: Any) -> dict[str, Any]:
    await _svc(ctx).modify(
        ctx.app_id, kind, req.Definition, name=req.Name, comment=req.Comment, changes=_fields(req)
    )
    return {}


async def _delete(ctx: Context, kind: str, req: DeleteTemplateRequest) -> dict[str, Any]:
    await _svc(ctx).delete(ctx.app_id, kind, req.Definition)
    return {}


async def _describe(
    ctx: Context, kind: str, req: Any, where: Callable[[dict[str, Any]], bool] | None = None
) -> dict[str, Any]:
    items, total = await _svc(ctx).describe(
        ctx.app_id,
        kind,
        definitions=req.Definitions,
        type_=req.Type,
        offset=req.Offset,
        limit=req.Limit,
        where=where,
    )
    return {"TotalCount": total, f"{kind}TemplateSet": items}


# ----- Transcode -----


@action()
async def CreateTranscodeTemplate(
    ctx: Context, req: CreateTranscodeTemplateRequest
) -> dict[str, Any]:
    return await _create(ctx, "Transcode", req)


@action()
async def ModifyTranscodeTemplate(
    ctx: Context, req: ModifyTranscodeTemplateRequest
) -> dict[str, Any]:
    return await _modify(ctx, "Transcode", req)


@action()
async def DeleteTranscodeTemplate(ctx: Context, req: DeleteTemplateRequest) -> dict[str, Any]:
    return await _delete(ctx, "Transcode", req)


@action()
async def DescribeTranscodeTemplates(
    ctx: Context, req: DescribeTranscodeTemplatesRequest
) -> dict[str, Any]:
    def where(item: dict[str, Any]) -> bool:
        if req.ContainerType is not None and item.get("ContainerType") != req.ContainerType:
            return False
        # vodflow has no Top Speed Codec templates: every template is Common.
        return req.TEHDType != "TEHD"

    return await _describe(ctx, "Transcode", req, where)


# ----- SnapshotByTimeOffset -----


@action()
async def CreateSnapshotByTimeOffsetTemplate(
    ctx: Context, req: CreateSnapshotByTimeOffsetTemplateRequest
) -> dict[str, Any]:
    return await _create(ctx, "SnapshotByTimeOffset", req)


@action()
async def ModifySnapshotByTimeOffsetTemplate(
    ctx: Context, req: ModifySnapshotByTimeOffsetTemplateRequest
) -> dict[str, Any]:
    return await _modify(ctx, "SnapshotByTimeOffset", req)


@action()
async def DeleteSnapshotByTimeOffsetTemplate(
    ctx: Context, req: DeleteTemplateRequest
) -> dict[str, Any]:
    return await _delete(ctx, "SnapshotByTimeOffset", req)


@action()
async def DescribeSnapshotByTimeOffsetTemplates(
    ctx: Context, req: DescribeTemplatesRequest
) -> dict[str, Any]:
    return await _describe(ctx, "SnapshotByTimeOffset", req)


# ----- SampleSnapshot -----


@action()
async def CreateSampleSnapshotTemplate(
    ctx: Context, req: CreateSampleSnapshotTemplateRequest
) -> dict[str, Any]:
    return await _create(ctx, "SampleSnapshot", req)


@action()
async def ModifySampleSnapshotTemplate(
    ctx: Context, req: ModifySampleSnapshotTemplateRequest
) -> dict[str, Any]:
    return await _modify(ctx, "SampleSnapshot", req)


@action()
async def DeleteSampleSnapshotTemplate(ctx: Context, req: DeleteTemplateRequest) -> dict[str, Any]:
    return await _delete(ctx, "SampleSnapshot", req)


@action()
async def DescribeSampleSnapshotTemplates(
    ctx: Context, req: DescribeTemplatesRequest
) -> dict[str, Any]:
    return await _describe(ctx, "SampleSnapshot", req)


# ----- ImageSprite -----


@action()
async def CreateImageSpriteTemplate(
    ctx: Context, req: CreateImageSpriteTemplateRequest
) -> dict[str, Any]:
    return await _create(ctx, "ImageSprite", req)


@action()
async def ModifyImageSpriteTemplate(
    ctx: Context, req: ModifyImageSpriteTemplateRequest
) -> dict[str, Any]:
    return await _modify(ctx, "ImageSprite", req)


@action()
async def DeleteImageSpriteTemplate(ctx: Context, req: DeleteTemplateRequest) -> dict[str, Any]:
    return await _delete(ctx, "ImageSprite", req)


@action()
async def DescribeImageSpriteTemplates(
    ctx: Context, req: DescribeTemplatesRequest
) -> dict[str, Any]:
    return await _describe(ctx, "ImageSprite", req)


# ----- AnimatedGraphics -----


@action()
async def CreateAnimatedGraphicsTemplate(
    ctx: Context, req: CreateAnimatedGraphicsTemplateRequest
) -> dict[str, Any]:
    return await _create(ctx, "AnimatedGraphics", req)


@action()
async def ModifyAnimatedGraphicsTemplate(
    ctx: Context, req: ModifyAnimatedGraphicsTemplateRequest
) -> dict[str, Any]:
    return await _modify(ctx, "AnimatedGraphics", req)


@action()
async def DeleteAnimatedGraphicsTemplate(
    ctx: Context, req: DeleteTemplateRequest
) -> dict[str, Any]:
    return await _delete(ctx, "AnimatedGraphics", req)


@action()
async def DescribeAnimatedGraphicsTemplates(
    ctx: Context, req: DescribeTemplatesRequest
) -> dict[str, Any]:
    return await _describe(ctx, "AnimatedGraphics", req)


# ----- AdaptiveDynamicStreaming -----


@action()
async def CreateAdaptiveDynamicStreamingTemplate(
    ctx: Context, req: CreateAdaptiveDynamicStreamingTemplateRequest
) -> dict[str, Any]:
    return await _create(ctx, "AdaptiveDynamicStreaming", req)


@action()
async def ModifyAdaptiveDynamicStreamingTemplate(
    ctx: Context, req: ModifyAdaptiveDynamicStreamingTemplateRequest
) -> dict[str, Any]:
    return await _modify(ctx, "AdaptiveDynamicStreaming", req)


@action()
async def DeleteAdaptiveDynamicStreamingTemplate(
    ctx: Context, req: DeleteTemplateRequest
) -> dict[str, Any]:
    return await _delete(ctx, "AdaptiveDynamicStreaming", req)


@action()
async def DescribeAdaptiveDynamicStreamingTemplates(
    ctx: Context, req: DescribeTemplatesRequest
) -> dict[str, Any]:
    return await _describe(ctx, "AdaptiveDynamicStreaming", req)
