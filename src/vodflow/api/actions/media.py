"""Library actions: DescribeMediaInfos, ModifyMediaInfo, SearchMedia, DeleteMedia,
AttachMediaSubtitles."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from vodflow.api.answer_memo import AnswerMemo
from vodflow.api.envelope import RawPayload, encoded
from vodflow.api.registry import Context, action
from vodflow.core.library import (
    KEEP,
    LibraryService,
    decode_scroll_token,
    encode_scroll_token,
)
from vodflow.core.media_infos import info_of_key
from vodflow.core.uploads import parse_expire_time
from vodflow.errors import VodError
from vodflow.timeutil import parse_iso
from vodflow.wire.media import (
    AttachMediaSubtitlesRequest,
    DeleteMediaRequest,
    DescribeMediaInfosRequest,
    ModifyMediaInfoRequest,
    SearchMediaRequest,
)
from vodflow.wire.media_views import NEVER

SEARCH_WINDOW = 5000
CATEGORIES = ("Video", "Audio", "Image")


def _library(ctx: Context) -> LibraryService:
    return ctx.services.library


def _filters(values: list[str] | None) -> set[str] | None:
    return set(values) if values else None


# A media polled until it changes is read every time and its MediaInfo made once per
# state (and public URL and Filters).
_INFOS = AnswerMemo(info_of_key, encode=encoded)


@action()
async def DescribeMediaInfos(ctx: Context, req: DescribeMediaInfosRequest) -> RawPayload:
    if not req.FileIds:
        raise VodError("InvalidParameterValue.FileIdsEmpty", "FileIds is empty.")
    # More than 20: InvalidParameterValue.FileIdsTooMany, from the wire model.
    library = _library(ctx)
    found, missing = await library.describe_sources(ctx.app_id, list(req.FileIds))
    chosen = frozenset(req.Filters) if req.Filters else None
    infos = b",".join(_INFOS.answer((library.public_url, chosen, s)) for s in found)
    return RawPayload(b'"MediaInfoSet":[%s],"NotExistFileIdSet":%s' % (infos, encoded(missing)))


@action()
async def ModifyMediaInfo(ctx: Context, req: ModifyMediaInfoRequest) -> dict[str, Any]:
    expire: Any = KEEP
    if req.ExpireTime is not None:
        expire = None if req.ExpireTime == NEVER else parse_expire_time(req.ExpireTime)
    cover = None
    if req.CoverData is not None:
        try:
            cover = base64.b64decode(req.CoverData, validate=True)
        except (binascii.Error, ValueError):
            raise VodError(
                "InvalidParameterValue.ImageDecodeError", "CoverData is not valid Base64."
            ) from None
        if not cover:
            raise VodError("InvalidParameterValue.ImageDecodeError", "CoverData is empty.")
    subtitles = ctx.services.subtitles
    change = await subtitles.prepare(
        ctx.app_id,
        req.FileId,
        [s.dump() for s in req.AddSubtitles or []],
        req.DeleteSubtitleIds,
        req.ClearSubtitles == 1,
    )
    try:
        if change is not None:
            change.commit_blobs()
        cover_url = await _library(ctx).modify(
            ctx.app_id,
            req.FileId,
            name=req.Name,
            description=req.Description,
            class_id=req.ClassId,
            expire_time=expire,
            cover_data=cover,
            in_tx=change.apply if change is not None else None,
        )
    except BaseException:
        if change is not None:
            change.discard()
        raise
    if change is None:
        return {"CoverUrl": cover_url, "AddedSubtitleSet": []}
    await subtitles.forget_deleted(ctx.app_id, change)
    return {"CoverUrl": cover_url, "AddedSubtitleSet": change.added()}


@action()
async def AttachMediaSubtitles(ctx: Context, req: AttachMediaSubtitlesRequest) -> dict[str, Any]:
    await ctx.services.subtitles.attach(
        ctx.app_id,
        req.FileId,
        req.Operation,
        req.AdaptiveDynamicStreamingDefinition,
        list(req.SubtitleIds),
        req.DefaultSubtitleId,
    )
    return {}


@action()
async def SearchMedia(ctx: Context, req: SearchMediaRequest) -> dict[str, Any]:
    # Filters vodflow keeps no data for are refused by the wire model, by name.
    categories = req.Categories or []
    for name in categories:
        if name not in CATEGORIES:
            raise VodError(
                "InvalidParameterValue.Categories",
                f"Categories takes {', '.join(CATEGORIES)}, not `{name[:16]}`.",
            )
    offset = req.Offset or 0
    limit = req.Limit or 10
    if offset + limit > SEARCH_WINDOW:
        raise VodError(
            "InvalidParameterValue.OffsetTooLarge",
            f"Offset + Limit must not exceed {SEARCH_WINDOW}; page further with ScrollToken.",
        )
    descending = req.Sort is None or req.Sort.Order == "Desc"
    # CreateTime wins over the deprecated StartTime/EndTime, as Tencent documents.
    after_text = (req.CreateTime.After if req.CreateTime else None) or req.StartTime
    before_text = (req.CreateTime.Before if req.CreateTime else None) or req.EndTime
    after = parse_iso(after_text, "CreateTime.After") if after_text else None
    before = parse_iso(before_text, "CreateTime.Before") if before_text else None
    source_types = list(req.SourceTypes or [])
    if req.SourceType:
        source_types.append(req.SourceType)
    cursor = decode_scroll_token(req.ScrollToken, descending) if req.ScrollToken else None
    infos, total, last = await _library(ctx).search(
        ctx.app_id,
        file_ids=req.FileIds or (),
        names=req.Names or (),
        name_prefixes=req.NamePrefixes or (),
        descriptions=req.Descriptions or (),
        text=req.Text or None,
        class_ids=req.ClassIds or (),
        categories=categories,
        source_types=source_types,
        types=[t.lower() for t in req.MediaTypes or ()],
        create_after=after,
        create_before=before,
        descending=descending,
        after=cursor,
        offset=offset,
        limit=limit,
    )
    filters = _filters(req.Filters)
    if filters is not None:
        infos = [
            {k: v for k, v in i.items() if k == "FileId" or k[0].lower() + k[1:] in filters}
            for i in infos
        ]
    answer: dict[str, Any] = {"TotalCount": total, "MediaInfoSet": infos}
    if last is not None and len(infos) == limit:
        answer["ScrollToken"] = encode_scroll_token(last, descending)
    return answer


@action()
async def DeleteMedia(ctx: Context, req: DeleteMediaRequest) -> dict[str, Any]:
    parts: list[tuple[str, int]] = [(p.Type, p.Definition) for p in req.DeleteParts or []]
    await _library(ctx).delete(ctx.app_id, req.FileId, parts or None)
    return {}
