"""Animated graphics: a clip of the video as an animated GIF or WebP.

GIF goes through ``palettegen``/``paletteuse`` (one palette for the clip,
computed in the same run through ``split``), which is what makes ffmpeg GIFs
look acceptable. WebP uses libwebp's animated encoder with the spec's
quality. Frame counts and durations are read back from the written file:
GIF via its demuxer, WebP from its RIFF chunks (FFmpeg reads animated WebP
poorly, and the chunk layout is simple).
"""

from __future__ import annotations

import asyncio
import math
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import av.error

from vodflow.media.errors import INTERNAL_ERROR, INVALID_TIME_OFFSET, MediaOpError
from vodflow.media.ffmpeg import PROTOCOL_WHITELIST, ProgressCallback
from vodflow.media.ops._common import (
    Staging,
    check_name,
    choose_fill,
    fit_filter,
    media_duration,
    output_threads,
    plan_size,
    read_source,
    require_video,
    run_op,
    source_arg,
    unsupported,
)
from vodflow.media.probe import MediaProbe, file_md5


@dataclass(frozen=True, slots=True)
class AnimatedGraphicsSpec:
    """Clip [start_time, end_time) seconds; ``fps`` 0 = source rate; ``quality`` 1-100 (WebP)."""

    start_time: float = 0.0
    end_time: float = 0.0
    width: int = 0
    height: int = 0
    fps: int = 10
    format: str = "gif"
    quality: int = 75
    resolution_adaptive: bool = True
    fill_type: str = "black"
    name: str = "animated"


@dataclass(frozen=True, slots=True)
class AnimatedGraphicsResult:
    path: Path
    container: str
    width: int
    height: int
    duration: float
    frame_count: int
    size: int
    md5: str
    bitrate: int


@dataclass(frozen=True, slots=True)
class _Animation:
    width: int
    height: int
    frames: int
    duration: float


async def animated_graphics(
    input_path: str | os.PathLike[str],
    spec: AnimatedGraphicsSpec,
    out_dir: str | os.PathLike[str],
    *,
    on_progress: ProgressCallback | None = None,
    threads: int | None = None,
    duration: float | None = None,
    source_probe: MediaProbe | None = None,
) -> AnimatedGraphicsResult:
    """Write ``<name>.gif`` or ``<name>.webp``.

    An end time past the media end is clipped to it. Raises
    ``InvalidInput.InvalidTimeOffset`` (start outside the media, end not
    after start), ``InvalidInput.ConfigurationUnsupported``,
    ``SourceFileError.NoVideoMedia``, ``SourceFileError.ContentMalformed``.
    """
    fmt = spec.format.lower()
    if fmt not in ("gif", "webp"):
        raise unsupported(f"animated format {spec.format!r} is not gif or webp")
    if not 1 <= spec.quality <= 100 or spec.fps < 0 or spec.fps > 60:
        raise unsupported("quality must be 1-100 and fps 0-60")
    check_name(spec.name)
    source = await read_source(input_path, source_probe)
    video = require_video(source)
    total = media_duration(source, duration)
    start, end = float(spec.start_time), min(float(spec.end_time), total)
    if not 0 <= start < total:
        raise MediaOpError(INVALID_TIME_OFFSET, f"start time {start:g}s is outside the media")
    if end <= start:
        raise MediaOpError(INVALID_TIME_OFFSET, "end time must be after start time")
    width, height = plan_size(
        source.display_size, spec.width, spec.height, adaptive=spec.resolution_adaptive, even=False
    )
    fill = choose_fill(spec.width, spec.height, spec.fill_type)
    seek, rate = start, ""
    if spec.fps:
        # Frame k shows the source frame on screen at start + k/fps (the rule of
        # snapshot.sampling_chain). Seeking j frame periods early lets slot j be
        # the frame on screen at the start even when it began before it.
        lead = min(math.floor(start * spec.fps), spec.fps)
        seek = start - lead / spec.fps
        count = max(1, math.ceil((end - start) * spec.fps - 1e-6))
        rate = (
            f"settb=1/1000000,setpts=PTS-50,tpad=stop_mode=clone:stop_duration={1 / spec.fps:.6f},"
            f"fps=fps={spec.fps}:start_time=0:round=up,"
            f"trim=start_frame={lead}:end_frame={lead + count},setpts=PTS-STARTPTS,"
        )

    name = f"{spec.name}.{fmt}"
    with Staging(out_dir) as staging:
        target = staging.dir / name
        graph = f"[0:{video.index}]{rate}null[r];" + fit_filter("r", "s", width, height, fill, "f")
        if fmt == "gif":
            graph += (
                ";[s]split=2[a][b];[a]palettegen=stats_mode=diff[p];"
                "[b][p]paletteuse=dither=bayer:bayer_scale=4[out]"
            )
            encode = ["-c:v", "gif", "-loop", "0", "-f", "gif"]
        else:
            graph += ";[s]null[out]"
            encode = ["-c:v", "libwebp_anim", "-quality", str(spec.quality), "-lossless", "0"]
            encode += ["-loop", "0", "-f", "webp"]
        args = ["-ss", f"{seek:.6f}", "-t", f"{end - seek:.6f}", "-i", source_arg(input_path)]
        args += ["-filter_complex", graph, "-map", "[out]", *encode, *output_threads(threads)]
        await run_op([*args, str(target)], end - start, on_progress, threads)
        info = await asyncio.to_thread(_read_animation, target, fmt)
        size = target.stat().st_size
        md5 = await asyncio.to_thread(file_md5, target)
        staging.commit([name])
    return AnimatedGraphicsResult(
        path=staging.out_dir / name,
        container=fmt,
        width=info.width,
        height=info.height,
        duration=round(info.duration, 3),
        frame_count=info.frames,
        size=size,
        md5=md5,
        bitrate=int(size * 8 / info.duration) if info.duration > 0 else 0,
    )


