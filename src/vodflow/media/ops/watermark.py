"""Watermarks drawn inside an op's own filter graph (no second decode).

A :class:`Watermark` is resolved by core from a watermark template and a
``WatermarkSet`` item: an image file (PNG, JPEG, GIF; an SVG arrives here
already rasterised by :func:`rasterize_svg`) or a text file drawn with a font
file. Sizes and positions keep Tencent's notation (``"10%"``, ``"100px"``,
``"10W%"``...) and are resolved here against the frame they are drawn on, so one
watermark fits every rendition of a run. :class:`WatermarkInputs` hands out the
extra ``-i`` inputs of one ffmpeg run and builds the chain of
``overlay``/``drawtext`` filters between two labels of the caller's graph.

Time windows are Tencent's: ``start``/``end`` in seconds, 0 meaning "from the
beginning"/"to the end", a negative value counting back from the end of the
output; they become ``enable='between(t,a,b)'`` on the frames' output times.
"""

from __future__ import annotations

import io
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any, Final

import av
import av.error

from vodflow.media.errors import FFmpegError
from vodflow.media.ffmpeg import run_ffmpeg
from vodflow.media.ops._common import op_error, unsupported
from vodflow.media.sniff import declared_image_size
from vodflow.media.untrusted import MAX_PIXELS, open_options

ORIGINS: Final = frozenset({"TopLeft", "TopRight", "BottomLeft", "BottomRight"})
REPEAT_TYPES: Final = frozenset({"once", "repeat_last_frame", "repeat"})
SVG_BOX: Final = 2048
"""SVGs are rasterised to fit this square, then scaled down to their size on each frame."""

# Tencent's two FontType values and the fonts installed with vodflow's dependencies
# (pyproject.toml) that stand in for them: a Latin sans for arial.ttf, and for
# simkai.ttf ("Chinese and English") a font with the CJK ideographs.
_FONTS: Final = {
    "arial.ttf": ("font_roboto", "files/Roboto-Regular.ttf"),
    "simkai.ttf": ("cvttf_NotoSansCJK_Regular", "NotoSansCJKtc-Regular.otf"),
}
FONT_TYPES: Final = frozenset(_FONTS)

_UNSAFE: Final = frozenset("'\\:,;[]=")
_LENGTH = re.compile(r"^(\d+(?:\.\d+)?)(px|%|W%|H%|S%|L%)$")


@dataclass(frozen=True, slots=True)
class Watermark:
    """One watermark to draw. ``kind`` is ``image`` (also rasterised SVGs) or ``text``."""

    kind: str
    path: Path
    """The image, or for text the UTF-8 file holding the text."""
    origin: str = "TopLeft"
    x: str = "0px"
    y: str = "0px"
    width: str = "10%"
    height: str = "0px"
    """Image sizes; ``%`` of the frame's width (width) or height (height), ``0px`` keeps
    the image's aspect ratio. SVGs use ``W%``/``H%``/``S%``/``L%`` too."""
    natural: tuple[int, int] = (0, 0)
    """An SVG's own size in pixels, for ``0px`` x ``0px`` (0, 0 for images)."""
    animated: bool = False
    repeat: str = "repeat"
    opacity: float = 1.0
    font: Path | None = None
    font_size: int = 16
    font_color: str = "0xFFFFFF"
    start: float = 0.0
    end: float = 0.0
    definition: int = 0


MAX_IMAGE_SIDE: Final = 4096
"""Largest width or height of a watermark image (Tencent's px sizes go up to 4096 too)."""

# Watermark image formats Tencent accepts, by their first bytes: (extension, demuxer).
_MAGIC: Final = (
    (b"\x89PNG\r\n\x1a\n", "png", "png_pipe"),
    (b"\xff\xd8\xff", "jpg", "jpeg_pipe"),
    (b"GIF87a", "gif", "gif"),
    (b"GIF89a", "gif", "gif"),
)


