"""Heads and tails joined inside a transcode run, read back with PyAV (media layer alone)."""

from __future__ import annotations

import asyncio
import math
from array import array
from pathlib import Path

import av
import pytest

from tests import mediagen
from vodflow.media.errors import NO_VIDEO_MEDIA, MediaOpError
from vodflow.media.ops import AudioSpec, HeadTail, Piece, TranscodeSpec, VideoSpec, transcode


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("headtail")
    head = root / "head.mp4"
    mediagen.ffmpeg(
        "-f", "lavfi", "-i", "color=c=red:s=200x100:r=30:d=0.6",
        "-f", "lavfi", "-i", "sine=frequency=800:sample_rate=22050:duration=0.6",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-ac", "1", str(head),
    )  # fmt: skip
    return {
        "head": head,
        "silent": mediagen.make_video(root / "silent.mp4", duration=1.0, audio=False),
        "audio": mediagen.make_audio_only(root / "audio.m4a"),
    }


def _rms(path: Path, start: float, end: float) -> float:
    resampler = av.AudioResampler(format="s16", layout="mono", rate=48000)
    samples = array("h")
    with av.open(str(path)) as container:
        for frame in container.decode(audio=0):
            for out in resampler.resample(frame):
                samples.frombytes(bytes(out.planes[0])[: out.samples * 2])
    part = samples[int(start * 48000) : int(end * 48000)]
    return math.sqrt(sum(s * s for s in part) / len(part)) / 32768


def test_a_sounding_head_before_a_silent_main(media: dict[str, Path], tmp_path: Path) -> None:
    spec = TranscodeSpec(
        video=VideoSpec(width=160, height=120, fps=25, resolution_adaptive=False),
        audio=AudioSpec(codec="aac", sample_rate=44100, channels=2),
        name="joined",
    )
    joined = HeadTail(heads=(Piece(str(media["head"]), "gauss"),))
    result = asyncio.run(transcode(media["silent"], spec, tmp_path, head_tail=joined))
    assert abs(result.duration - 1.6) < 0.08
    assert result.audio_streams, "the main had no sound, the head had: the output has sound"
    with av.open(str(result.path)) as container:
        sizes = {(f.width, f.height) for f in container.decode(video=0)}
    assert sizes == {(160, 120)}
    assert _rms(result.path, 0.05, 0.55) > 0.05  # the head's tone
    assert _rms(result.path, 0.7, 1.5) < 0.001  # silence under the main


def test_an_audio_only_rendition_joins_the_sound_only(
    media: dict[str, Path], tmp_path: Path
) -> None:
    spec = TranscodeSpec(container="m4a", video=None, audio=AudioSpec(codec="aac"), name="a")
    joined = HeadTail(tails=(Piece(str(media["head"])),))
    with pytest.raises(MediaOpError) as info:  # the main must be a video
        asyncio.run(transcode(media["audio"], spec, tmp_path, head_tail=joined))
    assert info.value.code == NO_VIDEO_MEDIA
    result = asyncio.run(transcode(media["silent"], spec, tmp_path, head_tail=joined))
    assert not result.video_streams and abs(result.duration - 1.6) < 0.08
    assert _rms(result.path, 0.1, 0.9) < 0.001 and _rms(result.path, 1.05, 1.55) > 0.05


def test_the_clip_window_cuts_the_main_only(media: dict[str, Path], tmp_path: Path) -> None:
    spec = TranscodeSpec(start_time=0.2, end_time=0.8, name="cut")
    joined = HeadTail(heads=(Piece(str(media["head"]), "black"),))
    result = asyncio.run(transcode(media["silent"], spec, tmp_path, head_tail=joined))
    assert abs(result.duration - 1.2) < 0.08  # 0.6 s head + the 0.6 s window
    assert (result.width, result.height) == (320, 240)


def test_hls_renditions_join_too(media: dict[str, Path], tmp_path: Path) -> None:
    spec = TranscodeSpec(container="hls", segment_duration=1.0, name="hls")
    joined = HeadTail(heads=(Piece(str(media["head"]), "white"),))
    result = asyncio.run(transcode(media["silent"], spec, tmp_path, head_tail=joined))
    assert abs(result.duration - 1.6) < 0.15 and len(result.files) >= 3
    assert result.audio_streams  # the head's sound, silence under the main
