"""Tencent templates in, media-op specs out; measured op results in, Tencent items out.

The two directions of one translation, kept together so a field's meaning is
read in one place: Tencent's `VideoTemplate.Codec` 'libx264' is the op's 'h264',
`ResolutionAdaptive` 'open' is True, `TimeOffsetSet` is in milliseconds...
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from vodflow.media.errors import CONFIGURATION_UNSUPPORTED, INVALID_TIME_OFFSET, MediaOpError
from vodflow.media.ops import (
    AdaptiveStreamingResult,
    AdaptiveStreamingSpec,
    AnimatedGraphicsResult,
    AnimatedGraphicsSpec,
    AudioSpec,
    CoverSpec,
    ImageSpritesResult,
    ImageSpritesSpec,
    SampleSnapshotResult,
    SampleSnapshotSpec,
    SnapshotByTimeOffsetSpec,
    SnapshotImage,
    TranscodeResult,
    TranscodeSpec,
    VideoSpec,
)
from vodflow.media.probe import AudioStreamInfo, VideoStreamInfo

_VIDEO_CODECS = {
    "libx264": "h264",
    "h264": "h264",
    "libx265": "h265",
    "h265": "h265",
    "hevc": "h265",
}
_AUDIO_CODECS = {"libfdk_aac": "aac", "aac": "aac", "libmp3lame": "mp3", "mp3": "mp3"}
_AUDIO_CODECS |= {"mp2": "mp2", "ac3": "ac3", "flac": "flac", "pcm16": "pcm16"}


def _int(value: Any, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _adaptive(tpl: Mapping[str, Any]) -> bool:
    return str(tpl.get("ResolutionAdaptive", "open")).lower() != "close"


def _fill(tpl: Mapping[str, Any], default: str = "black") -> str:
    return str(tpl.get("FillType") or default).lower()


# --- time offsets -------------------------------------------------------------------


def window(
    start: float | None, end: float | None, duration: float
) -> tuple[float | None, float | None]:
    """Tencent's Start/EndTimeOffset (0 or absent: the edge; negative: from the end)
    as absolute seconds; (None, None) for the whole media."""
    if not start and not end:
        return None, None
    begin = float(start or 0.0)
    if begin < 0:
        begin = duration + begin
    finish: float | None = None
    if end:
        finish = float(end) if end > 0 else duration + float(end)
    if begin < 0 or begin >= duration or (finish is not None and finish <= begin):
        raise MediaOpError(
            INVALID_TIME_OFFSET,
            f"the time offsets ({start}, {end}) are outside the media (0-{duration:g}s)",
        )
    return begin, finish


def snapshot_offsets(item: Mapping[str, Any], duration: float) -> list[float]:
    """Seconds of SnapshotByTimeOffset: ExtTimeOffsetSet ('3.5s', '10%') and TimeOffsetSet (ms)."""
    out: list[float] = []
    for text in item.get("ExtTimeOffsetSet") or []:
        value = str(text).strip()
        try:
            if value.endswith("%"):
                out.append(duration * float(value[:-1]) / 100.0)
            elif value.endswith("s"):
                out.append(float(value[:-1]))
            else:
                out.append(float(value))
        except ValueError:
            raise MediaOpError(INVALID_TIME_OFFSET, f"time offset {value!r} is not valid") from None
    out += [float(ms) / 1000.0 for ms in item.get("TimeOffsetSet") or []]
    for offset in out:
        if not math.isfinite(offset) or offset < 0 or offset > duration:
            raise MediaOpError(
                INVALID_TIME_OFFSET,
                f"time offset {offset:g}s is outside the media (0-{duration:g}s)",
            )
    if not out:
        raise MediaOpError(INVALID_TIME_OFFSET, "no time offset given")
    return out


# --- templates -> specs ----------------------------------------------------------------


def video_spec(tpl: Mapping[str, Any]) -> VideoSpec:
    codec = str(tpl.get("Codec") or "libx264").lower()
    return VideoSpec(
        codec=_VIDEO_CODECS.get(codec, codec),
        bitrate=_int(tpl.get("Bitrate")),
        width=_int(tpl.get("Width")),
        height=_int(tpl.get("Height")),
        fps=_int(tpl.get("Fps")),
        resolution_adaptive=_adaptive(tpl),
        fill_type=_fill(tpl),
        gop=_int(tpl.get("Gop")),
        crf=_int(tpl.get("Vcrf")),
        gop_unit=str(tpl.get("GopUnit") or "frame"),
        bframes=None if tpl.get("Bframes") is None else _int(tpl.get("Bframes")),
        profile="" if tpl.get("VideoProfile") in (None, "default") else str(tpl["VideoProfile"]),
    )


def audio_spec(tpl: Mapping[str, Any]) -> AudioSpec:
    codec = str(tpl.get("Codec") or "libfdk_aac").lower()
    channels = _int(tpl.get("AudioChannel"))
    return AudioSpec(
        codec=_AUDIO_CODECS.get(codec, codec),
        bitrate=_int(tpl.get("Bitrate")),
        sample_rate=_int(tpl.get("SampleRate")),
        # Tencent: 1 mono, 2 dual, 6 stereo; all but mono are two channels here.
        channels=1 if channels == 1 else (2 if channels else 0),
    )


def transcode_spec(
    tpl: Mapping[str, Any], name: str, clip: tuple[float | None, float | None]
) -> TranscodeSpec:
    video = tpl.get("VideoTemplate")
    audio = tpl.get("AudioTemplate")
    return TranscodeSpec(
        container=str(tpl.get("Container") or "mp4").lower(),
        video=video_spec(video) if isinstance(video, Mapping) else None,
        audio=audio_spec(audio) if isinstance(audio, Mapping) else None,
        remove_video=bool(_int(tpl.get("RemoveVideo"))),
        remove_audio=bool(_int(tpl.get("RemoveAudio"))),
        segment_type="fmp4" if str(tpl.get("SegmentType") or "").lower() == "fmp4" else "ts",
        # VideoTemplate.HlsTime: the segment duration, 0 for automatic (our 10 s).
        segment_duration=float(_int((video or {}).get("HlsTime")) or 10),
        start_time=clip[0],
        end_time=clip[1],
        name=name,
    )


def cover_spec(tpl: Mapping[str, Any], item: Mapping[str, Any], name: str) -> CoverSpec:
    return CoverSpec(
        position_type=str(item.get("PositionType") or "Time"),
        position_value=float(item.get("PositionValue") or 0.0),
        width=_int(tpl.get("Width")),
        height=_int(tpl.get("Height")),
        format=str(tpl.get("Format") or "jpg"),
        resolution_adaptive=_adaptive(tpl),
        fill_type=_fill(tpl),
        name=name,
    )


def snapshot_spec(tpl: Mapping[str, Any], offsets: Sequence[float]) -> SnapshotByTimeOffsetSpec:
    return SnapshotByTimeOffsetSpec(
        time_offsets=list(offsets),
        width=_int(tpl.get("Width")),
        height=_int(tpl.get("Height")),
        format=str(tpl.get("Format") or "jpg"),
        resolution_adaptive=_adaptive(tpl),
        fill_type=_fill(tpl),
        name="snapshot",
    )


def sample_spec(tpl: Mapping[str, Any]) -> SampleSnapshotSpec:
    return SampleSnapshotSpec(
        sample_type=str(tpl.get("SampleType") or "Percent"),
        interval=float(tpl.get("SampleInterval") or 10),
        width=_int(tpl.get("Width")),
        height=_int(tpl.get("Height")),
        format=str(tpl.get("Format") or "jpg"),
        resolution_adaptive=_adaptive(tpl),
        fill_type=_fill(tpl),
        name="sample",
    )


def sprite_spec(tpl: Mapping[str, Any], url_prefix: str) -> ImageSpritesSpec:
    return ImageSpritesSpec(
        sample_type=str(tpl.get("SampleType") or "Percent"),
        interval=float(tpl.get("SampleInterval") or 10),
        width=_int(tpl.get("Width")),
        height=_int(tpl.get("Height")),
        row_count=_int(tpl.get("RowCount"), 10),
        column_count=_int(tpl.get("ColumnCount"), 10),
        format=str(tpl.get("Format") or "jpg"),
        resolution_adaptive=_adaptive(tpl),
        fill_type=_fill(tpl),
        name="sprite",
        url_prefix=url_prefix,
    )


def animated_spec(
    tpl: Mapping[str, Any], item: Mapping[str, Any], duration: float
) -> AnimatedGraphicsSpec:
    start, end = window(item.get("StartTimeOffset"), item.get("EndTimeOffset"), duration)
    return AnimatedGraphicsSpec(
        start_time=start or 0.0,
        end_time=end if end is not None else duration,
        width=_int(tpl.get("Width")),
        height=_int(tpl.get("Height")),
        fps=_int(tpl.get("Fps"), 10),
        format=str(tpl.get("Format") or "gif").lower(),
        quality=max(1, min(100, round(float(tpl.get("Quality") or 75)))),
        resolution_adaptive=_adaptive(tpl),
        name="animated",
    )


def adaptive_spec(
    tpl: Mapping[str, Any], name: str, source_size: tuple[int, int], source_bitrate: int
) -> AdaptiveStreamingSpec:
    if str(tpl.get("Format") or "HLS").upper() != "HLS":
        raise MediaOpError(CONFIGURATION_UNSUPPORTED, "only HLS adaptive streaming is supported")
    streams = list(tpl.get("StreamInfos") or [])
    renditions = []
    for i, info in enumerate(streams):
        fake = {
            "Container": "hls",
            "VideoTemplate": info.get("Video"),
            "AudioTemplate": info.get("Audio"),
            "RemoveVideo": info.get("RemoveVideo", 0),
            "RemoveAudio": info.get("RemoveAudio", 0),
        }
        renditions.append(transcode_spec(fake, f"v{i}", (None, None)))
    if _int(tpl.get("DisableHigherVideoResolution")):
        short = min(source_size) if all(source_size) else 0
        kept = [r for r in renditions if r.video is None or _short_side(r.video) <= short]
        renditions = kept or renditions[:1]
    if _int(tpl.get("DisableHigherVideoBitrate")) and source_bitrate:
        kbps = source_bitrate // 1000
        kept = [r for r in renditions if r.video is None or r.video.bitrate <= kbps]
        renditions = kept or renditions[:1]
    if not renditions:
        raise MediaOpError(CONFIGURATION_UNSUPPORTED, "the template has no stream")
    # SegmentDuration (1-10 s) sets adaptive segments; without it, 10 s as before.
    seconds = float(_int(tpl.get("SegmentDuration")) or 10)
    return AdaptiveStreamingSpec(renditions=renditions, segment_duration=seconds, name=name)


def _short_side(video: VideoSpec) -> int:
    sides = [s for s in (video.width, video.height) if s]
    return min(sides) if sides else 0


# --- measured results -> Tencent items -----------------------------------------------------


def video_streams(streams: Sequence[VideoStreamInfo]) -> list[dict[str, Any]]:
    out = []
    for s in streams:
        item: dict[str, Any] = {
            "Bitrate": s.bitrate,
            "Height": s.height,
            "Width": s.width,
            "Codec": s.codec,
            "Fps": s.fps,
        }
        if s.codec_tag:
            item["CodecTag"] = s.codec_tag
        out.append(item)
    return out


def audio_streams(streams: Sequence[AudioStreamInfo]) -> list[dict[str, Any]]:
    return [
        {"Bitrate": s.bitrate, "SamplingRate": s.sample_rate, "Codec": s.codec} for s in streams
    ]


def transcode_item(result: TranscodeResult, definition: int, url: str) -> dict[str, Any]:
    return {
        "Url": url,
        "Definition": definition,
        "Bitrate": result.bitrate,
        "Height": result.height,
        "Width": result.width,
        "Size": result.size,
        "Duration": result.duration,
        "Md5": result.md5,
        "Container": result.container,
        "VideoStreamSet": video_streams(result.video_streams),
        "AudioStreamSet": audio_streams(result.audio_streams),
        "DigitalWatermarkType": "None",
    }


def snapshot_item(
    images: Sequence[SnapshotImage], definition: int, urls: Sequence[str]
) -> dict[str, Any]:
    return {
        "Definition": definition,
        "PicInfoSet": [
            {
                "TimeOffset": round(img.time_offset * 1000.0, 3),
                "Url": url,
                "WaterMarkDefinition": [],
            }
            for img, url in zip(images, urls, strict=True)
        ],
    }


def sample_item(
    result: SampleSnapshotResult, tpl: Mapping[str, Any], definition: int, urls: Sequence[str]
) -> dict[str, Any]:
    return {
        "Definition": definition,
        "SampleType": str(tpl.get("SampleType") or "Percent"),
        "Interval": _int(tpl.get("SampleInterval"), 10),
        "ImageUrlSet": list(urls),
        "WaterMarkDefinition": [],
    }


def sprite_item(
    result: ImageSpritesResult, definition: int, urls: Sequence[str], vtt_url: str
) -> dict[str, Any]:
    return {
        "Definition": definition,
        "Height": result.thumbnail_height,
        "Width": result.thumbnail_width,
        # SDK MediaImageSpriteItem.TotalCount: thumbnails in each sheet, not in all.
        "TotalCount": result.per_sheet,
        "ImageUrlSet": list(urls),
        "WebVttUrl": vtt_url,
    }


def animated_item(
    result: AnimatedGraphicsResult, spec: AnimatedGraphicsSpec, definition: int, url: str
) -> dict[str, Any]:
    return {
        "Url": url,
        "Definition": definition,
        "Container": result.container,
        "Height": result.height,
        "Width": result.width,
        "Bitrate": result.bitrate,
        "Size": result.size,
        "Md5": result.md5,
        "StartTimeOffset": float(spec.start_time),
        "EndTimeOffset": float(spec.end_time),
    }


def adaptive_item(result: AdaptiveStreamingResult, definition: int, url: str) -> dict[str, Any]:
    return {
        "Definition": definition,
        "Package": "HLS",
        "DrmType": "",
        "Url": url,
        "Size": result.size,
        "DigitalWatermarkType": "None",
        "SubStreamSet": [
            {
                "Type": "video" if r.video_streams else "audio",
                "Width": r.width,
                "Height": r.height,
                "Size": r.size,
            }
            for r in result.renditions
        ],
    }
