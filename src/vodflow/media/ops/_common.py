"""What every op shares: staging outputs, reading the source, geometry, errors.

Ops write into a private hidden directory inside ``out_dir`` and move the
finished files into place with ``os.replace`` only after ffmpeg succeeded and
the outputs were measured. A reader of ``out_dir`` therefore sees either
nothing or complete outputs; a failure or cancellation removes the staging
directory. (A process killed outright leaves a ``.vodflow-staging-*``
directory behind, which is safe to delete at any time.)
"""

from __future__ import annotations

import asyncio
import math
import os
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Final

from vodflow.media.errors import (
    CONFIGURATION_UNSUPPORTED,
    CONTENT_MALFORMED,
    INTERNAL_ERROR,
    INVALID_TIME_OFFSET,
    NO_VIDEO_MEDIA,
    FFmpegError,
    MediaOpError,
    ProbeError,
)
from vodflow.media.ffmpeg import ProgressCallback, run_ffmpeg, timeout_for
from vodflow.media.probe import MediaProbe, VideoStreamInfo, probe, probe_playlist

STAGING_PREFIX: Final = ".vodflow-staging-"
FILL_TYPES: Final = frozenset({"stretch", "black", "white", "gauss"})
IMAGE_FORMATS: Final = {"jpg": "mjpeg", "jpeg": "mjpeg", "png": "png", "webp": "libwebp"}

_MALFORMED_HINTS: Final = (
    "invalid data found",
    "error while decoding",
    "moov atom not found",
    "corrupt",
    "truncat",
    "could not find codec parameters",
    "no frame",
)
_CONFIG_HINTS: Final = (
    "error while opening encoder",
    "error initializing output stream",
    "could not open encoder",
    "incorrect parameters",
    "not supported",
    "unsupported",
    "invalid argument",
)


class Staging:
    """A hidden directory in ``out_dir`` where an op builds its outputs.

    Use as a context manager; :meth:`commit` moves named entries into
    ``out_dir`` (directories first is the caller's job: a playlist should
    appear after its segments), and leaving the block removes whatever was
    not committed.
    """

    def __init__(self, out_dir: str | os.PathLike[str]) -> None:
        self.out_dir = Path(out_dir).absolute()  # "x:y/out.mp4" must not read as a URL
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.dir = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=self.out_dir))

    def __enter__(self) -> Staging:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)

    def final(self, staged: Path) -> Path:
        """Where a staged path will live once committed."""
        return self.out_dir / staged.relative_to(self.dir)

    def commit(self, names: Iterable[str]) -> None:
        """Move top-level entries into ``out_dir``, replacing older ones, in order."""
        for name in names:
            source, target = self.dir / name, self.out_dir / name
            if target.is_dir() and not target.is_symlink():
                # os.replace cannot overwrite a non-empty directory: move the
                # old one aside (into staging, removed on exit) first.
                target.rename(self.dir / f".old-{name}")
            os.replace(source, target)


@dataclass(frozen=True, slots=True)
class SnapshotImage:
    """One image an op wrote, measured. ``time_offset`` is in seconds."""

    path: Path
    time_offset: float
    width: int
    height: int
    size: int
    md5: str


def source_arg(path: str | os.PathLike[str]) -> str:
    """The input as ffmpeg must see it: absolute, so no prefix reads as a protocol."""
    return os.path.abspath(path)


async def read_source(path: str | os.PathLike[str], known: MediaProbe | None = None) -> MediaProbe:
    """Probe the input of an op, turning refusal into the op's error type.

    `known`: what probing this very file gives, if the caller has it (a media's
    probe stored at ingest, media.probe.stored_probe): used as it is.
    """
    if known is not None:
        return known
    try:
        return await asyncio.to_thread(probe, path, md5=False)
    except ProbeError as exc:
        raise MediaOpError(exc.code, exc.message) from exc