def check_image(data: bytes) -> tuple[str, int, int]:
    """(extension, width, height) of a PNG, JPEG or GIF that really decodes.

    Raises ``ValueError`` saying what is wrong: another format, a declared size
    over :data:`MAX_IMAGE_SIDE` (refused before decoding), or no decodable picture.
    """
    found = next(((ext, fmt) for magic, ext, fmt in _MAGIC if data.startswith(magic)), None)
    if found is None:
        raise ValueError("the image is not a PNG, JPEG or GIF")
    declared = declared_image_size(data[: 64 * 1024])
    if declared is not None and max(declared) > MAX_IMAGE_SIDE:
        raise ValueError(f"the image is larger than {MAX_IMAGE_SIDE}x{MAX_IMAGE_SIDE} pixels")
    ext, fmt = found
    try:
        container: Any
        with av.open(io.BytesIO(data), format=fmt, options=open_options([fmt])) as container:
            stream = container.streams.video[0]
            if stream.codec_context is not None:
                stream.codec_context.options = {"max_pixels": MAX_PIXELS}
            for frame in container.decode(stream):
                if max(frame.width, frame.height) > MAX_IMAGE_SIDE:
                    break
                return ext, frame.width, frame.height
    except (av.error.FFmpegError, IndexError, ValueError):
        pass
    raise ValueError("the image cannot be decoded (or is too large)")


def font_file(font_type: str) -> Path:
    """The font file drawing Tencent's ``FontType``."""
    found = _FONTS.get(font_type)
    if found is None:
        raise unsupported(f"font type {font_type!r} is not arial.ttf or simkai.ttf")
    return Path(str(files(found[0]).joinpath(found[1])))


def window(start: float, end: float, duration: float) -> tuple[float, float] | None:
    """Tencent's offsets as (from, to) seconds of the output; None: never shown."""
    a = start if start >= 0 else max(0.0, duration + start)
    b = end if end > 0 else (math.inf if end == 0 else duration + end)
    return (a, b) if b > a else None


def shown_at(mark: Watermark, t: float, duration: float) -> bool:
    """Whether ``mark`` is on a still taken ``t`` seconds into the media."""
    span = window(mark.start, mark.end, duration)
    return span is not None and span[0] <= t <= span[1]


def _length(value: str, frame: tuple[int, int], axis: int, natural: int) -> int:
    """A Tencent length in pixels on a ``frame`` (W, H); -1 keeps the aspect ratio."""
    m = _LENGTH.match(value.strip())
    if m is None:
        raise unsupported(f"watermark size {value!r} is not N px or N %")
    number, unit = float(m.group(1)), m.group(2)
    if unit == "px":
        return round(number) if number > 0 else -1
    base = {
        "%": frame[axis],
        "W%": frame[0],
        "H%": frame[1],
        "S%": min(frame),
        "L%": max(frame),
    }[unit]
    return max(1, round(base * number / 100)) if number > 0 else -1


def size_on(mark: Watermark, frame: tuple[int, int]) -> tuple[int, int]:
    """(width, height) of an image watermark on ``frame``; -1 follows the aspect ratio."""
    w = _length(mark.width, frame, 0, mark.natural[0])
    h = _length(mark.height, frame, 1, mark.natural[1])
    if w < 0 and h < 0:
        # 0px x 0px: an SVG's own size; an image's own size.
        return mark.natural if mark.natural != (0, 0) else (-1, -1)
    return w, h


def _position(value: str, extent: int) -> int:
    m = _LENGTH.match(value.strip())
    if m is None or m.group(2) not in ("px", "%"):
        raise unsupported(f"watermark position {value!r} is not N px or N %")
    number = float(m.group(1))
    return round(number) if m.group(2) == "px" else round(extent * number / 100)


def _xy(mark: Watermark, frame: tuple[int, int], ow: str, oh: str) -> tuple[str, str]:
    """overlay/drawtext expressions placing the mark's corner at its origin."""
    x, y = _position(mark.x, frame[0]), _position(mark.y, frame[1])
    right = mark.origin in ("TopRight", "BottomRight")
    bottom = mark.origin in ("BottomLeft", "BottomRight")
    return (f"W-{ow}-{x}" if right else str(x)), (f"H-{oh}-{y}" if bottom else str(y))


def _safe(path: Path) -> str:
    text = str(path)
    if any(c in _UNSAFE for c in text):
        raise unsupported(f"watermark file path {text!r} cannot be put in a filter graph")
    return text


def _enable(mark: Watermark, duration: float, still_at: float | None) -> str | None:
    """``:enable=...`` for a moving picture; for a still, "" (shown) or None (not)."""
    if still_at is not None:
        return "" if shown_at(mark, still_at, duration) else None
    span = window(mark.start, mark.end, duration)
    if span is None:
        return None
    a, b = span
    if a <= 0 and math.isinf(b):
        return ""
    cond = f"gte(t\\,{a:.6f})" if math.isinf(b) else f"between(t\\,{a:.6f}\\,{b:.6f})"
    return f":enable='{cond}'"


