"""Test-only cheap media: the final downscale of a rendition's filter graph.

With ``TranscodeSpec.cheap`` (set by core only under the test-only setting
``VODFLOW_TEST_CHEAP_MEDIA``) FFmpeg still decodes, filters (fit, fill,
watermarks) and encodes every rendition, but the picture is shrunk last to at
most ``LONG_SIDE`` pixels on its long side at ``FPS`` frames a second, so an
application's test suite of many flows costs seconds. The file is then
*not* what the template asked for: core reports the template's shape instead
of the measurement (core/cheap_media.py), which is why the mode must never be
on in production.
"""

from __future__ import annotations

from typing import Final

LONG_SIDE: Final = 64
FPS: Final = 5


def tiny_size(size: tuple[int, int]) -> tuple[int, int]:
    """``size`` scaled to fit ``LONG_SIDE``, keeping its shape, even (4:2:0), at least 2."""
    width, height = size
    scale = min(1.0, LONG_SIDE / max(width, height, 1))

    def even(n: float) -> int:
        return max(2, int(n) // 2 * 2)

    return even(width * scale), even(height * scale)


def shrink(size: tuple[int, int], cheap: bool) -> str:
    """Filters (ending in a comma) to put before the final pixel format; "" when not cheap."""
    if not cheap:
        return ""
    width, height = tiny_size(size)
    return f"scale={width}:{height},setsar=1,fps={FPS},"
