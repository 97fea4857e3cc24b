"""What a transcode run produces: rendition specs, and their plan against the source.

The specs (:class:`TranscodeSpec` and its :class:`VideoSpec`/:class:`AudioSpec`)
say what a caller asks for; :func:`plan_rendition` validates one against the
probed source and resolves what "from the source" means (the output size, the
frame rate, whether there is audio to carry). :func:`clip_window` checks the one
clip window all renditions of a run share. Nothing here builds or runs FFmpeg:
that is ``media.ops.transcode_command`` and ``media.ops.transcode``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

from vodflow.media.errors import (
    INVALID_TIME_OFFSET,
    NO_VIDEO_MEDIA,
    SOURCE_FILE_ERROR,
    MediaOpError,
)
from vodflow.media.ops._common import check_name, choose_fill, plan_size, unsupported
from vodflow.media.ops.watermark import Watermark
from vodflow.media.probe import MediaProbe


@dataclass(frozen=True, slots=True)
class _Container:
    ext: str
    muxer: str
    video_codecs: frozenset[str]
    audio_codecs: frozenset[str]


_AV = frozenset({"h264", "h265"})
_AA = frozenset({"aac", "mp3"})
_NONE: frozenset[str] = frozenset()
CONTAINERS: Final[dict[str, _Container]] = {
    "mp4": _Container("mp4", "mp4", _AV, _AA | {"mp2"}),
    "flv": _Container("flv", "flv", _AV, _AA),
    "hls": _Container("m3u8", "hls", _AV, _AA),
    "ts": _Container("ts", "mpegts", _AV, _AA),
    "mp3": _Container("mp3", "mp3", _NONE, frozenset({"mp3"})),
    "m4a": _Container("m4a", "ipod", _NONE, frozenset({"aac", "mp3", "ac3"})),
    "flac": _Container("flac", "flac", _NONE, frozenset({"flac"})),
    "ogg": _Container("ogg", "ogg", _NONE, frozenset({"flac"})),
    "wav": _Container("wav", "wav", _NONE, frozenset({"pcm16"})),
}
"""Output containers by the name specs use (Tencent's ``Container`` values)."""

_M4A_MP3: Final = _Container("m4a", "mp4", _NONE, frozenset({"mp3"}))
"""FFmpeg's ipod muxer refuses MP3; the mp4 muxer writes it into the same file type."""

_PROFILES: Final = frozenset({"", "baseline", "main", "high"})


@dataclass(frozen=True, slots=True)
class VideoSpec:
    """Video settings of a rendition. Sizes in pixels, bitrate in kbps; 0 = "from the source".

    ``gop`` is in frames (0 = encoder default). ``preset`` trades speed for
    size; the default favours throughput on shared machines.
    """

    codec: str = "h264"
    bitrate: int = 0
    width: int = 0
    height: int = 0
    fps: int = 0
    resolution_adaptive: bool = True
    fill_type: str = "black"
    gop: int = 0
    preset: str = "veryfast"
    crf: int = 0
    """Constant rate factor 1-51 (Tencent's ``Vcrf``); set, it replaces ``bitrate``."""
    gop_unit: str = "frame"
    """``gop`` counts frames, or seconds with ``second`` (Tencent's ``GopUnit``)."""
    bframes: int | None = None
    """B-frames between references, 0-16; None lets the encoder choose."""
    profile: str = ""
    """H.264 profile: baseline, main or high; "" (Tencent's ``default``) lets x264 choose."""


@dataclass(frozen=True, slots=True)
class AudioSpec:
    """Audio settings of a rendition. Bitrate in kbps; 0 = "encoder default / from the source"."""

    codec: str = "aac"
    bitrate: int = 0
    sample_rate: int = 0
    channels: int = 0


@dataclass(frozen=True, slots=True)
class TranscodeSpec:
    """One rendition. ``name`` is the base name of its output(s) in ``out_dir``.

    ``start_time``/``end_time`` clip the source (seconds). ``segment_duration``
    applies to HLS only.
    """

    container: str = "mp4"
    video: VideoSpec | None = field(default_factory=VideoSpec)
    audio: AudioSpec | None = field(default_factory=AudioSpec)
    remove_video: bool = False
    remove_audio: bool = False
    start_time: float | None = None
    end_time: float | None = None
    segment_duration: float = 10.0
    segment_type: str = "ts"
    """HLS segments: ``ts`` (MPEG-TS) or ``fmp4`` (fragmented MP4 with an init segment)."""
    name: str = "transcode"
    watermarks: tuple[Watermark, ...] = ()  # drawn on the scaled picture (media/ops/watermark.py)
    cheap: bool = False  # test only: shrunk last, tiny output (media/ops/cheap.py)


@dataclass(frozen=True, slots=True)
class Plan:
    """A validated rendition, resolved against the source."""

    spec: TranscodeSpec
    container: _Container
    video: VideoSpec | None
    audio: AudioSpec | None
    size: tuple[int, int] | None
    source_fps: int = 0


def plan_rendition(spec: TranscodeSpec, source: MediaProbe, joined_audio: bool = False) -> Plan:
    container = CONTAINERS.get(spec.container.lower())
    if container is None:
        raise unsupported(f"container {spec.container!r} is not supported")
    check_name(spec.name)
    if spec.segment_duration <= 0:
        raise unsupported("segment duration must be positive")
    if spec.segment_type not in ("ts", "fmp4"):
        raise unsupported(f"segment type {spec.segment_type!r} is not ts or fmp4")
    wants_video = spec.video is not None and not spec.remove_video and container.video_codecs
    wants_audio = spec.audio is not None and not spec.remove_audio
    video = spec.video if wants_video else None
    audio = spec.audio if wants_audio and (source.has_audio or joined_audio) else None

    size: tuple[int, int] | None = None
    if video is not None:
        if video.codec not in container.video_codecs:
            raise unsupported(f"video codec {video.codec!r} cannot go in {spec.container}")
        if min(video.bitrate, video.width, video.height, video.fps, video.gop) < 0:
            raise unsupported("video settings must not be negative")
        if not 0 <= video.crf <= 51:
            raise unsupported("crf must be 1-51 (0 for none)")
        if video.gop_unit not in ("frame", "second") or video.profile not in _PROFILES:
            raise unsupported("gop unit must be frame or second, profile baseline/main/high")
        if video.bframes is not None and not 0 <= video.bframes <= 16:
            raise unsupported("b-frames must be 0-16")
        choose_fill(video.width, video.height, video.fill_type)  # validates early
        if not source.has_video or source.is_image:
            raise MediaOpError(NO_VIDEO_MEDIA, "the source has no video stream")
        size = plan_size(
            source.display_size, video.width, video.height, adaptive=video.resolution_adaptive
        )
    if audio is not None:
        if audio.codec not in container.audio_codecs:
            raise unsupported(f"audio codec {audio.codec!r} cannot go in {spec.container}")
        if container.ext == "m4a" and audio.codec == "mp3":
            container = _M4A_MP3
        if min(audio.bitrate, audio.sample_rate, audio.channels) < 0:
            raise unsupported("audio settings must not be negative")
    if video is None and audio is None:
        if not container.video_codecs and not source.has_audio:
            # The template is fine; the source lacks what it needs (a still image,
            # a silent video): a source error, as NoVideoMedia is for video outputs.
            raise MediaOpError(
                SOURCE_FILE_ERROR, f"{spec.container} output needs audio and the source has none"
            )
        raise unsupported("the rendition would contain neither video nor audio")
    fps = source.video_streams[0].fps if source.video_streams else 0
    return Plan(spec, container, video, audio, size, fps)


def clip_window(
    specs: Sequence[TranscodeSpec], source: MediaProbe
) -> tuple[float | None, float | None]:
    """The common clip window, validated. Renditions must agree on it.

    One window for all keeps the single decode simple (input seeking);
    Tencent attaches the window to the task, not the rendition, anyway.
    """
    windows = {(spec.start_time, spec.end_time) for spec in specs}
    if len(windows) != 1:
        raise unsupported("renditions of one run must share start and end times")
    start, end = windows.pop()
    if start is None and end is None:
        return None, None
    begin = start or 0.0
    if begin < 0 or begin >= source.duration:
        raise MediaOpError(INVALID_TIME_OFFSET, f"start time {begin:g}s is outside the media")
    if end is not None and end <= begin:
        raise MediaOpError(INVALID_TIME_OFFSET, "end time must be after start time")
    if end is not None:
        end = min(end, source.duration)
    return begin, end
