"""EditMedia's and SplitMedia's requests: clips of library media made new media."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from vodflow.errors import VodError
from vodflow.wire.common import Float, Input, Int, Request, Str, unsupported
from vodflow.wire.tasks import FileIdStr, LooseText

Offset = Annotated[Float, Field(ge=-(10**9), le=10**9)]


def _file_input(value: str) -> str:
    if value == "Stream":
        raise unsupported("InputType Stream (editing live-stream recordings)")
    return value


def _codec(value: str) -> str:
    if value not in ("libx264", "libx265"):
        raise unsupported(f"the {value} codec for EditMedia (libx264 and libx265 only)")
    return value


def _definition(value: int) -> int:
    # A VodError passes through pydantic as it is: Tencent's own code.
    if value not in (10, 20):
        raise VodError("InvalidParameterValue.Definition", "Definition is 10 or 20.")
    return value


def _mp4(value: str) -> str:
    if value != "mp4":
        raise unsupported("EditMedia output Type hls (mp4 only)")
    return value


class EditMediaFileInfo(Input):
    FileId: FileIdStr
    StartTimeOffset: Offset | None = None
    EndTimeOffset: Offset | None = None


class EditMediaVideoStream(Input):
    NOTES = {"Codec": "libx264 and libx265; av1 and H.266 are refused (UnsupportedOperation)"}
    Codec: (
        Annotated[Literal["libx264", "libx265", "av1", "H.266"], AfterValidator(_codec)] | None
    ) = None
    # 0 or 128-100000 kbps; the gap is checked by the action (Tencent's code).
    Bitrate: Annotated[Int, Field(ge=0, le=100000)] | None = None
    ResolutionAdaptive: Literal["open", "close"] | None = None
    Width: Annotated[Int, Field(ge=0, le=4096)] | None = None
    Height: Annotated[Int, Field(ge=0, le=4096)] | None = None
    Fps: Annotated[Int, Field(ge=0, le=100)] | None = None


class EditMediaOutputConfig(Input):
    REFUSED = {"TEHDConfig": "Top Speed Codec (TEHD) transcoding"}
    NOTES = {"Type": "mp4 only; hls is refused (UnsupportedOperation)"}
    MediaName: Annotated[Str, Field(max_length=64)] | None = None
    Type: Annotated[Literal["mp4", "hls"], AfterValidator(_mp4)] | None = None
    ClassId: Annotated[Int, Field(ge=0, le=2**31 - 1)] | None = None
    ExpireTime: Annotated[Str, Field(max_length=64)] | None = None
    VideoStream: EditMediaVideoStream | None = None


class EditMediaRequest(Request):
    REFUSED = {"StreamInfos": "editing live-stream recordings"}
    NOTES = {"InputType": "File only; Stream is refused (UnsupportedOperation)"}
    InputType: Annotated[Literal["File", "Stream"], AfterValidator(_file_input)]
    FileInfos: Annotated[list[EditMediaFileInfo], Field(max_length=100)] | None = None
    Definition: Annotated[Int, AfterValidator(_definition)] | None = None
    ProcedureName: Annotated[Str, Field(min_length=1, max_length=64)] | None = None
    OutputConfig: EditMediaOutputConfig | None = None
    SessionContext: LooseText | None = None
    TasksPriority: Annotated[Int, Field(ge=-10, le=10)] | None = None
    SessionId: LooseText | None = None
    ExtInfo: Annotated[Str, Field(max_length=1000)] | None = None


class SplitMediaOutputConfig(Input):
    NOTES = {"Type": "mp4 only; hls is refused (UnsupportedOperation)"}
    MediaName: Annotated[Str, Field(max_length=64)] | None = None
    Type: Annotated[Literal["mp4", "hls"], AfterValidator(_mp4)] | None = None
    ClassId: Annotated[Int, Field(ge=0, le=2**31 - 1)] | None = None
    ExpireTime: Annotated[Str, Field(max_length=64)] | None = None


class SplitMediaTaskConfig(Input):
    StartTimeOffset: Offset | None = None
    EndTimeOffset: Offset | None = None
    ProcedureName: Annotated[Str, Field(max_length=64)] | None = None
    OutputConfig: SplitMediaOutputConfig | None = None


class SplitMediaRequest(Request):
    FileId: FileIdStr
    Segments: Annotated[list[SplitMediaTaskConfig], Field(max_length=100)]
    SessionContext: LooseText | None = None
    SessionId: LooseText | None = None
    TasksPriority: Annotated[Int, Field(ge=-10, le=10)] | None = None
