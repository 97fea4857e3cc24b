"""EditMedia's media op: clip boundaries, joined sizes, rates and audio, read back with PyAV."""

from __future__ import annotations

import asyncio
from pathlib import Path

import av
import pytest

from tests import mediagen
from vodflow.media.errors import INVALID_TIME_OFFSET, NO_VIDEO_MEDIA, MediaOpError
from vodflow.media.ops.edit import Clip, EditSpec, edit_media

# Each frame's brightness is 4 x its index, so a decoded frame says which source
# frame it came from (within encoding noise of a flat picture).
STEP = 4


def counter_video(
    path: Path, *, fps: int, size: str, seconds: float, audio: str | None = None
) -> Path:
    args = [
        "-f",
        "lavfi",
        "-i",
        f"color=c=black:s={size}:r={fps}:d={seconds},geq=lum='N*{STEP}':cb=128:cr=128",
    ]
    if audio:
        args += [
            "-f",
            "lavfi",
            "-i",
            f"sine=frequency=440:sample_rate={audio.split(':')[0]}:duration={seconds}",
        ]
        args += ["-ac", audio.split(":")[1]]
    args += ["-c:v", "libx264", "-preset", "ultrafast", "-qp", "0", "-pix_fmt", "yuv420p"]
    if audio:
        args += ["-c:a", "aac"]
    mediagen.ffmpeg(*args, "-y", str(path))
    return path


def frames(path: Path) -> list[tuple[float, int, int, int]]:
    """(time, frame index from brightness, width, height) of every decoded frame."""
    out = []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            w, h = frame.width, frame.height
            plane = frame.reformat(format="yuv420p").planes[0]  # raw Y, no range change
            data, stride = bytes(plane), plane.line_size
            centre = sorted(
                data[y * stride + x]
                for y in range(h // 4, 3 * h // 4, 4)
                for x in range(w // 4, 3 * w // 4, 4)
            )
            out.append((float(frame.time or 0.0), round(centre[len(centre) // 2] / STEP), w, h))
    return out


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("edit-sources")
    return {
        "a": counter_video(root / "a.mp4", fps=25, size="320x240", seconds=2.4, audio="48000:2"),
        "b": counter_video(root / "b.mp4", fps=30, size="640x360", seconds=2.0),
        "c": counter_video(root / "c.mp4", fps=25, size="160x120", seconds=2.0, audio="44100:1"),
    }


def test_three_clips_join_at_the_exact_frames(sources: dict[str, Path], tmp_path: Path) -> None:
    clips = [
        Clip(str(sources["a"]), 1.0, 1.6),  # frames 25..39 at 25 fps
        Clip(str(sources["b"]), 0.5, 1.0),  # frames 15..29 at 30 fps, no audio
        Clip(str(sources["c"]), 0.2, None),  # frames 5..49, mono 44.1 kHz
    ]
    result = asyncio.run(edit_media(clips, EditSpec(), tmp_path))
    # Base: the largest picture (Definition 10), at its rate.
    assert (result.width, result.height, result.fps) == (640, 360, 30)
    got = frames(result.path)
    assert {(w, h) for _, _, w, h in got} == {(640, 360)}
    assert result.clip_durations == pytest.approx((0.6, 0.5, 1.8))
    # Joined duration: the sum of the clips, within a frame.
    assert abs(len(got) / 30 - 2.9) <= 1 / 30 + 1e-6
    assert result.duration == pytest.approx(2.9, abs=0.05)

    def index_at(t: float) -> int:
        return min(got, key=lambda f: abs(f[0] - t))[1]

    # First frame of each clip within one source frame of its start.
    assert abs(index_at(0.0) - 25) <= 1
    assert abs(index_at(0.6) - 15) <= 1
    assert abs(index_at(1.1) - 5) <= 1
    # Last frame of the first clip is source frame 39 (1.6 s exclusive), give or take one.
    assert abs(index_at(0.6 - 1 / 30) - 39) <= 1
    with av.open(str(result.path)) as container:
        audio = container.streams.audio[0]
        assert (audio.rate, audio.channels) == (48000, 2)
        seconds = float(audio.duration * audio.time_base)
        assert seconds == pytest.approx(2.9, abs=0.05)


def test_size_and_base_by_bitrate(sources: dict[str, Path], tmp_path: Path) -> None:
    clips = [Clip(str(sources["c"]), 0, 0.5), Clip(str(sources["a"]), 0, 0.5)]
    spec = EditSpec(width=0, height=180, fps=10)
    result = asyncio.run(edit_media(clips, spec, tmp_path))
    # Base: the larger picture (a, 4:3): 180 high, 240 wide; fps as asked.
    assert (result.width, result.height, result.fps) == (240, 180, 10)
    assert len(frames(result.path)) == 10


def test_bad_clips(sources: dict[str, Path], tmp_path: Path) -> None:
    def code(clip: Clip) -> str:
        with pytest.raises(MediaOpError) as info:
            asyncio.run(edit_media([clip], EditSpec(), tmp_path))
        return info.value.code

    assert code(Clip(str(sources["a"]), 5.0, None)) == INVALID_TIME_OFFSET
    assert code(Clip(str(sources["a"]), 1.0, 1.0)) == INVALID_TIME_OFFSET
    audio = mediagen.make_audio_only(tmp_path / "song.m4a", duration=1.0)
    assert code(Clip(str(audio))) == NO_VIDEO_MEDIA
