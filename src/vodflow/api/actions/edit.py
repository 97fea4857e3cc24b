"""EditMedia and SplitMedia: clips of library media made new media (one task each)."""

from __future__ import annotations

from typing import Any

from vodflow.api.registry import Context, action
from vodflow.core.edit_media import EditRequest
from vodflow.core.split_media import Segment
from vodflow.core.task_options import FlowOptions
from vodflow.core.uploads import parse_expire_time
from vodflow.errors import VodError
from vodflow.wire.edit import EditMediaRequest, EditMediaVideoStream, SplitMediaRequest


@action()
async def EditMedia(ctx: Context, req: EditMediaRequest) -> dict[str, Any]:
    out = req.OutputConfig
    video = (out.VideoStream if out else None) or EditMediaVideoStream()
    if video.Bitrate and video.Bitrate < 128:
        raise VodError("InvalidParameterValue.Bitrate", "Bitrate is 0 or 128-100000 kbps.")
    for side, value in (("Width", video.Width), ("Height", video.Height)):
        if value and value < 128:
            raise VodError(f"InvalidParameterValue.{side}", f"{side} is 0 or 128-4096 px.")
    options = FlowOptions.of(
        priority=req.TasksPriority,
        session_context=req.SessionContext,
        session_id=req.SessionId,
        ext_info=req.ExtInfo,
    )
    edit = EditRequest(
        clips=[(f.FileId, f.StartTimeOffset, f.EndTimeOffset) for f in req.FileInfos or []],
        base="bitrate" if req.Definition == 20 else "resolution",
        media_name=out.MediaName if out else None,
        class_id=(out.ClassId or 0) if out else 0,
        expire_time=parse_expire_time(out.ExpireTime) if out else None,
        codec=video.Codec or "libx264",
        bitrate_kbps=video.Bitrate or 0,
        width=video.Width or 0,
        height=video.Height or 0,
        resolution_adaptive=video.ResolutionAdaptive != "close",
        fps=video.Fps or 0,
        procedure=req.ProcedureName,
    )
    task_id = await ctx.services.edits.start(ctx.app_id, edit, options)
    return {"TaskId": task_id}


@action()
async def SplitMedia(ctx: Context, req: SplitMediaRequest) -> dict[str, Any]:
    options = FlowOptions.of(
        priority=req.TasksPriority,
        session_context=req.SessionContext,
        session_id=req.SessionId,
    )
    segments = [
        Segment(
            start=s.StartTimeOffset,
            end=s.EndTimeOffset,
            procedure=s.ProcedureName or None,
            media_name=s.OutputConfig.MediaName if s.OutputConfig else None,
            class_id=(s.OutputConfig.ClassId or 0) if s.OutputConfig else 0,
            expire_time=parse_expire_time(s.OutputConfig.ExpireTime) if s.OutputConfig else None,
            output_config=s.OutputConfig.dump() if s.OutputConfig else None,
        )
        for s in req.Segments
    ]
    task_id = await ctx.services.splits.start(ctx.app_id, req.FileId, segments, options)
    return {"TaskId": task_id}