async def measure(path: Path) -> MediaProbe:
    """Probe an output; an output we cannot read back is our bug, not the user's."""
    try:
        return await asyncio.to_thread(probe, path)
    except ProbeError as exc:
        raise MediaOpError(INTERNAL_ERROR, f"output could not be measured: {exc.message}") from exc


async def measure_playlist(path: Path) -> MediaProbe:
    """Probe an HLS media playlist we wrote (size includes its segments)."""
    try:
        return await asyncio.to_thread(probe_playlist, path)
    except ProbeError as exc:
        raise MediaOpError(INTERNAL_ERROR, f"output could not be measured: {exc.message}") from exc


async def measure_image(path: Path, final: Path, time_offset: float) -> SnapshotImage:
    media = await measure(path)
    return SnapshotImage(
        path=final,
        time_offset=round(time_offset, 3),
        width=media.width,
        height=media.height,
        size=media.size,
        md5=media.md5,
    )


def require_video(source: MediaProbe) -> VideoStreamInfo:
    """The stream to process, or ``SourceFileError.NoVideoMedia``."""
    if not source.video_streams:
        raise MediaOpError(NO_VIDEO_MEDIA, "the source has no video stream")
    if source.is_image:
        raise MediaOpError(NO_VIDEO_MEDIA, "the source is a still image, not video")
    return source.video_streams[0]


def media_duration(source: MediaProbe, override: float | None = None) -> float:
    """The duration ops reason about: the caller's if given, else the measured one."""
    if override and override > 0:
        return override
    return source.video_duration or source.duration


def check_offset(offset: float, duration: float, what: str = "time offset") -> None:
    if not math.isfinite(offset) or offset < 0 or offset > duration:
        raise MediaOpError(
            INVALID_TIME_OFFSET, f"{what} {offset:g}s is outside the media (0-{duration:g}s)"
        )


def op_error(exc: FFmpegError) -> MediaOpError:
    """Classify an ffmpeg failure: bad source, bad configuration, or ours."""
    if exc.timed_out:
        return MediaOpError(INTERNAL_ERROR, "processing timed out")
    tail = exc.stderr_tail.lower()
    if any(hint in tail for hint in _MALFORMED_HINTS):
        return MediaOpError(CONTENT_MALFORMED, f"the source could not be decoded: {exc.message}")
    if any(hint in tail for hint in _CONFIG_HINTS):
        return MediaOpError(
            CONFIGURATION_UNSUPPORTED, f"ffmpeg refused the settings: {exc.message}"
        )
    return MediaOpError(INTERNAL_ERROR, f"ffmpeg failed: {exc.message}")


async def run_op(
    args: list[str],
    duration: float,
    on_progress: ProgressCallback | None,
    threads: int | None,
) -> None:
    """:func:`run_ffmpeg` with the default timeout and ffmpeg failures classified."""
    try:
        await run_ffmpeg(
            args,
            duration=duration,
            on_progress=on_progress,
            timeout=timeout_for(duration),
            threads=threads,
        )
    except FFmpegError as exc:
        raise op_error(exc) from exc


def unsupported(message: str) -> MediaOpError:
    return MediaOpError(CONFIGURATION_UNSUPPORTED, message)


def check_name(name: str) -> str:
    """An output base name must be a plain file name (it also becomes an ffmpeg pattern)."""
    if not name or name.startswith(".") or any(c in name for c in "/\\%\0"):
        raise unsupported(f"output name {name!r} is not a plain file name")
    return name


def output_threads(threads: int | None) -> list[str]:
    """Per-output encoder thread cap (``run_ffmpeg`` caps decoders and filters)."""
    return ["-threads", str(threads)] if threads else []


# --- geometry ---------------------------------------------------------------


def _even(value: float) -> int:
    return max(2, round(value / 2.0) * 2)


