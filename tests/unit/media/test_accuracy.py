"""Which source frame each output shows: sampling, sprites, snapshots, animations.

The sources are counter videos (frame N shows N in binary stripes, see
tests/mediagen.make_counter_video), so every output image is read back with
PyAV and compared with the frame the decoded source shows at that time.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests import framecode, mediagen
from vodflow.media.ops import (
    AnimatedGraphicsSpec,
    CoverSpec,
    ImageSpritesSpec,
    SampleSnapshotSpec,
    SnapshotByTimeOffsetSpec,
    TranscodeSpec,
    VideoSpec,
    animated_graphics,
    cover_by_snapshot,
    image_sprites,
    sample_snapshot,
    snapshot_by_time_offsets,
    transcode,
)
from vodflow.media.probe import probe

pytestmark = pytest.mark.slow

CUE = re.compile(r"^(\d\d):(\d\d):(\d\d\.\d{3}) --> .*\n(\S+)#xywh=(\d+),(\d+),(\d+),(\d+)$", re.M)


@pytest.fixture(scope="module")
def counters(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("counters")
    return {
        "25": mediagen.make_counter_video(root / "c25.mp4", duration=6, fps=25),
        "29.97": mediagen.make_counter_video(root / "c2997.mp4", duration=6, fps="30000/1001"),
        "60": mediagen.make_counter_video(root / "c60.mp4", duration=3, fps=60),
        "vfr": mediagen.make_counter_video(root / "vfr.mp4", duration=6, fps=25, vfr_after=40),
        "noise": mediagen.make_counter_video(
            root / "noise.mp4", duration=2, fps=25, noise=True, audio=True
        ),
    }


def rate_control(path: Path) -> tuple[str, float | None]:
    """(rc mode, crf) as the x264/x265 encoder wrote them into the stream's info SEI."""
    data = path.read_bytes()
    rc = re.search(rb"rc=(\w+)", data)
    crf = re.search(rb"[ -]crf=([\d.]+)", data)
    assert rc is not None, "no encoder settings SEI in the output"
    return rc.group(1).decode(), float(crf.group(1)) if crf else None


@pytest.mark.parametrize("source", ["25", "29.97", "60", "vfr"])
@pytest.mark.parametrize(("kind", "interval"), [("Time", 1.2), ("Time", 0.7), ("Percent", 20)])
async def test_sample_k_shows_the_frame_at_k_intervals(
    counters: dict[str, Path], tmp_path: Path, source: str, kind: str, interval: float
) -> None:
    frames = framecode.source_frames(counters[source])
    spec = SampleSnapshotSpec(kind, interval, format="png")
    result = await sample_snapshot(counters[source], spec, tmp_path)
    shown = [framecode.image_number(image.path) for image in result.images]
    assert shown[0] == 0  # the first image is the first frame
    wanted = [framecode.shown_at(frames, k * result.interval) for k in range(len(shown))]
    assert shown == wanted
    assert [i.time_offset for i in result.images] == [
        round(k * result.interval, 3) for k in range(len(result.images))
    ]


@pytest.mark.parametrize("source", ["25", "vfr"])
async def test_sprite_cell_shows_the_frame_at_its_cue_start(
    counters: dict[str, Path], tmp_path: Path, source: str
) -> None:
    frames = framecode.source_frames(counters[source])
    spec = ImageSpritesSpec("Time", 1.0, width=160, height=120, row_count=2, column_count=2)
    result = await image_sprites(counters[source], spec, tmp_path)
    cues = CUE.findall(result.vtt.path.read_text())
    assert len(cues) == result.cue_count
    for h, m, s, sheet, *box in cues:
        start = int(h) * 3600 + int(m) * 60 + float(s)
        (cell,) = framecode.sheet_numbers(tmp_path / sheet, [tuple(map(int, box))])  # type: ignore[list-item]
        assert cell == framecode.shown_at(frames, start), f"cue at {start}s"


@pytest.mark.parametrize("codec", ["h264", "h265"])
async def test_crf_replaces_the_bitrate(
    counters: dict[str, Path], tmp_path: Path, codec: str
) -> None:
    sizes = {}
    for crf in (10, 40):
        spec = TranscodeSpec(video=VideoSpec(codec=codec, bitrate=300, crf=crf), name=f"c{crf}")
        result = await transcode(counters["noise"], spec, tmp_path)
        assert rate_control(result.path) == ("crf", float(crf))
        sizes[crf] = result.video_streams[0].bitrate
    # 300 kbps asked, but CRF decides: 10 is far above it, 40 far below 10.
    assert sizes[10] > 3 * 300_000 and sizes[10] > 5 * sizes[40]
    plain = await transcode(
        counters["noise"],
        TranscodeSpec(video=VideoSpec(codec=codec, bitrate=300), name="abr"),
        tmp_path,
    )
    assert rate_control(plain.path)[0] == "abr"


@pytest.mark.parametrize("source", ["25", "29.97", "vfr"])
async def test_snapshot_shows_the_frame_on_screen_at_its_offset(
    counters: dict[str, Path], tmp_path: Path, source: str
) -> None:
    frames = framecode.source_frames(counters[source])
    end = probe(counters[source]).video_duration
    offsets = [0.0, 0.5, 1.01, 1.03, 2.999, end - 0.01, end]
    spec = SnapshotByTimeOffsetSpec(time_offsets=offsets, format="png")
    result = await snapshot_by_time_offsets(counters[source], spec, tmp_path)
    shown = [framecode.image_number(image.path) for image in result.images]
    assert shown == [framecode.shown_at(frames, t) for t in offsets]
    assert shown[-1] == frames[-1][1]  # 100 %: the real last frame, even in VFR video


async def test_cover_percent_is_of_the_video(counters: dict[str, Path], tmp_path: Path) -> None:
    frames = framecode.source_frames(counters["vfr"])
    for percent in (50.0, 100.0):
        spec = CoverSpec("Percent", percent, format="png", name=f"c{percent:g}")
        image = await cover_by_snapshot(counters["vfr"], spec, tmp_path)
        at = probe(counters["vfr"]).video_duration * percent / 100
        assert framecode.image_number(image.path) == framecode.shown_at(frames, at)


@pytest.mark.parametrize("fmt", ["gif", "webp"])
@pytest.mark.parametrize(("source", "start"), [("25", 1.0), ("25", 1.23), ("vfr", 2.0)])
async def test_animation_frame_k_is_the_source_frame_at_start_plus_k_periods(
    counters: dict[str, Path], tmp_path: Path, fmt: str, source: str, start: float
) -> None:
    frames = framecode.source_frames(counters[source])
    spec = AnimatedGraphicsSpec(start_time=start, end_time=start + 1, fps=10, format=fmt)
    result = await animated_graphics(counters[source], spec, tmp_path)
    assert result.frame_count == 10
    shown = framecode.image_numbers(result.path)
    assert shown == [framecode.shown_at(frames, start + k / 10) for k in range(10)]
