"""Parameter-template and procedure-template actions, with Tencent's field names.

Models check types, presence and sizes only. Value ranges (codecs, bitrates,
sizes, formats...) are checked in `core.template_rules`, because a Modify is
merged into the stored template first and must obey the same rules, and
because Tencent answers them with field-specific codes
(`InvalidParameterValue.Width`...).

Procedure templates take the task-flow input model of `wire.tasks`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from vodflow.wire.common import Float, Input, Int, Request, Str
from vodflow.wire.streams import (
    AudioTemplateInfo,
    AudioTemplateInfoForUpdate,
    TEHDConfigInfo,
    VideoTemplateInfo,
    VideoTemplateInfoForUpdate,
)
from vodflow.wire.tasks import AI_TASKS, MediaProcessTaskInput

Name64 = Annotated[Str, Field(max_length=64)]
Comment256 = Annotated[Str, Field(max_length=256)]
Word = Annotated[Str, Field(max_length=32)]
DefinitionList = Annotated[list[Int], Field(max_length=100)]
OffsetField = Annotated[Int, Field(ge=0)]
LimitField = Annotated[Int, Field(ge=1, le=100)]
TemplateType = Literal["Preset", "Custom"]


# ----- stream parameters (wire.streams) -----


class AdaptiveStreamTemplate(Input):
    REFUSED = {
        "TEHDConfig": "Top Speed Codec (TEHD) renditions",
        "StdExtInfo": "extended encoder parameters (StdExtInfo)",
        "EnhanceConfig": "media enhancement (EnhanceConfig)",
    }
    Video: VideoTemplateInfo
    Audio: AudioTemplateInfo | None = None
    RemoveAudio: Int | None = None
    RemoveVideo: Int | None = None


# ----- Transcode -----


class CreateTranscodeTemplateRequest(Request):
    REFUSED = {
        "EnhanceConfig": "media enhancement (EnhanceConfig)",
        "StdExtInfo": "extended encoder parameters (StdExtInfo)",
    }
    Container: Word
    Name: Name64 | None = None
    Comment: Comment256 | None = None
    RemoveVideo: Int | None = None
    RemoveAudio: Int | None = None
    VideoTemplate: VideoTemplateInfo | None = None
    AudioTemplate: AudioTemplateInfo | None = None
    TEHDConfig: TEHDConfigInfo | None = None
    SegmentType: Word | None = None


class ModifyTranscodeTemplateRequest(Request):
    REFUSED = {
        "EnhanceConfig": "media enhancement (EnhanceConfig)",
        "StdExtInfo": "extended encoder parameters (StdExtInfo)",
    }
    Definition: Int
    Container: Word | None = None
    Name: Name64 | None = None
    Comment: Comment256 | None = None
    RemoveVideo: Int | None = None
    RemoveAudio: Int | None = None
    VideoTemplate: VideoTemplateInfoForUpdate | None = None
    AudioTemplate: AudioTemplateInfoForUpdate | None = None
    TEHDConfig: TEHDConfigInfo | None = None
    SegmentType: Word | None = None


class DescribeTranscodeTemplatesRequest(Request):
    REFUSED = {
        "EnhanceType": "media enhancement templates (EnhanceType)",
        "EnhanceScenarioType": "media enhancement templates (EnhanceScenarioType)",
    }
    Definitions: DefinitionList | None = None
    Type: TemplateType | None = None
    ContainerType: Literal["Video", "PureAudio"] | None = None
    TEHDType: Literal["Common", "TEHD"] | None = None
    Offset: OffsetField = 0
    Limit: LimitField = 10


# ----- image templates -----


class _Image(Input):
    Name: Name64 | None = None
    Comment: Comment256 | None = None
    Width: Int | None = None
    Height: Int | None = None
    ResolutionAdaptive: Word | None = None
    Format: Word | None = None
    FillType: Word | None = None


class CreateSnapshotByTimeOffsetTemplateRequest(Request, _Image):
    pass


class ModifySnapshotByTimeOffsetTemplateRequest(Request, _Image):
    Definition: Int


class CreateSampleSnapshotTemplateRequest(Request, _Image):
    SampleType: Word
    SampleInterval: Int


class ModifySampleSnapshotTemplateRequest(Request, _Image):
    Definition: Int
    SampleType: Word | None = None
    SampleInterval: Int | None = None


class CreateImageSpriteTemplateRequest(Request, _Image):
    SampleType: Word
    SampleInterval: Int
    RowCount: Int
    ColumnCount: Int


class ModifyImageSpriteTemplateRequest(Request, _Image):
    Definition: Int
    SampleType: Word | None = None
    SampleInterval: Int | None = None
    RowCount: Int | None = None
    ColumnCount: Int | None = None


class CreateAnimatedGraphicsTemplateRequest(Request):
    Fps: Int
    Name: Name64 | None = None
    Comment: Comment256 | None = None
    Width: Int | None = None
    Height: Int | None = None
    ResolutionAdaptive: Word | None = None
    Format: Word | None = None
    Quality: Float | None = None


class ModifyAnimatedGraphicsTemplateRequest(Request):
    Definition: Int
    Fps: Int | None = None
    Name: Name64 | None = None
    Comment: Comment256 | None = None
    Width: Int | None = None
    Height: Int | None = None
    ResolutionAdaptive: Word | None = None
    Format: Word | None = None
    Quality: Float | None = None


# ----- adaptive streaming -----


class CreateAdaptiveDynamicStreamingTemplateRequest(Request):
    REFUSED = {
        "DrmEncryptType": "DRM encryption",
    }
    Format: Word
    StreamInfos: Annotated[list[AdaptiveStreamTemplate], Field(max_length=10)]
    Name: Name64 | None = None
    Comment: Comment256 | None = None
    DrmType: Word | None = None
    DrmKeyProvider: Word | None = None
    DisableHigherVideoBitrate: Int | None = None
    DisableHigherVideoResolution: Int | None = None
    SegmentType: Word | None = None
    SegmentDuration: Int | None = None


class ModifyAdaptiveDynamicStreamingTemplateRequest(Request):
    Definition: Int
    Format: Word | None = None
    StreamInfos: Annotated[list[AdaptiveStreamTemplate], Field(max_length=10)] | None = None
    Name: Name64 | None = None
    Comment: Comment256 | None = None
    DrmType: Word | None = None
    DrmKeyProvider: Word | None = None
    DisableHigherVideoBitrate: Int | None = None
    DisableHigherVideoResolution: Int | None = None
    SegmentType: Word | None = None
    SegmentDuration: Int | None = None


# ----- shared by the six kinds -----


class DeleteTemplateRequest(Request):
    Definition: Int


class DescribeTemplatesRequest(Request):
    Definitions: DefinitionList | None = None
    Type: TemplateType | None = None
    Offset: OffsetField = 0
    Limit: LimitField = 10


# ----- procedure templates -----

ProcedureName = Annotated[Str, Field(min_length=1, max_length=20)]
# Existing names may be longer than new ones (preset names such as QCVB_SimpleProcessFile).
ExistingProcedureName = Annotated[Str, Field(min_length=1, max_length=64)]


class CreateProcedureTemplateRequest(Request):
    REFUSED = {
        **AI_TASKS,
        "AiRecognitionTaskSet": "AI content recognition",
        "ReviewAudioVideoTask": "audio/video review",
        "ImportMediaKnowledgeTaskSet": "knowledge-base import",
    }
    Name: ProcedureName
    Comment: Comment256 | None = None
    MediaProcessTask: MediaProcessTaskInput | None = None


class ResetProcedureTemplateRequest(Request):
    REFUSED = {
        **AI_TASKS,
        "AiRecognitionTaskSet": "AI content recognition",
        "ReviewAudioVideoTask": "audio/video review",
        "ImportMediaKnowledgeTaskSet": "knowledge-base import",
    }
    Name: ExistingProcedureName
    Comment: Comment256 | None = None
    MediaProcessTask: MediaProcessTaskInput | None = None


class DeleteProcedureTemplateRequest(Request):
    Name: ExistingProcedureName


class DescribeProcedureTemplatesRequest(Request):
    REFUSED = {"SortBy": "sorting procedure templates"}
    Names: Annotated[list[Annotated[Str, Field(max_length=64)]], Field(max_length=100)] | None = (
        None
    )
    Type: TemplateType | None = None
    Offset: OffsetField = 0
    Limit: LimitField = 10


# ----- watermark templates -----
# Types and sizes only: values (Type, CoordinateOrigin, XPos, sizes, the image
# itself...) are core/watermarks.py's rules, answered with Tencent's field codes.

Length = Annotated[Str, Field(max_length=32)]
# A 2 MB image in Base64 (core refuses more with InvalidParameterValue.ImageContent).
ImageBase64 = Annotated[Str, Field(max_length=4 * 1024 * 1024)]


class ImageWatermarkInput(Input):
    ImageContent: ImageBase64
    Width: Length | None = None
    Height: Length | None = None
    RepeatType: Word | None = None
    Transparency: Int | None = None


class ImageWatermarkInputForUpdate(Input):
    ImageContent: ImageBase64 | None = None
    Width: Length | None = None
    Height: Length | None = None
    RepeatType: Word | None = None
    Transparency: Int | None = None


class TextWatermarkTemplateInput(Input):
    FontType: Word
    FontSize: Length
    FontColor: Length | None = None
    FontAlpha: Float | None = None


class TextWatermarkTemplateInputForUpdate(Input):
    FontType: Word | None = None
    FontSize: Length | None = None
    FontColor: Length | None = None
    FontAlpha: Float | None = None


class SvgWatermarkInput(Input):
    Width: Length | None = None
    Height: Length | None = None


class SvgWatermarkInputForUpdate(Input):
    REFUSED = {"CycleConfig": "periodic watermarks (CycleConfig)"}
    Width: Length | None = None
    Height: Length | None = None


class CreateWatermarkTemplateRequest(Request):
    Type: Word
    Name: Name64 | None = None
    Comment: Comment256 | None = None
    CoordinateOrigin: Word | None = None
    XPos: Length | None = None
    YPos: Length | None = None
    ImageTemplate: ImageWatermarkInput | None = None
    TextTemplate: TextWatermarkTemplateInput | None = None
    SvgTemplate: SvgWatermarkInput | None = None


class ModifyWatermarkTemplateRequest(Request):
    Definition: Int
    Name: Name64 | None = None
    Comment: Comment256 | None = None
    CoordinateOrigin: Word | None = None
    XPos: Length | None = None
    YPos: Length | None = None
    ImageTemplate: ImageWatermarkInputForUpdate | None = None
    TextTemplate: TextWatermarkTemplateInputForUpdate | None = None
    SvgTemplate: SvgWatermarkInputForUpdate | None = None


class DescribeWatermarkTemplatesRequest(Request):
    Type: Word | None = None
    Definitions: DefinitionList | None = None
    Offset: OffsetField = 0
    Limit: LimitField = 10
