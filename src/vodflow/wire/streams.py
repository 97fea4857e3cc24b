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
VcrfField = Annotated[Int, _only((0,), "constant-quality encoding (Vcrf other than 0)")]
GopUnitField = Annotated[Word, _only(("frame",), "GOP lengths in seconds (GopUnit second)")]
PreserveHDRField = Annotated[Word, _only(("OFF",), "preserving HDR (PreserveHDRSwitch ON)")]
CodecTagField = Annotated[Word, _only(("hvc1",), "the hev1 HEVC tag (CodecTag hev1)")]
_VIDEO_NOTES = {
    "Vcrf": "0 only; other values are refused (UnsupportedOperation)",
    "GopUnit": "frame only; second is refused (UnsupportedOperation)",
    "PreserveHDRSwitch": "OFF only; ON is refused (UnsupportedOperation)",
    "CodecTag": "hvc1 only; hev1 is refused (UnsupportedOperation)",
}


class VideoTemplateInfo(Input):
    REFUSED = {
        "Mode": "rate-control modes",
        "HlsTime": "setting the HLS segment duration",
        "Bframes": "setting the B-frame count",
        "VideoProfile": "choosing encoder profiles",
    }
    NOTES = _VIDEO_NOTES
    Codec: Word
    Fps: Int
    Bitrate: Int
    ResolutionAdaptive: Word | None = None
    Width: Int | None = None
    Height: Int | None = None
    FillType: Word | None = None
    Vcrf: VcrfField | None = None
    Gop: Int | None = None
    GopUnit: GopUnitField | None = None
    PreserveHDRSwitch: PreserveHDRField | None = None
    CodecTag: CodecTagField | None = None


class VideoTemplateInfoForUpdate(Input):
    REFUSED = {
        "Mode": "rate-control modes",
        "HlsTime": "setting the HLS segment duration",
        "Bframes": "setting the B-frame count",
        "VideoProfile": "choosing encoder profiles",
    }
    NOTES = _VIDEO_NOTES
    Codec: Word | None = None
    Fps: Int | None = None
    Bitrate: Int | None = None
    ResolutionAdaptive: Word | None = None
    Width: Int | None = None
    Height: Int | None = None
    FillType: Word | None = None
    Vcrf: VcrfField | None = None
    Gop: Int | None = None
    GopUnit: GopUnitField | None = None
    PreserveHDRSwitch: PreserveHDRField | None = None
    CodecTag: CodecTagField | None = None


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
