"""Still images from a video: at given times, as a cover, or sampled regularly.

Time offsets are **seconds** (floats) throughout the media layer; Tencent's
millisecond ``TimeOffsetSet`` is converted by the caller. Offsets up to the
media duration are valid. Every image is the frame *on screen* at its time:
the last frame starting at or before it (so an offset past the last frame's
start, up to the end, shows the real last frame, even in VFR video).

Point snapshots seek (one short decode per offset from the preceding
keyframe); regular sampling decodes once and lets the ``fps`` filter pick
frames, which is cheaper when frames are wanted throughout.
"""

from __future__ import annotations

import asyncio
import inspect
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from vodflow.media.errors import CONTENT_MALFORMED, MediaOpError
from vodflow.media.ffmpeg import ProgressCallback
from vodflow.media.ops._common import (
    SnapshotImage,
    Staging,
    check_name,
    check_offset,
    choose_fill,
    fit_filter,
    image_codec,
    image_ext,
    image_quality,
    measure_image,
    media_duration,
    output_threads,
    plan_size,
    read_source,
    require_video,
    run_op,
    source_arg,
    unsupported,
)
from vodflow.media.ops.watermark import Watermark, WatermarkInputs
from vodflow.media.probe import MediaProbe

MAX_SAMPLES: Final = 10_000
"""Upper bound on images one sampling op may write (a 1 s interval over ~3 h)."""

_SEEKS_PER_RUN: Final = 16
"""Seeking inputs per ffmpeg run: each holds a decoder, so keep memory bounded."""


@dataclass(frozen=True, slots=True)
class SnapshotByTimeOffsetSpec:
    """Images at ``time_offsets`` (seconds). Width/height 0 = source/proportional."""

    time_offsets: Sequence[float]
    width: int = 0
    height: int = 0
    format: str = "jpg"
    resolution_adaptive: bool = True
    fill_type: str = "black"
    name: str = "snapshot"
    watermarks: tuple[Watermark, ...] = ()


@dataclass(frozen=True, slots=True)
class SnapshotByTimeOffsetResult:
    images: tuple[SnapshotImage, ...]


@dataclass(frozen=True, slots=True)
class CoverSpec:
    """One cover image. ``position_type`` ``Time`` (seconds) or ``Percent`` (of the duration)."""

    position_type: str = "Time"
    position_value: float = 0.0
    width: int = 0
    height: int = 0
    format: str = "jpg"
    resolution_adaptive: bool = True
    fill_type: str = "black"
    name: str = "cover"
    watermarks: tuple[Watermark, ...] = ()


@dataclass(frozen=True, slots=True)
class SampleSnapshotSpec:
    """Images every ``interval`` seconds (``Time``) or percent of the duration (``Percent``)."""

    sample_type: str = "Percent"
    interval: float = 10.0
    width: int = 0
    height: int = 0
    format: str = "jpg"
    resolution_adaptive: bool = True
    fill_type: str = "black"
    name: str = "sample"
    watermarks: tuple[Watermark, ...] = ()


@dataclass(frozen=True, slots=True)
class SampleSnapshotResult:
    images: tuple[SnapshotImage, ...]
    interval: float = field(default=0.0)
    """Seconds between images, whatever the sample type."""


async def snapshot_by_time_offsets(
    input_path: str | os.PathLike[str],
    spec: SnapshotByTimeOffsetSpec,
    out_dir: str | os.PathLike[str],
    *,
    on_progress: ProgressCallback | None = None,
    threads: int | None = None,
    duration: float | None = None,
    source_probe: MediaProbe | None = None,
) -> SnapshotByTimeOffsetResult:
    """Write ``<name>_<i>.<format>`` for each offset, in the order given.

    Raises ``InvalidInput.InvalidTimeOffset`` for an offset outside
    [0, duration], ``SourceFileError.NoVideoMedia``,
    ``InvalidInput.ConfigurationUnsupported``, ``SourceFileError.ContentMalformed``.
    """
    if not spec.time_offsets:
        raise unsupported("no time offset given")
    check_name(spec.name)
    source = await read_source(input_path, source_probe)
    require_video(source)
    total = media_duration(source, duration)
    for offset in spec.time_offsets:
        check_offset(float(offset), max(total, source.duration))
    ext = image_ext(spec.format)
    shots = [(f"{spec.name}_{i}.{ext}", float(t)) for i, t in enumerate(spec.time_offsets)]
    with Staging(out_dir) as staging:
        images = await _seek_shots(
            Path(input_path),
            source,
            shots,
            spec,
            staging,
            on_progress=on_progress,
            threads=threads,
        )
        staging.commit(name for name, _ in shots)
    return SnapshotByTimeOffsetResult(images=tuple(images))


