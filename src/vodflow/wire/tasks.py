"""Task flows on the wire: ProcessMedia & co., and the ProcedureTask structures.

Field names and JSON types mirror the SDK's models (tencentcloud/vod/v20180717/
models.py) and the seed event: ints stay ints, times are ISO strings, optional
parts are omitted rather than null.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar

from pydantic import Field

from vodflow.wire.common import Float, Input, Int, Request, Str, WireModel
from vodflow.wire.streams import AudioTemplateInfoForUpdate, VideoTemplateInfoForUpdate

FileIdStr = Annotated[Str, Field(min_length=1, max_length=32)]
TaskIdStr = Annotated[Str, Field(min_length=1, max_length=128)]
Definition = Annotated[Int, Field(ge=0, le=2**40)]
Offset = Annotated[Float, Field(ge=-1e7, le=1e7)]
# Checked against Tencent's limits in the action, so that the specific error codes
# (SessionContextTooLong...) can be answered; this bound only caps memory.
LooseText = Annotated[Str, Field(max_length=8192)]

MAX_PER_SET = 100


# --- MediaProcessTaskInput ----------------------------------------------------

# What vodflow does not do to media, refused by name wherever Tencent's structures
# offer it.
_MEDIA_EXTRAS = {
    "TraceWatermark": "trace (forensic) watermarks",
    "CopyRightWatermark": "copyright watermarks",
    "BlindWatermark": "blind (digital) watermarks",
    "MosaicSet": "mosaics (blurred areas)",
    "SubtitleInfoSet": "burnt-in subtitles",
}
AI_TASKS = {
    "AiContentReviewTask": "AI content review",
    "AiAnalysisTask": "AI content analysis",
    "AiRecognitionTask": "AI content recognition",
}


class WatermarkInput(Input):
    """One watermark of a WatermarkSet: its template and what this task draws with it.

    Which templates exist and which content each type needs are core's rules
    (core/watermarks.py), answered with Tencent's field codes.
    """

    Definition: Definition
    TextContent: Annotated[Str, Field(max_length=100)] | None = None
    SvgContent: Annotated[Str, Field(max_length=2_000_000)] | None = None
    StartTimeOffset: Offset | None = None
    EndTimeOffset: Offset | None = None


# At most 10 watermarks on one output (Tencent's consoles offer up to 10 too).
WatermarkList = Annotated[list[WatermarkInput], Field(max_length=10)]


class OverrideTranscodeParameter(Input):
    """Template fields changed for one task only; the result obeys the template's rules."""

    REFUSED = {
        "TEHDConfig": "Top Speed Codec (TEHD) transcoding",
        "StdExtInfo": "extended encoder parameters (StdExtInfo)",
        "SubtitleTemplate": "burnt-in subtitles",
        "AddonAudioStream": "add-on audio streams",
        "AddOnSubtitles": "add-on subtitles",
    }
    Container: Annotated[Str, Field(max_length=32)] | None = None
    RemoveVideo: Int | None = None
    RemoveAudio: Int | None = None
    VideoTemplate: VideoTemplateInfoForUpdate | None = None
    AudioTemplate: AudioTemplateInfoForUpdate | None = None


class HeadTailTaskInput(Input):
    Definition: Definition


# TranscodeTaskInput.HeadTailSet: "支持多片头片尾，最大可支持 10 个".
MAX_HEAD_TAILS = 10


class TranscodeTaskInput(Input):
    REFUSED = _MEDIA_EXTRAS
    Definition: Definition
    HeadTailSet: Annotated[list[HeadTailTaskInput], Field(max_length=MAX_HEAD_TAILS)] | None = None
    WatermarkSet: WatermarkList | None = None
    StartTimeOffset: Offset | None = None
    EndTimeOffset: Offset | None = None
    OverrideParameter: OverrideTranscodeParameter | None = None


class AnimatedGraphicTaskInput(Input):
    Definition: Definition
    StartTimeOffset: Offset | None = None
    EndTimeOffset: Offset | None = None


class SnapshotByTimeOffsetTaskInput(Input):
    Definition: Definition
    WatermarkSet: WatermarkList | None = None
    ExtTimeOffsetSet: (
        Annotated[list[Annotated[Str, Field(max_length=32)]], Field(max_length=MAX_PER_SET)] | None
    ) = None
    TimeOffsetSet: (
        Annotated[list[Annotated[Float, Field(ge=0, le=1e10)]], Field(max_length=MAX_PER_SET)]
        | None
    ) = None


class SampleSnapshotTaskInput(Input):
    Definition: Definition
    WatermarkSet: WatermarkList | None = None


class ImageSpriteTaskInput(Input):
    Definition: Definition


