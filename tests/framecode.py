"""Reading back the frame numbers of tests.mediagen.make_counter_video, with PyAV only."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import av

from tests.mediagen import COUNTER_BITS, ffmpeg


def frame_number(frame: Any, box: tuple[int, int, int, int] | None = None) -> int:
    """The number a counter frame (decoded, any size, any pixel format) shows.

    ``box`` (x, y, w, h) reads one cell of a sprite sheet instead of the whole frame.
    """
    gray = frame.reformat(format="gray")
    plane = gray.planes[0]
    data = bytes(plane)
    stride = plane.line_size
    x0, y0, width, height = box or (0, 0, gray.width, gray.height)
    rows = range(y0 + height // 4, y0 + height * 3 // 4, max(1, height // 16))
    number = 0
    for bit in range(COUNTER_BITS):
        x = x0 + int((bit + 0.5) * width / COUNTER_BITS)
        level = sum(data[y * stride + x] for y in rows) / len(rows)
        if level > 128:
            number |= 1 << bit
    return number


def sheet_numbers(
    path: str | os.PathLike[str], boxes: list[tuple[int, int, int, int]]
) -> list[int]:
    """The counters shown in cells ``boxes`` of one sprite sheet."""
    with av.open(str(path)) as container:
        frame = next(container.decode(video=0))
        return [frame_number(frame, box) for box in boxes]


def image_number(path: str | os.PathLike[str]) -> int:
    """The counter shown by a still image (JPEG, PNG, WebP)."""
    with av.open(str(path)) as container:
        return frame_number(next(container.decode(video=0)))


def image_numbers(path: str | os.PathLike[str]) -> list[int]:
    """The counters of every frame of a file (an animation, a video).

    Animated WebP is unpacked by the ffmpeg binary (its decoder handles the
    ANMF chunks PyAV's libavcodec build does not) into PNGs read back here.
    """
    if str(path).endswith(".webp"):
        with tempfile.TemporaryDirectory() as tmp:
            ffmpeg("-i", str(path), "-fps_mode", "passthrough", f"{tmp}/f_%04d.png")
            return [image_number(png) for png in sorted(Path(tmp).glob("f_*.png"))]
    with av.open(str(path)) as container:
        return [frame_number(f) for f in container.decode(video=0)]


def source_frames(path: str | os.PathLike[str]) -> list[tuple[float, int]]:
    """(presentation time in s, counter) of each frame of a counter video, in order."""
    out = []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            out.append((float(frame.time), frame_number(frame)))
    return out


def shown_at(frames: list[tuple[float, int]], t: float) -> int:
    """The counter on screen at time ``t``: the last frame starting at or before it."""
    number = frames[0][1]
    for start, n in frames:
        if start <= t + 1e-6:
            number = n
        else:
            break
    return number
