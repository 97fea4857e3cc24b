"""Snapshots, covers, sampling, sprites and animated graphics on real generated video."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from tests.unit.media.conftest import Corpus
from vodflow.media.errors import (
    CONFIGURATION_UNSUPPORTED,
    INVALID_TIME_OFFSET,
    NO_VIDEO_MEDIA,
    MediaOpError,
)
from vodflow.media.ops import (
    AnimatedGraphicsSpec,
    CoverSpec,
    ImageSpritesSpec,
    SampleSnapshotSpec,
    SnapshotByTimeOffsetSpec,
    animated_graphics,
    cover_by_snapshot,
    image_sprites,
    sample_snapshot,
    snapshot_by_time_offsets,
)
from vodflow.media.ops.animated import read_gif, read_webp
from vodflow.media.probe import probe

CUE = re.compile(
    r"^(\d\d:\d\d:\d\d\.\d{3}) --> (\d\d:\d\d:\d\d\.\d{3})\n(\S+)#xywh=(\d+),(\d+),(\d+),(\d+)$",
    re.M,
)


def entries(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


async def test_snapshots_at_offsets(corpus: Corpus, tmp_path: Path) -> None:
    spec = SnapshotByTimeOffsetSpec(time_offsets=[0, 1.5, 4.0], width=160)
    result = await snapshot_by_time_offsets(corpus.clip, spec, tmp_path)
    assert [i.time_offset for i in result.images] == [0.0, 1.5, 4.0]  # 4.0 = the very end
    assert [i.path.name for i in result.images] == [
        "snapshot_0.jpg",
        "snapshot_1.jpg",
        "snapshot_2.jpg",
    ]
    for image in result.images:
        assert (image.width, image.height) == (160, 120)
        assert image.md5 == hashlib.md5(image.path.read_bytes()).hexdigest()
        assert probe(image.path).container == "jpeg_pipe"
    assert len({i.md5 for i in result.images}) == 3  # testsrc2 moves: different frames
    assert entries(tmp_path) == ["snapshot_0.jpg", "snapshot_1.jpg", "snapshot_2.jpg"]


@pytest.mark.parametrize("offset", [4.5, -1.0, float("nan")])
async def test_offset_outside_the_media(corpus: Corpus, tmp_path: Path, offset: float) -> None:
    spec = SnapshotByTimeOffsetSpec(time_offsets=[1.0, offset])
    with pytest.raises(MediaOpError) as info:
        await snapshot_by_time_offsets(corpus.clip, spec, tmp_path)
    assert info.value.code == INVALID_TIME_OFFSET
    assert entries(tmp_path) == []


async def test_snapshot_needs_video(corpus: Corpus, tmp_path: Path) -> None:
    for source in (corpus.audio_only, corpus.png):
        with pytest.raises(MediaOpError) as info:
            await snapshot_by_time_offsets(
                source, SnapshotByTimeOffsetSpec(time_offsets=[0]), tmp_path
            )
        assert info.value.code == NO_VIDEO_MEDIA


async def test_png_snapshot_at_source_size_of_rotated_video(corpus: Corpus, tmp_path: Path) -> None:
    spec = SnapshotByTimeOffsetSpec(time_offsets=[1.0], format="png")
    (image,) = (await snapshot_by_time_offsets(corpus.rotated, spec, tmp_path)).images
    assert (image.width, image.height) == (240, 320)  # as displayed
    assert probe(image.path).container == "png_pipe"


async def test_cover_by_percent_and_time(corpus: Corpus, tmp_path: Path) -> None:
    cover = await cover_by_snapshot(corpus.clip, CoverSpec("Percent", 50), tmp_path)
    assert cover.path == tmp_path / "cover.jpg" and cover.time_offset == pytest.approx(2.0)
    assert (cover.width, cover.height) == (320, 240)
    timed = await cover_by_snapshot(corpus.clip, CoverSpec("Time", 0, name="c0"), tmp_path)
    assert timed.time_offset == 0 and timed.md5 != cover.md5
    with pytest.raises(MediaOpError) as info:
        await cover_by_snapshot(corpus.clip, CoverSpec("Percent", 150), tmp_path)
    assert info.value.code == INVALID_TIME_OFFSET


@pytest.mark.parametrize(
    "kind,interval,count,step", [("Time", 1.0, 4, 1.0), ("Percent", 25, 4, 1.0), ("Time", 3, 2, 3)]
)
async def test_sample_snapshot(
    corpus: Corpus, tmp_path: Path, kind: str, interval: float, count: int, step: float
) -> None:
    spec = SampleSnapshotSpec(kind, interval, width=80, height=80, fill_type="gauss")
    result = await sample_snapshot(corpus.clip, spec, tmp_path)
    assert len(result.images) == count
    assert [i.time_offset for i in result.images] == [k * step for k in range(count)]
    assert all((i.width, i.height) == (80, 80) for i in result.images)
    assert entries(tmp_path) == sorted(f"sample_{k}.jpg" for k in range(count))


async def test_sample_snapshot_rejects_zero_interval(corpus: Corpus, tmp_path: Path) -> None:
    with pytest.raises(MediaOpError) as info:
        await sample_snapshot(corpus.clip, SampleSnapshotSpec("Time", 0), tmp_path)
    assert info.value.code == CONFIGURATION_UNSUPPORTED


async def test_image_sprites_grid_and_webvtt(corpus: Corpus, tmp_path: Path) -> None:
    spec = ImageSpritesSpec(
        sample_type="Percent",
        interval=10,
        width=64,
        height=48,
        row_count=2,
        column_count=3,
        url_prefix="https://cdn.example/",
    )
    result = await image_sprites(corpus.clip, spec, tmp_path)
    assert result.cue_count == 10 and len(result.sheets) == 2  # 6 cells per sheet
    for sheet in result.sheets:
        assert (sheet.width, sheet.height) == (3 * 64, 2 * 48)
        assert probe(sheet.path).width == 192
    text = result.vtt.path.read_text()
    assert text.startswith("WEBVTT\n")
    cues = CUE.findall(text)
    assert len(cues) == 10
    assert cues[0] == (
        "00:00:00.000",
        "00:00:00.400",
        "https://cdn.example/sprite_0.jpg",
        *["0", "0", "64", "48"],
    )
    assert cues[4][2:] == ("https://cdn.example/sprite_0.jpg", "64", "48", "64", "48")
    assert cues[6][2:] == ("https://cdn.example/sprite_1.jpg", "0", "0", "64", "48")
    assert cues[-1][1] == "00:00:04.000"
    assert result.vtt.md5 == hashlib.md5(text.encode()).hexdigest()
    assert entries(tmp_path) == ["sprite.vtt", "sprite_0.jpg", "sprite_1.jpg"]


async def test_image_sprites_rejects_a_silly_grid(corpus: Corpus, tmp_path: Path) -> None:
    with pytest.raises(MediaOpError) as info:
        await image_sprites(corpus.clip, ImageSpritesSpec(row_count=0), tmp_path)
    assert info.value.code == CONFIGURATION_UNSUPPORTED


async def test_gif(corpus: Corpus, tmp_path: Path) -> None:
    spec = AnimatedGraphicsSpec(start_time=1, end_time=3, width=160, fps=10)
    result = await animated_graphics(corpus.clip, spec, tmp_path)
    assert result.path == tmp_path / "animated.gif" and result.container == "gif"
    assert (result.width, result.height) == (160, 120)
    assert result.frame_count == 20  # 2 s at 10 fps
    assert result.duration == pytest.approx(2.0, abs=0.05)
    assert read_gif(result.path) == (160, 120, 20, pytest.approx(2.0, abs=0.05))
    assert result.size == result.path.stat().st_size
    assert result.md5 == hashlib.md5(result.path.read_bytes()).hexdigest()


async def test_webp_and_end_past_the_media(corpus: Corpus, tmp_path: Path) -> None:
    spec = AnimatedGraphicsSpec(start_time=3, end_time=99, height=60, fps=5, format="webp")
    result = await animated_graphics(corpus.clip, spec, tmp_path)
    assert result.container == "webp" and (result.width, result.height) == (80, 60)
    assert result.frame_count == 5  # clipped to the last second
    assert read_webp(result.path)[2] == 5


async def test_animated_bad_window(corpus: Corpus, tmp_path: Path) -> None:
    with pytest.raises(MediaOpError) as info:
        await animated_graphics(corpus.clip, AnimatedGraphicsSpec(5, 6), tmp_path)
    assert info.value.code == INVALID_TIME_OFFSET
    with pytest.raises(MediaOpError) as info:
        await animated_graphics(corpus.clip, AnimatedGraphicsSpec(0, 1, format="apng"), tmp_path)
    assert info.value.code == CONFIGURATION_UNSUPPORTED
    assert entries(tmp_path) == []
