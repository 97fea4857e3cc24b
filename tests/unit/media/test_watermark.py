"""media/ops/watermark.py on real FFmpeg: GIF repeat types, SVG sizes, image checks, windows."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path
from typing import Any

import av
import pytest

from tests.mediagen import ffmpeg, make_huge_png_header
from vodflow.media.errors import MediaError
from vodflow.media.ops import TranscodeSpec, VideoSpec, transcode
from vodflow.media.ops.watermark import (
    Watermark,
    check_image,
    font_file,
    rasterize_svg,
    size_on,
    svg_natural_size,
    window,
)


def _rgb(frame: Any, x: int, y: int) -> tuple[int, int, int]:
    plane = frame.reformat(format="rgb24").planes[0]
    data, i = bytes(plane), y * plane.line_size + 3 * x
    return data[i], data[i + 1], data[i + 2]


@pytest.fixture(scope="module")
def black(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("wm") / "black.mp4"
    ffmpeg("-f", "lavfi", "-i", "color=c=black:s=320x240:r=25:d=3", "-c:v", "libx264",
           "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(path))  # fmt: skip
    return path


@pytest.fixture(scope="module")
def gif(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Red for 0.5 s, then green for 0.5 s, looping."""
    path = tmp_path_factory.mktemp("wm") / "a.gif"
    ffmpeg("-f", "lavfi", "-i", "color=c=red:s=40x20:r=2:d=0.5", "-f", "lavfi",
           "-i", "color=c=lime:s=40x20:r=2:d=0.5", "-filter_complex", "[0][1]concat=n=2:v=1",
           "-loop", "0", str(path))  # fmt: skip
    return path


@pytest.mark.parametrize(
    ("repeat", "at_2s"),
    [("repeat", "red-or-green"), ("repeat_last_frame", "green"), ("once", "black")],
)
def test_gif_repeat_types(black: Path, gif: Path, tmp_path: Path, repeat: str, at_2s: str) -> None:
    mark = Watermark("image", gif, x="20px", y="10px", width="40px", animated=True, repeat=repeat)
    spec = TranscodeSpec(name="o", watermarks=(mark,), video=VideoSpec(fps=25))
    result = asyncio.run(transcode(black, spec, tmp_path))
    assert result.duration == pytest.approx(3.0, abs=0.1)  # the GIF never lengthens it
    seen: dict[float, tuple[int, int, int]] = {}
    with av.open(str(result.path)) as container:
        for frame in container.decode(video=0):
            for t in (0.2, 2.2):
                if t not in seen and float(frame.time or 0) >= t:
                    seen[t] = _rgb(frame, 40, 20)
    r, g, b = seen[0.2]
    assert r > 200 and g < 60  # the first GIF frame, whatever the repeat type
    r, g, b = seen[2.2]
    if at_2s == "green":
        assert g > 200 and r < 60
    elif at_2s == "black":
        assert max(r, g, b) < 40
    else:
        assert max(r, g) > 200 and b < 60


def test_svg_is_rendered_in_a_bounded_box_and_sized_by_the_frame(tmp_path: Path) -> None:
    svg = tmp_path / "a.svg"
    svg.write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" width="100000" height="50000">'
        '<rect width="100000" height="50000" fill="#00ff00"/></svg>'
    )
    png = tmp_path / "a.png"
    asyncio.run(rasterize_svg(svg, png))
    with av.open(str(png)) as container:
        frame = next(container.decode(video=0))
        assert (frame.width, frame.height) == (2048, 1024)
    assert svg_natural_size(svg.read_text()) == (4096, 2048)
    assert svg_natural_size('<svg viewBox="0 0 40 20"></svg>') == (40, 20)
    mark = Watermark("image", png, natural=(40, 20), width="10S%", height="0px")
    assert size_on(mark, (640, 360)) == (36, -1)
    assert size_on(Watermark("image", png, natural=(40, 20), width="0px"), (640, 360)) == (40, 20)
    assert size_on(Watermark("image", png, width="10L%", height="50H%"), (640, 360)) == (64, 180)
    bad = tmp_path / "bad.svg"
    bad.write_text("<svg this is not xml")
    with pytest.raises(MediaError):
        asyncio.run(rasterize_svg(bad, tmp_path / "bad.png"))


def test_images_are_checked_by_decoding(tmp_path: Path) -> None:
    png = tmp_path / "x.png"
    ffmpeg("-f", "lavfi", "-i", "color=c=red:s=30x10", "-frames:v", "1", str(png))
    assert check_image(png.read_bytes()) == ("png", 30, 10)
    huge = make_huge_png_header(tmp_path / "huge.png", width=5000, height=10).read_bytes()
    for data in (b"GIF89a", b"<svg/>", png.read_bytes()[:50], huge):
        with pytest.raises(ValueError):
            check_image(data)
    assert font_file("arial.ttf").is_file() and font_file("simkai.ttf").is_file()


def test_time_windows_follow_tencent_s_offsets() -> None:
    assert window(0, 0, 10) == (0, math.inf)
    assert window(2, 5, 10) == (2, 5)
    assert window(-3, 0, 10) == (7, math.inf)
    assert window(0, -2, 10) == (0, 8)
    assert window(6, 4, 10) is None