def _read_animation(path: Path, fmt: str) -> _Animation:
    try:
        return _read_webp(path) if fmt == "webp" else _read_gif(path)
    except (av.error.FFmpegError, ValueError, struct.error) as exc:
        raise MediaOpError(INTERNAL_ERROR, f"output could not be measured: {exc}") from exc


def read_gif(path: str | os.PathLike[str]) -> tuple[int, int, int, float]:
    """(width, height, frames, seconds) of a GIF, by demuxing every frame."""
    info = _read_gif(Path(path))
    return info.width, info.height, info.frames, info.duration


def _read_gif(path: Path) -> _Animation:
    options = {"protocol_whitelist": PROTOCOL_WHITELIST, "format_whitelist": "gif"}
    container: Any
    with av.open(str(path), format="gif", options=options) as container:
        stream = container.streams.video[0]
        frames, ticks = 0, 0
        for packet in container.demux(stream):
            if packet.size:
                frames += 1
                ticks += packet.duration or 0
        seconds = float(ticks * stream.time_base) if stream.time_base else 0.0
        return _Animation(stream.codec_context.width, stream.codec_context.height, frames, seconds)


def read_webp(path: str | os.PathLike[str]) -> tuple[int, int, int, float]:
    """(width, height, frames, seconds) of an (animated) WebP, from its RIFF chunks."""
    info = _read_webp(Path(path))
    return info.width, info.height, info.frames, info.duration


def _read_webp(path: Path) -> _Animation:
    data = path.read_bytes()
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise ValueError("not a WebP file")
    width = height = frames = millis = 0
    pos = 12
    while pos + 8 <= len(data):
        kind = data[pos : pos + 4]
        (length,) = struct.unpack("<I", data[pos + 4 : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"VP8X":
            width = 1 + int.from_bytes(body[4:7], "little")
            height = 1 + int.from_bytes(body[7:10], "little")
        elif kind == b"ANMF":
            frames += 1
            millis += int.from_bytes(body[12:15], "little")
        elif kind in (b"VP8 ", b"VP8L") and not frames:
            frames = 1  # a still WebP
        pos += 8 + length + (length & 1)
    return _Animation(width, height, frames, millis / 1000.0)