async def cover_by_snapshot(
    input_path: str | os.PathLike[str],
    spec: CoverSpec,
    out_dir: str | os.PathLike[str],
    *,
    on_progress: ProgressCallback | None = None,
    threads: int | None = None,
    duration: float | None = None,
    source_probe: MediaProbe | None = None,
) -> SnapshotImage:
    """Write ``<name>.<format>``, one frame at the given position.

    Raises as :func:`snapshot_by_time_offsets`; a percentage outside 0-100
    is an invalid time offset too.
    """
    check_name(spec.name)
    source = await read_source(input_path, source_probe)
    require_video(source)
    total = media_duration(source, duration)
    if spec.position_type == "Time":
        offset = float(spec.position_value)
    elif spec.position_type == "Percent":
        check_offset(float(spec.position_value), 100.0, "percentage")
        offset = total * float(spec.position_value) / 100.0
    else:
        raise unsupported(f"position type {spec.position_type!r} is not Time or Percent")
    check_offset(offset, max(total, source.duration))
    name = f"{spec.name}.{image_ext(spec.format)}"
    with Staging(out_dir) as staging:
        (image,) = await _seek_shots(
            Path(input_path),
            source,
            [(name, offset)],
            spec,
            staging,
            on_progress=on_progress,
            threads=threads,
        )
        staging.commit([name])
    return image


async def sample_snapshot(
    input_path: str | os.PathLike[str],
    spec: SampleSnapshotSpec,
    out_dir: str | os.PathLike[str],
    *,
    on_progress: ProgressCallback | None = None,
    threads: int | None = None,
    duration: float | None = None,
    source_probe: MediaProbe | None = None,
) -> SampleSnapshotResult:
    """Write ``<name>_<i>.<format>`` at 0, interval, 2*interval... before the end.

    ``Percent`` 10 gives ten images (0%, 10%, ... 90%). Raises
    ``InvalidInput.ConfigurationUnsupported`` for a non-positive interval,
    and as :func:`snapshot_by_time_offsets` otherwise.
    """
    check_name(spec.name)
    source = await read_source(input_path, source_probe)
    require_video(source)
    total = media_duration(source, duration)
    period, count = sample_plan(total, spec.sample_type, spec.interval)
    codec, ext = image_codec(spec.format), image_ext(spec.format)
    width, height = plan_size(
        source.display_size, spec.width, spec.height, adaptive=spec.resolution_adaptive, even=False
    )
    fill = choose_fill(spec.width, spec.height, spec.fill_type)
    with Staging(out_dir) as staging:
        graph = sampling_chain(source, period, count, "sampled")
        graph += ";" + fit_filter("sampled", "fitted", width, height, fill, tag="f")
        marks = WatermarkInputs(1)
        graph += ";" + marks.chain(
            "fitted", "out", spec.watermarks, (width, height), total, tag="w"
        )
        args = ["-i", source_arg(input_path), *marks.args, "-filter_complex", graph]
        args += ["-map", "[out]"]
        args += ["-fps_mode", "passthrough", "-c:v", codec, *image_quality(spec.format)]
        args += output_threads(threads)
        args += ["-f", "image2", "-start_number", "0", str(staging.dir / f"{spec.name}_%d.{ext}")]
        await run_op(args, total, on_progress, threads)
        names = [f"{spec.name}_{i}.{ext}" for i in range(count)]
        images = await asyncio.gather(
            *(
                measure_image(staging.dir / name, staging.out_dir / name, i * period)
                for i, name in enumerate(names)
            )
        )
        staging.commit(names)
    return SampleSnapshotResult(images=tuple(images), interval=round(period, 6))


def sample_plan(duration: float, sample_type: str, interval: float) -> tuple[float, int]:
    """(seconds between samples, number of samples) for a sampling spec."""
    if not math.isfinite(interval) or interval <= 0:
        raise unsupported("the sampling interval must be positive")
    if sample_type == "Percent":
        if interval > 100:
            raise unsupported("a percentage interval must be at most 100")
        period = duration * interval / 100.0
    elif sample_type == "Time":
        period = float(interval)
    else:
        raise unsupported(f"sample type {sample_type!r} is not Percent or Time")
    if duration <= 0 or period <= 0:
        return max(period, 1.0), 1
    count = max(1, math.ceil(duration / period - 1e-6))
    if count > MAX_SAMPLES:
        raise unsupported(f"the interval would produce {count} images (limit {MAX_SAMPLES})")
    return period, count


