"""Library actions: DescribeMediaInfos, ModifyMediaInfo, SearchMedia, DeleteMedia."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from vodflow.wire.common import Int, Request, Str, WireModel

FileIdField = Annotated[Str, Field(min_length=1, max_length=32)]
FilterField = Annotated[Str, Field(max_length=64)]
# Counts are checked in the action so that Tencent's specific codes can answer.
Bounded = Field(max_length=100)


class DescribeMediaInfosRequest(Request):
    FileIds: Annotated[list[FileIdField], Bounded]
    Filters: Annotated[list[FilterField], Field(max_length=32)] | None = None


class ModifyMediaInfoRequest(Request):
    FileId: FileIdField
    Name: Annotated[Str, Field(max_length=64)] | None = None
    Description: Annotated[Str, Field(max_length=128)] | None = None
    ClassId: Annotated[Int, Field(ge=0, le=2**31 - 1)] | None = None
    ExpireTime: Annotated[Str, Field(max_length=64)] | None = None
    # Base64 of the image; the API body limit bounds it further.
    CoverData: Annotated[Str, Field(max_length=14 * 1024 * 1024)] | None = None


class TimeRange(WireModel):
    After: Annotated[Str, Field(max_length=64)] | None = None
    Before: Annotated[Str, Field(max_length=64)] | None = None


class SortBy(WireModel):
    Field_: Annotated[Literal["CreateTime"], Field(alias="Field")] = "CreateTime"
    Order: Literal["Asc", "Desc"] = "Desc"


class SearchMediaRequest(Request):
    FileIds: Annotated[list[FileIdField], Bounded] | None = None
    Names: Annotated[list[Annotated[Str, Field(max_length=100)]], Bounded] | None = None
    NamePrefixes: Annotated[list[Annotated[Str, Field(max_length=100)]], Bounded] | None = None
    ClassIds: Annotated[list[Annotated[Int, Field(ge=0)]], Bounded] | None = None
    MediaTypes: Annotated[list[Annotated[Str, Field(max_length=16)]], Bounded] | None = None
    CreateTime: TimeRange | None = None
    Sort: SortBy | None = None
    Offset: Annotated[Int, Field(ge=0, le=5000)] | None = None
    Limit: Annotated[Int, Field(ge=1, le=5000)] | None = None
    Filters: Annotated[list[FilterField], Field(max_length=32)] | None = None
    # vodflow extension: keyset paging past Tencent's Offset+Limit <= 5000 window.
    ScrollToken: Annotated[Str, Field(max_length=512)] | None = None


class MediaDeleteItem(WireModel):
    Type: Literal[
        "OriginalFiles",
        "TranscodeFiles",
        "AdaptiveDynamicStreamingFiles",
        "WechatPublishFiles",
        "WechatMiniProgramPublishFiles",
    ]
    Definition: Annotated[Int, Field(ge=0)] = 0


class DeleteMediaRequest(Request):
    FileId: FileIdField
    DeleteParts: Annotated[list[MediaDeleteItem], Field(max_length=20)] | None = None
