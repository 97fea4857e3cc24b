"""Upload actions: ApplyUpload, CommitUpload and PullUpload."""

from __future__ import annotations

from typing import Any

from vodflow.api.registry import Context, action
from vodflow.core.uploads import UploadService
from vodflow.wire.upload import (
    ApplyUploadRequest,
    CommitUploadRequest,
    PullUploadRequest,
    apply_upload_answer,
)


def _uploads(ctx: Context) -> UploadService:
    return ctx.services.uploads


@action()
async def ApplyUpload(ctx: Context, req: ApplyUploadRequest) -> dict[str, Any]:
    ticket = await _uploads(ctx).apply(
        ctx.app_id,
        media_type=req.MediaType,
        media_name=req.MediaName,
        cover_type=req.CoverType,
        procedure=req.Procedure,
        session_context=req.SessionContext,
        source_context=req.SourceContext,
        expire_time=req.ExpireTime,
        class_id=req.ClassId,
    )
    cred = ticket.credential
    return apply_upload_answer(
        ticket.app_id,
        ticket.session_key,
        ticket.media_key,
        ticket.cover_key,
        (cred.secret_id, cred.secret_key, cred.token or "", cred.expires_at),
    )


@action()
async def CommitUpload(ctx: Context, req: CommitUploadRequest) -> dict[str, Any]:
    record = await _uploads(ctx).commit(ctx.app_id, req.VodSessionKey)
    return {
        "FileId": record.file_id,
        "MediaUrl": record.media_url,
        "CoverUrl": record.cover_url or "",
    }


@action()
async def PullUpload(ctx: Context, req: PullUploadRequest) -> dict[str, Any]:
    task_id = await ctx.services.pulls.start(ctx.app_id, req)
    return {"TaskId": task_id}