class WatermarkInputs:
    """The extra inputs of one ffmpeg run; ``first`` is the index the first one gets."""

    def __init__(self, first: int) -> None:
        self.next = first
        self.args: list[str] = []

    def _input(self, mark: Watermark) -> int:
        if mark.animated and mark.repeat == "repeat":
            self.args += ["-stream_loop", "-1"]
        self.args += ["-i", str(mark.path)]
        self.next += 1
        return self.next - 1

    def chain(
        self,
        src: str,
        dst: str,
        marks: Sequence[Watermark],
        frame: tuple[int, int],
        duration: float,
        *,
        tag: str,
        still_at: float | None = None,
    ) -> str:
        """Filters drawing ``marks`` (in order, later ones on top) from ``[src]`` to ``[dst]``.

        ``frame`` is the size of the pictures at ``src``; ``duration`` the output's
        (for offsets counted from its end); ``still_at`` the media time of a still
        image (snapshots), decided here instead of per frame.
        """
        parts: list[str] = []
        label = src
        for k, mark in enumerate(marks):
            enable = _enable(mark, duration, still_at)
            if enable is None:
                continue
            out = f"{tag}o{k}"
            if mark.kind == "text":
                parts.append(f"[{label}]{self._text(mark, frame)}{enable}[{out}]")
            else:
                n = self._input(mark)
                w, h = size_on(mark, frame)
                fit = f"scale={w}:{h}," if (w, h) != (-1, -1) else ""
                alpha = f",colorchannelmixer=aa={mark.opacity:.4f}" if mark.opacity < 1 else ""
                x, y = _xy(mark, frame, "w", "h")
                eof = "repeat" if mark.repeat != "once" else "pass"
                shortest = ":shortest=1" if mark.animated and mark.repeat == "repeat" else ""
                parts.append(f"[{n}:v]{fit}format=rgba{alpha}[{tag}i{k}]")
                parts.append(
                    f"[{label}][{tag}i{k}]overlay=x={x}:y={y}:eof_action={eof}"
                    f"{shortest}:format=auto{enable}[{out}]"
                )
            label = out
        parts.append(f"[{label}]null[{dst}]")
        return ";".join(parts)

    @staticmethod
    def _text(mark: Watermark, frame: tuple[int, int]) -> str:
        if mark.font is None:
            raise unsupported("a text watermark needs a font")
        x, y = _xy(mark, frame, "tw", "th")
        color = f"{mark.font_color}@{mark.opacity:.4f}"
        return (
            f"drawtext=fontfile={_safe(mark.font)}:textfile={_safe(mark.path)}:expansion=none"
            f":fontsize={mark.font_size}:fontcolor={color}:x={x}:y={y}"
        )


def svg_natural_size(svg: str) -> tuple[int, int]:
    """The size an SVG declares (width/height in px, else its viewBox), capped at 4096."""
    head = svg[: svg.find(">", svg.find("<svg")) + 1] if "<svg" in svg else ""

    def attr(name: str) -> str | None:
        m = re.search(rf"\s{name}\s*=\s*[\"']([^\"']*)[\"']", head)
        return m.group(1).strip() if m else None

    def number(value: str | None) -> float:
        m = re.match(r"^(\d+(?:\.\d+)?)(px)?$", value or "")
        return float(m.group(1)) if m else 0.0

    w, h = number(attr("width")), number(attr("height"))
    if not (w and h):
        box = (attr("viewBox") or "").replace(",", " ").split()
        if len(box) == 4:
            w, h = number(box[2]), number(box[3])
    if not (w and h):
        return SVG_BOX, SVG_BOX
    scale = min(1.0, 4096 / max(w, h))
    return max(1, round(w * scale)), max(1, round(h * scale))


async def rasterize_svg(svg_path: Path, png_path: Path, *, threads: int | None = None) -> None:
    """Render an SVG (librsvg) into a PNG that fits :data:`SVG_BOX`, aspect kept.

    Rendering into a bounded box keeps a hostile ``width="100000"`` cheap; the
    PNG is then scaled down to its place on each frame. Raises ``MediaOpError``
    (``SourceFileError.ContentMalformed``...) when librsvg cannot read it.
    """
    box = str(SVG_BOX)
    args = ["-width", box, "-height", box, "-keep_ar", "1", "-f", "svg_pipe"]
    args += ["-i", os.fspath(svg_path), "-frames:v", "1", "-c:v", "png", "-f", "image2"]
    args += ["-update", "1", os.fspath(png_path)]
    try:
        await run_ffmpeg(args, timeout=60, threads=threads, extra_formats=("svg_pipe",))
    except FFmpegError as exc:
        raise op_error(exc) from exc
    if not png_path.is_file():
        raise unsupported("the SVG watermark could not be rendered")
