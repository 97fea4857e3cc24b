"""EditMedia: clip sources and join them into one MP4, in one FFmpeg run.

Each clip is read with input seeking (``-ss``/``-t`` before ``-i``), which with
re-encoding starts on the exact frame, not the keyframe before it. Every clip
is brought to one picture (the base clip's size unless told otherwise, scaled
to fit and padded black, square pixels, one frame rate, yuv420p) and one sound
(48 kHz stereo; a clip without audio gets silence of its own length, a clip
whose audio ends early is padded), then ``concat`` joins them, so sources of
different sizes, rates and audio layouts make one clean stream.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from vodflow.media.errors import INVALID_TIME_OFFSET, MediaOpError
from vodflow.media.ffmpeg import ProgressCallback
from vodflow.media.ops._common import (
    Staging,
    check_name,
    fit_filter,
    measure,
    media_duration,
    output_threads,
    plan_size,
    read_source,
    require_video,
    run_op,
    source_arg,
    unsupported,
)
from vodflow.media.probe import MediaProbe

VIDEO_CODECS = {"libx264": "libx264", "libx265": "libx265"}
AUDIO_RATE = 48000
DEFAULT_FPS = 25


@dataclass(frozen=True, slots=True)
class Clip:
    """``[start, end)`` seconds of a source; ``end`` None: to its end."""

    path: str
    start: float = 0.0
    end: float | None = None


@dataclass(frozen=True, slots=True)
class EditSpec:
    """``base`` "resolution" (Tencent's Definition 10) or "bitrate" (20) picks the clip
    whose size and rate the output takes; width/height/fps/bitrate 0 keep the base's."""

    base: str = "resolution"
    codec: str = "libx264"
    bitrate_kbps: int = 0
    width: int = 0
    height: int = 0
    resolution_adaptive: bool = True
    fps: int = 0
    name: str = "edited"


@dataclass(frozen=True, slots=True)
class EditResult:
    path: Path
    duration: float
    width: int
    height: int
    fps: float
    has_audio: bool
    clip_durations: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class _Planned:
    clip: Clip
    source: MediaProbe
    start: float
    length: float


async def edit_media(
    clips: Sequence[Clip],
    spec: EditSpec,
    out_dir: str | os.PathLike[str],
    *,
    on_progress: ProgressCallback | None = None,
    threads: int | None = None,
) -> EditResult:
    """Write ``<name>.mp4``: the clips in order.

    An end past the source's end stops at it. Raises
    ``InvalidInput.InvalidTimeOffset`` (a start outside its source, an end not
    after its start), ``InvalidInput.ConfigurationUnsupported``,
    ``SourceFileError.NoVideoMedia``, ``SourceFileError.ContentMalformed``.
    """
    if not clips:
        raise unsupported("nothing to edit")
    if spec.codec not in VIDEO_CODECS or spec.base not in ("resolution", "bitrate"):
        raise unsupported(f"codec {spec.codec!r} / base {spec.base!r} is not supported")
    check_name(spec.name)
    planned = [await _plan(clip) for clip in clips]
    base = max(
        planned,
        key=lambda p: (
            p.source.display_size[0] * p.source.display_size[1]
            if spec.base == "resolution"
            else p.source.bitrate
        ),
    )
    width, height = plan_size(
        base.source.display_size, spec.width, spec.height, adaptive=spec.resolution_adaptive
    )
    fps = spec.fps or require_video(base.source).fps or DEFAULT_FPS
    has_audio = any(p.source.audio_streams for p in planned)

    args: list[str] = []
    graph: list[str] = []
    joined = ""
    for i, p in enumerate(planned):
        args += ["-ss", f"{p.start:.6f}", "-t", f"{p.length:.6f}", "-i", source_arg(p.clip.path)]
        video = require_video(p.source)
        graph.append(fit_filter(f"{i}:{video.index}", f"f{i}", width, height, "black", f"t{i}"))
        graph.append(
            f"[f{i}]fps={fps},format=yuv420p,setpts=PTS-STARTPTS,trim=duration={p.length:.6f}[v{i}]"
        )
        joined += f"[v{i}]"
        if has_audio:
            if p.source.audio_streams:
                audio = p.source.audio_streams[0]
                graph.append(
                    f"[{i}:{audio.index}]aresample={AUDIO_RATE},"
                    f"aformat=sample_fmts=fltp:sample_rates={AUDIO_RATE}:channel_layouts=stereo,"
                    f"asetpts=PTS-STARTPTS,apad,atrim=duration={p.length:.6f}[a{i}]"
                )
            else:
                graph.append(
                    f"anullsrc=r={AUDIO_RATE}:cl=stereo,atrim=duration={p.length:.6f},"
                    f"aformat=sample_fmts=fltp[a{i}]"
                )
            joined += f"[a{i}]"
    audio_n = 1 if has_audio else 0
    graph.append(
        f"{joined}concat=n={len(planned)}:v=1:a={audio_n}[vo]" + ("[ao]" if has_audio else "")
    )
    encode = ["-map", "[vo]", "-c:v", VIDEO_CODECS[spec.codec], "-pix_fmt", "yuv420p"]
    if spec.bitrate_kbps:
        encode += ["-b:v", f"{spec.bitrate_kbps}k"]
    if has_audio:
        encode += ["-map", "[ao]", "-c:a", "aac", "-b:a", "128k"]
    encode += ["-movflags", "+faststart", "-f", "mp4", *output_threads(threads)]
    total = sum(p.length for p in planned)
    name = f"{spec.name}.mp4"
    with Staging(out_dir) as staging:
        target = staging.dir / name
        args += ["-filter_complex", ";".join(graph), *encode, str(target)]
        await run_op(args, total, on_progress, threads)
        made = await measure(target)
        staging.commit([name])
    out_video = made.video_streams[0]
    return EditResult(
        path=staging.out_dir / name,
        duration=made.duration,
        width=out_video.width,
        height=out_video.height,
        fps=float(out_video.fps),
        has_audio=bool(made.audio_streams),
        clip_durations=tuple(p.length for p in planned),
    )


async def _plan(clip: Clip) -> _Planned:
    source = await read_source(clip.path)
    require_video(source)
    total = media_duration(source)
    start = float(clip.start)
    end = total if clip.end is None else min(float(clip.end), total)
    if not 0 <= start < total:
        raise MediaOpError(INVALID_TIME_OFFSET, f"start time {start:g}s is outside the media")
    if end <= start:
        raise MediaOpError(INVALID_TIME_OFFSET, "end time must be after start time")
    return _Planned(clip, source, start, end - start)
