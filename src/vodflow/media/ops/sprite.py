"""Image sprites: thumbnails tiled into sheets, plus a WebVTT index of them.

Players show a scrubbing preview by looking up the cue for a time and
cropping ``sheet.jpg#xywh=x,y,w,h`` (the media-fragment syntax). One ffmpeg
run samples the video (see :func:`snapshot.sampling_chain`), scales each
sample and lets ``tile`` lay them out row by row; the last sheet is padded
with black cells, so every sheet has the same size.
"""

from __future__ import annotations

import asyncio
import math
import os
from dataclasses import dataclass
from pathlib import Path

from vodflow.media.ffmpeg import ProgressCallback
from vodflow.media.ops._common import (
    Staging,
    check_name,
    choose_fill,
    fit_filter,
    image_codec,
    image_ext,
    image_quality,
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
from vodflow.media.ops.snapshot import sample_plan, sampling_chain
from vodflow.media.probe import MediaProbe, file_md5


@dataclass(frozen=True, slots=True)
class ImageSpritesSpec:
    """Sampling as in sample snapshots; ``width``/``height`` are one thumbnail's size."""

    sample_type: str = "Percent"
    interval: float = 10.0
    width: int = 0
    height: int = 0
    row_count: int = 10
    column_count: int = 10
    format: str = "jpg"
    resolution_adaptive: bool = True
    fill_type: str = "black"
    name: str = "sprite"
    url_prefix: str = ""
    """Prepended to sheet file names in the WebVTT cues (e.g. the sheets' public URL base)."""


@dataclass(frozen=True, slots=True)
class ImageFile:
    path: Path
    width: int
    height: int
    size: int
    md5: str


@dataclass(frozen=True, slots=True)
class ImageSpritesResult:
    sheets: tuple[ImageFile, ...]
    vtt: ImageFile
    """The WebVTT index (width/height 0)."""
    cue_count: int
    thumbnail_width: int
    thumbnail_height: int
    interval: float
    """Seconds between thumbnails."""
    per_sheet: int = 0
    """Thumbnails in one sheet (rows x columns, or all of them when one sheet is not full)."""


async def image_sprites(
    input_path: str | os.PathLike[str],
    spec: ImageSpritesSpec,
    out_dir: str | os.PathLike[str],
    *,
    on_progress: ProgressCallback | None = None,
    threads: int | None = None,
    duration: float | None = None,
    source_probe: MediaProbe | None = None,
) -> ImageSpritesResult:
    """Write ``<name>_<i>.<format>`` sheets and ``<name>.vtt``.

    Raises ``InvalidInput.ConfigurationUnsupported`` (bad grid, interval or
    format), ``SourceFileError.NoVideoMedia``, ``SourceFileError.ContentMalformed``.
    """
    if not 1 <= spec.row_count <= 100 or not 1 <= spec.column_count <= 100:
        raise unsupported("row and column counts must be between 1 and 100")
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
    per_sheet = spec.row_count * spec.column_count
    sheets = math.ceil(count / per_sheet)
    sheet_names = [f"{spec.name}_{i}.{ext}" for i in range(sheets)]
    vtt_name = f"{spec.name}.vtt"

    with Staging(out_dir) as staging:
        graph = sampling_chain(source, period, count, "sampled")
        graph += ";" + fit_filter("sampled", "thumb", width, height, fill, tag="f")
        graph += f";[thumb]tile={spec.column_count}x{spec.row_count}[out]"
        args = ["-i", source_arg(input_path), "-filter_complex", graph, "-map", "[out]"]
        args += ["-fps_mode", "passthrough", "-c:v", codec, *image_quality(spec.format)]
        args += output_threads(threads)
        args += ["-f", "image2", "-start_number", "0", str(staging.dir / f"{spec.name}_%d.{ext}")]
        await run_op(args, total, on_progress, threads)

        vtt_path = staging.dir / vtt_name
        vtt_path.write_text(
            webvtt(count, period, total, width, height, spec, sheet_names), encoding="utf-8"
        )
        measured = await asyncio.gather(*(measure(staging.dir / n) for n in sheet_names))
        vtt = ImageFile(
            path=staging.out_dir / vtt_name,
            width=0,
            height=0,
            size=vtt_path.stat().st_size,
            md5=await asyncio.to_thread(file_md5, vtt_path),
        )
        staging.commit([*sheet_names, vtt_name])
    return ImageSpritesResult(
        sheets=tuple(
            ImageFile(staging.out_dir / n, m.width, m.height, m.size, m.md5)
            for n, m in zip(sheet_names, measured, strict=True)
        ),
        vtt=vtt,
        cue_count=count,
        thumbnail_width=width,
        thumbnail_height=height,
        interval=round(period, 6),
        per_sheet=min(count, per_sheet),
    )


def webvtt(
    count: int,
    period: float,
    duration: float,
    width: int,
    height: int,
    spec: ImageSpritesSpec,
    sheet_names: list[str],
) -> str:
    """The cue list: thumbnail k covers [k*period, (k+1)*period) clipped to the duration."""
    per_sheet = spec.row_count * spec.column_count
    lines = ["WEBVTT", ""]
    for k in range(count):
        start = k * period
        end = min((k + 1) * period, duration) if duration > start else start + period
        cell = k % per_sheet
        x, y = (cell % spec.column_count) * width, (cell // spec.column_count) * height
        sheet = spec.url_prefix + sheet_names[k // per_sheet]
        lines += [
            f"{_timestamp(start)} --> {_timestamp(end)}",
            f"{sheet}#xywh={x},{y},{width},{height}",
            "",
        ]
    return "\n".join(lines)


def _timestamp(seconds: float) -> str:
    millis = round(seconds * 1000)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{millis:03d}"