def sampling_chain(source: MediaProbe, period: float, count: int, out: str) -> str:
    """Filters producing exactly ``count`` frames, frame k being the one on screen at k*period.

    Tencent's rule: the first image is the first frame and image k belongs at
    k x interval (its WebVTT cue start). ``fps`` with ``round=up`` maps a frame
    starting at t to slot ceil(t/period) and keeps the latest frame per slot,
    i.e. slot k gets the last frame starting at or before k*period. Timestamps
    are moved to microseconds and 50 µs earlier first, so a frame starting
    exactly on k*period (1.2 s at 25 fps) is not pushed into the next slot by
    rounding. ``tpad`` extends the last picture by one period so the count can
    never fall short at the end, and ``trim`` cuts it to exactly ``count``.
    """
    stream = source.video_streams[0].index
    return (
        f"[0:{stream}]settb=1/1000000,setpts=PTS-50,"
        f"tpad=stop_mode=clone:stop_duration={period:.6f},"
        f"fps=fps=1/{period:.9f}:start_time=0:round=up,trim=end_frame={count}[{out}]"
    )


_LOOKBACK: Final = 2.0
"""Seconds decoded before a point snapshot's time, to find the frame on screen then."""


def shown_frame_chain(offset: float, src: str, out: str) -> tuple[float, str]:
    """(input seek, filter chain) giving, as ``[out]``, the frame on screen at ``offset``.

    An input seek alone yields the first frame starting at or after the seek
    point, one frame late between frames. So seek up to ``_LOOKBACK`` s
    earlier and let :func:`sampling_chain`'s rule pick slot 1: the last frame
    starting at or before ``offset``. ``tpad`` keeps the last frame on screen
    past the end, so an offset at the very end shows the real last frame.
    """
    if offset <= 0:
        return 0.0, f"[{src}]null[{out}]"
    back = min(offset, _LOOKBACK)
    chain = (
        f"[{src}]settb=1/1000000,setpts=PTS-50,"
        f"tpad=stop_mode=clone:stop_duration={2 * back:.6f},"
        f"fps=fps=1/{back:.9f}:start_time=0:round=up,trim=start_frame=1:end_frame=2[{out}]"
    )
    return offset - back, chain


async def _seek_shots(
    input_path: Path,
    source: MediaProbe,
    shots: list[tuple[str, float]],
    spec: SnapshotByTimeOffsetSpec | CoverSpec,
    staging: Staging,
    *,
    on_progress: ProgressCallback | None,
    threads: int | None,
) -> list[SnapshotImage]:
    """Grab one frame per (file name, offset) by input seeking, in batches."""
    video = require_video(source)
    codec = image_codec(spec.format)
    width, height = plan_size(
        source.display_size, spec.width, spec.height, adaptive=spec.resolution_adaptive, even=False
    )
    fill = choose_fill(spec.width, spec.height, spec.fill_type)
    images: list[SnapshotImage] = []
    for first in range(0, len(shots), _SEEKS_PER_RUN):
        batch = shots[first : first + _SEEKS_PER_RUN]
        args: list[str] = []
        graph: list[str] = []
        outputs: list[str] = []
        marks = WatermarkInputs(len(batch))
        for k, (name, offset) in enumerate(batch):
            seek, pick = shown_frame_chain(offset, f"{k}:{video.index}", f"p{k}")
            args += ["-ss", f"{seek:.6f}", "-i", source_arg(input_path)]
            graph.append(pick + ";" + fit_filter(f"p{k}", f"f{k}", width, height, fill, f"g{k}"))
            graph.append(
                marks.chain(
                    f"f{k}",
                    f"o{k}",
                    spec.watermarks,
                    (width, height),
                    source.duration,
                    tag=f"w{k}",
                    still_at=offset,
                )
            )
            outputs += ["-map", f"[o{k}]", "-frames:v", "1", "-c:v", codec]
            outputs += [*image_quality(spec.format), *output_threads(threads)]
            outputs += ["-f", "image2", "-update", "1", str(staging.dir / name)]
        args += marks.args
        await run_op([*args, "-filter_complex", ";".join(graph), *outputs], 0.0, None, threads)
        for name, offset in batch:
            if not (staging.dir / name).exists():
                raise MediaOpError(CONTENT_MALFORMED, f"no frame could be decoded at {offset:g}s")
        images += await asyncio.gather(
            *(measure_image(staging.dir / n, staging.out_dir / n, t) for n, t in batch)
        )
        if on_progress is not None:
            result = on_progress(min(100.0, 100.0 * len(images) / len(shots)))
            if inspect.isawaitable(result):
                await result
    return images