class CoverBySnapshotTaskInput(Input):
    Definition: Definition
    WatermarkSet: WatermarkList | None = None
    PositionType: Literal["Time", "Percent"]
    PositionValue: Annotated[Float, Field(ge=0, le=1e7)]


# Tencent: "at most 16 characters: letters, digits, _ and -".
SubtitleIdStr = Annotated[Str, Field(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9_-]+$")]


class AdaptiveDynamicStreamingTaskInput(Input):
    REFUSED = {
        **_MEDIA_EXTRAS,
        "DrmInfo": "DRM encryption",
    }
    NOTES = {"SubtitleSet": "ids of the media's subtitles; WebVTT renditions of the stream"}
    Definition: Definition
    # Subtitles of the media (ModifyMediaInfo AddSubtitles), by id; at most 16.
    SubtitleSet: Annotated[list[SubtitleIdStr], Field(max_length=16)] | None = None
    WatermarkSet: WatermarkList | None = None


_Item = TypeVar("_Item", bound=WireModel)
TaskSet = Annotated[list[_Item], Field(max_length=MAX_PER_SET)]


class MediaProcessTaskInput(Input):
    TranscodeTaskSet: TaskSet[TranscodeTaskInput] | None = None
    AnimatedGraphicTaskSet: TaskSet[AnimatedGraphicTaskInput] | None = None
    SnapshotByTimeOffsetTaskSet: TaskSet[SnapshotByTimeOffsetTaskInput] | None = None
    SampleSnapshotTaskSet: TaskSet[SampleSnapshotTaskInput] | None = None
    ImageSpriteTaskSet: TaskSet[ImageSpriteTaskInput] | None = None
    CoverBySnapshotTaskSet: TaskSet[CoverBySnapshotTaskInput] | None = None
    AdaptiveDynamicStreamingTaskSet: TaskSet[AdaptiveDynamicStreamingTaskInput] | None = None


# --- requests -------------------------------------------------------------------


class FlowRequest(Request):
    TasksPriority: Annotated[Int, Field(ge=-10, le=10)] | None = None
    # The enumeration is checked here; its default and Tencent's length limits are
    # core/task_options.py's.
    TasksNotifyMode: Literal["Finish", "Change", "None"] | None = None
    SessionContext: LooseText | None = None
    SessionId: LooseText | None = None
    ExtInfo: Annotated[Str, Field(max_length=1000)] | None = None


class ProcessMediaRequest(FlowRequest):
    REFUSED = {
        **AI_TASKS,
        "MediaStoragePath": "MediaStoragePath (FileId+Path applications)",
        "Url": "processing a URL (only media in the library)",
        "OutputAsIndependentMedia": "outputs as independent media",
    }
    FileId: FileIdStr
    MediaProcessTask: MediaProcessTaskInput | None = None


class ProcessMediaByProcedureRequest(FlowRequest):
    REFUSED = {"MediaStoragePath": "MediaStoragePath (FileId+Path applications)"}
    FileId: FileIdStr
    ProcedureName: Annotated[Str, Field(min_length=1, max_length=64)]


class DescribeFileAttributesRequest(Request):
    FileId: FileIdStr
    TasksPriority: Annotated[Int, Field(ge=-10, le=10)] | None = None
    SessionContext: LooseText | None = None
    SessionId: LooseText | None = None
    ExtInfo: Annotated[Str, Field(max_length=1000)] | None = None


class ManageTaskRequest(Request):
    TaskId: TaskIdStr
    OperationType: Literal["Abort"]


class DescribeTaskDetailRequest(Request):
    TaskId: TaskIdStr


class TimeRange(Input):
    After: Annotated[Str, Field(max_length=64)] | None = None
    Before: Annotated[Str, Field(max_length=64)] | None = None


class SortBy(Input):
    Field: Literal["CreateTime", "FinishTime"] = "CreateTime"
    Order: Literal["Asc", "Desc"] = "Desc"


class DescribeTasksRequest(Request):
    Status: Literal["WAITING", "PROCESSING", "FINISH", "ABORTED"] | None = None
    FileId: Annotated[Str, Field(max_length=32)] | None = None
    CreateTime: TimeRange | None = None
    FinishTime: TimeRange | None = None
    Sort: SortBy | None = None
    Limit: Annotated[Int, Field(ge=1, le=100)] = 10
    ScrollToken: Annotated[Str, Field(max_length=256)] | None = None


# --- results ----------------------------------------------------------------------


class MediaVideoStreamItem(WireModel):
    Bitrate: int
    Height: int
    Width: int
    Codec: str
    Fps: int
    CodecTag: str | None = None


class MediaAudioStreamItem(WireModel):
    Bitrate: int
    SamplingRate: int
    Codec: str


class MediaTranscodeItem(WireModel):
    Url: str
    Definition: int
    Bitrate: int
    Height: int
    Width: int
    Size: int
    Duration: float
    Md5: str
    Container: str
    VideoStreamSet: list[MediaVideoStreamItem]
    AudioStreamSet: list[MediaAudioStreamItem]
    DigitalWatermarkType: str | None = None


class MediaSnapshotByTimePicInfoItem(WireModel):
    TimeOffset: float
    Url: str
    WaterMarkDefinition: list[int] = []


class MediaSnapshotByTimeOffsetItem(WireModel):
    Definition: int
    PicInfoSet: list[MediaSnapshotByTimePicInfoItem]


class MediaSampleSnapshotItem(WireModel):
    Definition: int
    SampleType: str
    Interval: int
    ImageUrlSet: list[str]
    WaterMarkDefinition: list[int] = []


class MediaImageSpriteItem(WireModel):
    Definition: int
    Height: int
    Width: int
    TotalCount: int
    ImageUrlSet: list[str]
    WebVttUrl: str


class MediaAnimatedGraphicsItem(WireModel):
    Url: str
    Definition: int
    Container: str
    Height: int
    Width: int
    Bitrate: int
    Size: int
    Md5: str
    StartTimeOffset: float
    EndTimeOffset: float


class MediaSubStreamInfoItem(WireModel):
    Type: str
    Width: int
    Height: int
    Size: int


class MediaSubtitleItem(WireModel):
    Id: str
    Name: str
    Language: str
    Format: str
    Url: str
    Source: str | None = None


class AdaptiveDynamicStreamingInfoItem(WireModel):
    Definition: int
    Package: str
    DrmType: str
    Url: str
    Size: int
    DigitalWatermarkType: str
    SubStreamSet: list[MediaSubStreamInfoItem]
    # The subtitles carried as WebVTT renditions (SubtitleSet, AttachMediaSubtitles).
    SubtitleSet: list[MediaSubtitleItem] | None = None
    DefaultSubtitleId: str | None = None


class SubtaskResult(WireModel):
    """The common shape of every MediaProcessTask*Result."""

    Status: Literal["PROCESSING", "SUCCESS", "FAIL"]
    ErrCodeExt: str
    ErrCode: int
    Message: str
    Progress: int
    Input: dict[str, Any]
    Output: dict[str, Any] | None = None
    BeginProcessTime: str | None = None
    FinishTime: str | None = None


class MediaProcessTaskResult(WireModel):
    Type: str
    TranscodeTask: SubtaskResult | None = None
    AnimatedGraphicTask: SubtaskResult | None = None
    SnapshotByTimeOffsetTask: SubtaskResult | None = None
    SampleSnapshotTask: SubtaskResult | None = None
    ImageSpriteTask: SubtaskResult | None = None
    CoverBySnapshotTask: SubtaskResult | None = None
    AdaptiveDynamicStreamingTask: SubtaskResult | None = None


# MediaProcessTaskResult.Type -> the field above that holds that result. Here, not
# in core, because wire/task_views.py shapes the result and cannot import core; each
# kind's descriptor (core/kinds/) reads its `result_field` from it.
RESULT_FIELDS = {
    "Transcode": "TranscodeTask",
    "AnimatedGraphics": "AnimatedGraphicTask",
    "SnapshotByTimeOffset": "SnapshotByTimeOffsetTask",
    "SampleSnapshot": "SampleSnapshotTask",
    "ImageSprites": "ImageSpriteTask",
    "CoverBySnapshot": "CoverBySnapshotTask",
    "AdaptiveDynamicStreaming": "AdaptiveDynamicStreamingTask",
}


class ProcedureTask(WireModel):
    TaskId: str
    Status: Literal["WAITING", "PROCESSING", "FINISH", "ABORTED"]
    ErrCode: int
    Message: str
    FileId: str
    FileName: str
    FileUrl: str
    MetaData: dict[str, Any] | None = None
    MediaProcessResultSet: list[MediaProcessTaskResult]
    AiContentReviewResultSet: list[dict[str, Any]] = []
    AiAnalysisResultSet: list[dict[str, Any]] = []
    AiRecognitionResultSet: list[dict[str, Any]] = []
    TasksPriority: int
    TasksNotifyMode: str
    SessionContext: str
    SessionId: str
    Operator: str = ""
    OperationType: str = ""


class TaskSimpleInfo(WireModel):
    TaskId: str
    Status: str
    FileId: str
    TaskType: str
    CreateTime: str
    BeginProcessTime: str | None = None
    FinishTime: str | None = None
    SessionId: str
    SessionContext: str
