"""Library actions: DescribeMediaInfos, ModifyMediaInfo, SearchMedia, DeleteMedia,
AttachMediaSubtitles."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field

from vodflow.errors import VodError
from vodflow.wire.common import Input, Int, Request, Str

FileIdField = Annotated[Str, Field(min_length=1, max_length=32)]
FilterField = Annotated[Str, Field(max_length=64)]


def at_most(limit: int, code: str, name: str) -> BeforeValidator:
    """Bound a list before its items are validated, with Tencent's own code.

    A VodError is not a ValueError, so pydantic lets it through as it is: the
    count answers `code` whatever the length (a pydantic max_length would answer
    plain InvalidParameterValue past it), and an oversized list costs nothing.
    """

    def check(value: Any) -> Any:
        if isinstance(value, list) and len(value) > limit:
            raise VodError(code, f"{name} may hold at most {limit} items.")
        return value

    return BeforeValidator(check)


SearchText = Annotated[Str, Field(max_length=100)]


class DescribeMediaInfosRequest(Request):
    FileIds: Annotated[
        list[FileIdField], at_most(20, "InvalidParameterValue.FileIdsTooMany", "FileIds")
    ]
    Filters: Annotated[list[FilterField], Field(max_length=32)] | None = None


SUBTITLE_FORMATS = ("vtt", "srt")
# Tencent: "at most 16 characters: letters, digits, _ and -".
SubtitleId = Annotated[Str, Field(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9_-]+$")]


def _subtitle_format(value: Any) -> Any:
    # Tencent's own code for it, not the generic InvalidParameterValue.Format.
    if isinstance(value, str) and value not in SUBTITLE_FORMATS:
        raise VodError(
            "InvalidParameterValue.SubtitleFormat",
            f"Format takes {' or '.join(SUBTITLE_FORMATS)}, not `{value[:16]}`.",
        )
    return value


class MediaSubtitleInput(Input):
    NOTES = {
        "Format": "vtt (Tencent's) and srt (converted to WebVTT in adaptive streams)",
        "Content": "validated as the declared format; at most 2 MiB decoded",
    }
    Name: Annotated[Str, Field(min_length=1, max_length=64)]
    Language: Annotated[Str, Field(min_length=1, max_length=35)]
    Format: Annotated[Str, BeforeValidator(_subtitle_format)]
    # Base64; the decoded size is checked against core's limit (its own message).
    Content: Annotated[Str, Field(min_length=1, max_length=4 * 1024 * 1024)]
    Id: SubtitleId | None = None


class ModifyMediaInfoRequest(Request):
    REFUSED = {
        **dict.fromkeys(
            ("AddKeyFrameDescs", "DeleteKeyFrameDescs", "ClearKeyFrameDescs"),
            "key-frame descriptions",
        ),
        **dict.fromkeys(("AddTags", "DeleteTags", "ClearTags"), "media tags"),
        **dict.fromkeys(("DeleteKnowledgeBases", "ClearKnowledgeBases"), "knowledge bases"),
    }
    FileId: FileIdField
    Name: Annotated[Str, Field(max_length=64)] | None = None
    Description: Annotated[Str, Field(max_length=128)] | None = None
    ClassId: Annotated[Int, Field(ge=0, le=2**31 - 1)] | None = None
    ExpireTime: Annotated[Str, Field(max_length=64)] | None = None
    # Base64 of the image; the API body limit bounds it further.
    CoverData: Annotated[Str, Field(max_length=14 * 1024 * 1024)] | None = None
    AddSubtitles: (
        Annotated[list[MediaSubtitleInput], at_most(16, "LimitExceeded", "AddSubtitles")] | None
    ) = None
    DeleteSubtitleIds: Annotated[list[SubtitleId], Field(max_length=64)] | None = None
    ClearSubtitles: Int | None = None


class AttachMediaSubtitlesRequest(Request):
    FileId: FileIdField
    Operation: Literal["Attach", "Detach"]
    AdaptiveDynamicStreamingDefinition: Annotated[Int, Field(ge=0, le=2**40)]
    SubtitleIds: Annotated[list[SubtitleId], Field(min_length=1, max_length=16)]
    DefaultSubtitleId: SubtitleId | None = None


class TimeRange(Input):
    After: Annotated[Str, Field(max_length=64)] | None = None
    Before: Annotated[Str, Field(max_length=64)] | None = None


class SortBy(Input):
    Field_: Annotated[Literal["CreateTime"], Field(alias="Field")] = "CreateTime"
    Order: Literal["Asc", "Desc"] = "Desc"


# SearchMedia filters of Tencent's that vodflow has no data for (tags, live streams,
# TRTC, review, storage classes...). A search that ignored a filter would answer the
# wrong media, so each is refused by name (docs/media-library.md).
UNSUPPORTED_SEARCH_FILTERS = {
    "Tags": "searching by tags",
    "StreamIds": "searching by live stream",
    "StreamId": "searching by live stream",
    "ExpireTime": "searching by expiry time",
    "StorageRegions": "searching by storage region",
    "StorageClasses": "searching by storage class",
    "Status": "searching by media status",
    "ReviewResults": "searching by review result",
    "TrtcSdkAppIds": "searching by TRTC application",
    "TrtcRoomIds": "searching by TRTC room",
    "Vids": "searching by live-recording Vid",
    "Vid": "searching by live-recording Vid",
    "StreamDomains": "searching by stream domain",
    "StreamPaths": "searching by stream path",
    "KnowledgeBases": "searching by knowledge base",
}


class SearchMediaRequest(Request):
    REFUSED = UNSUPPORTED_SEARCH_FILTERS
    FileIds: (
        Annotated[list[FileIdField], at_most(10, "InvalidParameterValue.FileIds", "FileIds")] | None
    ) = None
    Names: (
        Annotated[list[SearchText], at_most(10, "InvalidParameterValue.Names", "Names")] | None
    ) = None
    NamePrefixes: (
        Annotated[
            list[SearchText], at_most(10, "InvalidParameterValue.NamePrefixes", "NamePrefixes")
        ]
        | None
    ) = None
    Descriptions: (
        Annotated[list[SearchText], at_most(10, "InvalidParameterValue", "Descriptions")] | None
    ) = None
    ClassIds: (
        Annotated[
            list[Annotated[Int, Field(ge=0)]],
            at_most(10, "InvalidParameterValue.ClassIds", "ClassIds"),
        ]
        | None
    ) = None
    Categories: (
        Annotated[
            list[Annotated[Str, Field(max_length=16)]],
            at_most(3, "InvalidParameterValue.Categories", "Categories"),
        ]
        | None
    ) = None
    SourceTypes: (
        Annotated[
            list[Annotated[Str, Field(max_length=32)]],
            at_most(10, "InvalidParameterValue.SourceTypes", "SourceTypes"),
        ]
        | None
    ) = None
    # Deprecated singular forms Tencent still accepts.
    SourceType: Annotated[Str, Field(max_length=32)] | None = None
    StartTime: Annotated[Str, Field(max_length=64)] | None = None
    EndTime: Annotated[Str, Field(max_length=64)] | None = None
    MediaTypes: (
        Annotated[
            list[Annotated[Str, Field(max_length=16)]],
            at_most(10, "InvalidParameterValue", "MediaTypes"),
        ]
        | None
    ) = None
    Text: Annotated[Str, Field(max_length=64)] | None = None
    CreateTime: TimeRange | None = None
    Sort: SortBy | None = None
    Offset: Annotated[Int, Field(ge=0, le=5000)] | None = None
    Limit: Annotated[Int, Field(ge=1, le=5000)] | None = None
    Filters: Annotated[list[FilterField], Field(max_length=32)] | None = None
    # vodflow extension: keyset paging past Tencent's Offset+Limit <= 5000 window.
    ScrollToken: Annotated[Str, Field(max_length=512)] | None = None


class MediaDeleteItem(Input):
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
