"""Video and audio stream parameters: shared by transcode templates, adaptive
streaming renditions and a transcode task's OverrideParameter.

Models check types and sizes; value ranges are `core.template_rules`'.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from vodflow.wire.common import Input, Int, Str

Word = Annotated[Str, Field(max_length=32)]


class VideoTemplateInfo(Input):
    REFUSED = {
        "Mode": "rate-control modes",
        "HlsTime": "setting the HLS segment duration",
        "Bframes": "setting the B-frame count",
        "VideoProfile": "choosing encoder profiles",
    }
    Codec: Word
    Fps: Int
    Bitrate: Int
    ResolutionAdaptive: Word | None = None
    Width: Int | None = None
    Height: Int | None = None
    FillType: Word | None = None
    Vcrf: Int | None = None
    Gop: Int | None = None
    GopUnit: Word | None = None
    PreserveHDRSwitch: Word | None = None
    CodecTag: Word | None = None


class VideoTemplateInfoForUpdate(Input):
    REFUSED = {
        "Mode": "rate-control modes",
        "HlsTime": "setting the HLS segment duration",
        "Bframes": "setting the B-frame count",
        "VideoProfile": "choosing encoder profiles",
    }
    Codec: Word | None = None
    Fps: Int | None = None
    Bitrate: Int | None = None
    ResolutionAdaptive: Word | None = None
    Width: Int | None = None
    Height: Int | None = None
    FillType: Word | None = None
    Vcrf: Int | None = None
    Gop: Int | None = None
    GopUnit: Word | None = None
    PreserveHDRSwitch: Word | None = None
    CodecTag: Word | None = None


class AudioTemplateInfo(Input):
    REFUSED = {"StreamSelects": "selecting audio streams"}
    Codec: Word
    Bitrate: Int
    SampleRate: Int
    AudioChannel: Int | None = None


class AudioTemplateInfoForUpdate(Input):
    REFUSED = {"StreamSelects": "selecting audio streams"}
    Codec: Word | None = None
    Bitrate: Int | None = None
    SampleRate: Int | None = None
    AudioChannel: Int | None = None


class TEHDConfigInfo(Input):
    Type: Word | None = None
    MaxVideoBitrate: Int | None = None
