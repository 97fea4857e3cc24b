"""Video and audio stream parameters: shared by transcode templates, adaptive
streaming renditions and a transcode task's OverrideParameter.

Models check types and sizes; value ranges are `core.template_rules`'.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

from vodflow.wire.common import Input, Int, Str, unsupported

Word = Annotated[Str, Field(max_length=32)]


def _only(allowed: tuple[object, ...], what: str) -> AfterValidator:
    """A field vodflow honours for these values only; another is refused by name."""

    def check(value: object) -> object:
        if value not in allowed:
            raise unsupported(what)
        return value

    return AfterValidator(check)


# Encoder settings FFmpeg is not given (yet): their defaults are what vodflow does.
PreserveHDRField = Annotated[Word, _only(("OFF",), "preserving HDR (PreserveHDRSwitch ON)")]
CodecTagField = Annotated[Word, _only(("hvc1",), "the hev1 HEVC tag (CodecTag hev1)")]
# vodflow encodes at an average bit rate (VBR/ABR); Vcrf gives constant quality.
ModeField = Annotated[Word, _only(("VBR", "ABR"), "rate-control modes CBR and VCRF (Mode)")]
_VIDEO_NOTES = {
    "Vcrf": "1-51: CRF rate control, Bitrate no longer applies",
    "GopUnit": "frame or second",
    "Mode": "VBR or ABR (an average bit rate); CBR and VCRF are refused (UnsupportedOperation)",
    "Bframes": "0-16",
    "HlsTime": "0-10 s, the HLS segment duration (transcode templates only)",
    "VideoProfile": "baseline, main, high or default (libx264 only)",
    "PreserveHDRSwitch": "OFF only; ON is refused (UnsupportedOperation)",
    "CodecTag": "hvc1 only; hev1 is refused (UnsupportedOperation)",
}


class VideoTemplateInfo(Input):
    NOTES = _VIDEO_NOTES
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
    PreserveHDRSwitch: PreserveHDRField | None = None
    CodecTag: CodecTagField | None = None
    Mode: ModeField | None = None
    Bframes: Int | None = None
    HlsTime: Int | None = None
    VideoProfile: Word | None = None


class VideoTemplateInfoForUpdate(Input):
    NOTES = _VIDEO_NOTES
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
    PreserveHDRSwitch: PreserveHDRField | None = None
    CodecTag: CodecTagField | None = None
    Mode: ModeField | None = None
    Bframes: Int | None = None
    HlsTime: Int | None = None
    VideoProfile: Word | None = None


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