def plan_size(
    source: tuple[int, int],
    width: int,
    height: int,
    *,
    adaptive: bool = True,
    even: bool = True,
) -> tuple[int, int]:
    """Output (width, height) for a source displayed at ``source``.

    Tencent's rules: 0 for both keeps the source size; 0 for one side makes
    it proportional; both set is that box (the fill type handles aspect). With
    ``adaptive`` on, ``width`` is the long side and ``height`` the short
    side, so a portrait source gets the sides swapped. ``even`` rounds to
    even numbers, which 4:2:0 video encoders require.

    Width and Height are *maxima* (the SDK: 宽度（或长边）的最大值, for video,
    snapshots, sprites and animations alike): a source smaller than the
    asked size is never upscaled. The planned size is scaled down, keeping
    its shape, until it fits inside the source (docs/templates.md).
    """
    src_w, src_h = source
    if src_w <= 0 or src_h <= 0:
        raise MediaOpError(CONTENT_MALFORMED, "the source has no picture size")
    if width < 0 or height < 0:
        raise unsupported("width and height must not be negative")
    if adaptive and src_h > src_w:
        width, height = height, width
    if not width and not height:
        out_w, out_h = float(src_w), float(src_h)
    elif not width:
        out_w, out_h = src_w * height / src_h, float(height)
    elif not height:
        out_w, out_h = float(width), src_h * width / src_w
    else:
        out_w, out_h = float(width), float(height)
    fit = min(1.0, src_w / out_w, src_h / out_h)
    out_w, out_h = out_w * fit, out_h * fit
    if even:
        return _even(out_w), _even(out_h)
    return max(1, round(out_w)), max(1, round(out_h))


def choose_fill(width: int, height: int, fill_type: str) -> str:
    """The fill type to apply: validated, and moot unless both sides are fixed."""
    if fill_type not in FILL_TYPES:
        raise unsupported(f"fill type {fill_type!r} is not supported")
    return fill_type if width and height else "stretch"


def fit_filter(src: str, dst: str, width: int, height: int, fill_type: str, tag: str) -> str:
    """A filter_complex fragment scaling ``[src]`` into exactly ``width``x``height`` as ``[dst]``.

    ``stretch`` distorts; ``black``/``white`` letterbox; ``gauss`` puts the
    picture over a blurred, cropped copy of itself. ``tag`` keeps the
    internal labels of several fragments in one graph apart.
    """
    if fill_type not in FILL_TYPES:
        raise unsupported(f"fill type {fill_type!r} is not supported")
    size = f"{width}:{height}"
    if fill_type == "stretch":
        return f"[{src}]scale={size},setsar=1[{dst}]"
    fit = f"scale={size}:force_original_aspect_ratio=decrease:force_divisible_by=2"
    if fill_type in ("black", "white"):
        pad = f"pad={size}:(ow-iw)/2:(oh-ih)/2:color={fill_type}"
        return f"[{src}]{fit},{pad},setsar=1[{dst}]"
    cover = f"scale={size}:force_original_aspect_ratio=increase,crop={size},gblur=sigma=20"
    return (
        f"[{src}]split=2[{tag}bg][{tag}fg];"
        f"[{tag}bg]{cover}[{tag}bb];"
        f"[{tag}fg]{fit}[{tag}ff];"
        f"[{tag}bb][{tag}ff]overlay=(W-w)/2:(H-h)/2,setsar=1[{dst}]"
    )


def image_codec(fmt: str) -> str:
    codec = IMAGE_FORMATS.get(fmt.lower())
    if codec is None:
        raise unsupported(f"image format {fmt!r} is not supported (jpg, png, webp)")
    return codec


def image_quality(fmt: str) -> list[str]:
    """High-quality JPEG (q 2 of 2-31) and WebP (quality 90, lossy); PNG is lossless anyway."""
    codec = IMAGE_FORMATS.get(fmt.lower())
    if codec == "mjpeg":
        return ["-q:v", "2"]
    if codec == "libwebp":
        return ["-quality", "90", "-lossless", "0"]
    return []


def image_ext(fmt: str) -> str:
    return "jpg" if fmt.lower() in ("jpg", "jpeg") else fmt.lower()
