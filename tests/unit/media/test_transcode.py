"""Transcoding with real ffmpeg: outputs measured, one decode for many, atomic outputs."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from typing import Any

import av
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests import mediagen
from tests.unit.media.conftest import Corpus, Spawns, assert_reaped
from vodflow.media.errors import (
    CONFIGURATION_UNSUPPORTED,
    CONTENT_MALFORMED,
    INVALID_TIME_OFFSET,
    NO_VIDEO_MEDIA,
    MediaOpError,
)
from vodflow.media.ops import (
    AudioSpec,
    TranscodeSpec,
    VideoSpec,
    plan_size,
    transcode,
    transcode_many,
)
from vodflow.media.probe import probe

FAST = VideoSpec(preset="ultrafast")


def entries(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


async def test_mp4_result_is_measured_on_the_file(corpus: Corpus, tmp_path: Path) -> None:
    spec = TranscodeSpec(
        name="v.f20",
        video=VideoSpec(height=180, bitrate=200, preset="ultrafast"),
        audio=AudioSpec(bitrate=64, sample_rate=44100, channels=2),
    )
    result = await transcode(corpus.clip, spec, tmp_path)
    assert result.path == tmp_path / "v.f20.mp4" and result.files == (result.path,)
    data = result.path.read_bytes()
    assert result.size == len(data)
    assert result.md5 == hashlib.md5(data).hexdigest()
    again = probe(result.path)
    assert (result.width, result.height) == (again.width, again.height) == (240, 180)
    assert result.container == "mov,mp4,m4a,3gp,3g2,mj2"
    assert result.duration == pytest.approx(4.0, abs=0.1)
    assert result.video_streams == again.video_streams
    assert result.audio_streams[0].sample_rate == 44100
    assert result.bitrate == again.bitrate
    assert entries(tmp_path) == ["v.f20.mp4"]  # no staging leftovers


async def test_seed_definition_20_shape(corpus: Corpus, tmp_path: Path) -> None:
    """The seed's Definition 20: 640x480 source -> 640x480, ~500 kbps, 24 fps, AAC 44.1 kHz."""
    spec = TranscodeSpec(
        video=VideoSpec(height=480, bitrate=500, fps=24, preset="ultrafast"),
        audio=AudioSpec(bitrate=48, sample_rate=44100, channels=2),
    )
    result = await transcode(corpus.seedlike, spec, tmp_path)
    (video,) = result.video_streams
    assert (video.width, video.height, video.fps, video.codec) == (640, 480, 24, "h264")
    (audio,) = result.audio_streams
    assert (audio.codec, audio.sample_rate) == ("aac", 44100)


async def test_three_renditions_from_one_ffmpeg_run(
    corpus: Corpus,
    tmp_path: Path,
    spawns: Spawns,
) -> None:
    specs = [
        TranscodeSpec(name=f"r{h}", video=VideoSpec(height=h, bitrate=b, preset="ultrafast"))
        for h, b in ((120, 100), (180, 200), (240, 300))
    ]
    results = await transcode_many(corpus.clip, specs, tmp_path, threads=1)
    assert len(spawns.commands) == 1  # one process, so one decode of the source
    (command,) = spawns.commands
    graph = command[command.index("-filter_complex") + 1]
    # One decode split three ways; the same audio settings: one audio encode, teed.
    assert "split=3" in graph and "asplit=1" in graph
    assert command.count("-i") == 1 and command.count("tee") == 1
    assert [(r.width, r.height) for r in results] == [(160, 120), (240, 180), (320, 240)]
    assert results[0].size < results[1].size < results[2].size
    for result in results:
        assert result.md5 == hashlib.md5(result.path.read_bytes()).hexdigest()
        (audio,) = result.audio_streams
        assert audio.codec == "aac"
        assert result.duration == pytest.approx(4.0, abs=0.1)
    assert entries(tmp_path) == ["r120.mp4", "r180.mp4", "r240.mp4"]


async def test_renditions_share_audio_only_when_it_is_the_same(
    corpus: Corpus, tmp_path: Path, spawns: Spawns
) -> None:
    low, high = AudioSpec(bitrate=48), AudioSpec(bitrate=128)
    specs = [
        TranscodeSpec(name="a", video=VideoSpec(height=120, preset="ultrafast"), audio=low),
        TranscodeSpec(name="b", video=VideoSpec(height=180, preset="ultrafast"), audio=high),
        TranscodeSpec(name="c", video=VideoSpec(height=240, preset="ultrafast"), audio=low),
        TranscodeSpec(
            name="d", container="hls", video=VideoSpec(height=120, preset="ultrafast"), audio=low
        ),
    ]
    results = await transcode_many(corpus.clip, specs, tmp_path, threads=1)
    (command,) = spawns.commands
    graph = command[command.index("-filter_complex") + 1]
    assert "asplit=3" in graph  # a+c share one encode; b and the HLS d have their own
    assert command.count("tee") == 1
    rates = [r.audio_streams[0].bitrate for r in results]
    assert rates[0] == rates[2] and abs(rates[1] - 128_000) < abs(rates[0] - 128_000)
    assert [(r.width, r.height) for r in results] == [
        (160, 120),
        (240, 180),
        (320, 240),
        (160, 120),
    ]


async def test_hls_output_is_a_playlist_with_segments(corpus: Corpus, tmp_path: Path) -> None:
    spec = TranscodeSpec(container="hls", name="v.f230", segment_duration=1.0, video=FAST)
    result = await transcode(corpus.clip, spec, tmp_path)
    assert result.path == tmp_path / "v.f230.m3u8"
    segments = sorted((tmp_path / "v.f230").iterdir())
    assert len(segments) == 4 and all(s.suffix == ".ts" for s in segments)
    assert result.files == (result.path, *segments)
    assert result.size == sum(f.stat().st_size for f in result.files)
    assert result.md5 == hashlib.md5(result.path.read_bytes()).hexdigest()
    assert result.container == "hls"
    assert result.duration == pytest.approx(4.0, abs=0.1)
    container: Any
    with av.open(
        str(result.path), format="hls", options={"protocol_whitelist": "file"}
    ) as container:
        frames = sum(1 for _ in container.decode(video=0))
    assert frames == 100  # 4 s at 25 fps, across every segment
    assert entries(tmp_path) == ["v.f230", "v.f230.m3u8"]


async def test_rerun_replaces_previous_outputs(corpus: Corpus, tmp_path: Path) -> None:
    spec = TranscodeSpec(container="hls", name="x", segment_duration=2.0, video=FAST)
    await transcode(corpus.clip, spec, tmp_path)
    stale = tmp_path / "x" / "stale.ts"
    stale.write_bytes(b"old")
    await transcode(corpus.clip, spec, tmp_path)
    assert not stale.exists()
    assert entries(tmp_path) == ["x", "x.m3u8"]


async def test_hevc_mp4_is_tagged_hvc1(corpus: Corpus, tmp_path: Path) -> None:
    spec = TranscodeSpec(
        video=VideoSpec(codec="h265", height=120, preset="ultrafast"), remove_audio=True
    )
    result = await transcode(corpus.clip, spec, tmp_path, threads=1)
    assert [(v.codec, v.codec_tag) for v in result.video_streams] == [("hevc", "hvc1")]
    assert result.audio_streams == ()


@pytest.mark.parametrize(
    "fill,size", [("black", (200, 200)), ("white", (200, 200)), ("gauss", (200, 200))]
)
async def test_fill_types_give_the_exact_size(
    corpus: Corpus, tmp_path: Path, fill: str, size: tuple[int, int]
) -> None:
    spec = TranscodeSpec(
        video=VideoSpec(width=200, height=200, fill_type=fill, preset="ultrafast"),
        end_time=1.0,
    )
    result = await transcode(corpus.clip, spec, tmp_path)
    assert (result.width, result.height) == size


async def test_adaptive_resolution_on_a_rotated_source(corpus: Corpus, tmp_path: Path) -> None:
    # Displayed 240x320 (portrait): with adaptive on, 160 is the short side.
    on = TranscodeSpec(name="on", video=VideoSpec(height=160, preset="ultrafast"))
    off = TranscodeSpec(
        name="off", video=VideoSpec(height=160, resolution_adaptive=False, preset="ultrafast")
    )
    r_on, r_off = await transcode_many(corpus.rotated, [on, off], tmp_path)
    assert (r_on.width, r_on.height) == (160, 214)
    assert (r_off.width, r_off.height) == (120, 160)


async def test_clip_window(corpus: Corpus, tmp_path: Path) -> None:
    spec = TranscodeSpec(video=FAST, start_time=1.0, end_time=3.0)
    result = await transcode(corpus.clip, spec, tmp_path)
    assert result.duration == pytest.approx(2.0, abs=0.1)


async def test_audio_only_source(corpus: Corpus, tmp_path: Path) -> None:
    with pytest.raises(MediaOpError) as info:
        await transcode(corpus.audio_only, TranscodeSpec(video=FAST), tmp_path)
    assert info.value.code == NO_VIDEO_MEDIA
    mp3 = await transcode(
        corpus.audio_only,
        TranscodeSpec(container="mp3", audio=AudioSpec(codec="mp3", bitrate=64)),
        tmp_path,
    )
    assert mp3.container == "mp3" and mp3.audio_streams[0].codec == "mp3"
    assert mp3.video_streams == () and (mp3.width, mp3.height) == (0, 0)
    assert entries(tmp_path) == ["transcode.mp3"]


@pytest.mark.parametrize(
    "spec,code",
    [
        (TranscodeSpec(container="avi"), CONFIGURATION_UNSUPPORTED),
        (TranscodeSpec(container="mp3", audio=AudioSpec(codec="aac")), CONFIGURATION_UNSUPPORTED),
        (TranscodeSpec(video=VideoSpec(codec="vp9")), CONFIGURATION_UNSUPPORTED),
        (TranscodeSpec(video=VideoSpec(fill_type="smear")), CONFIGURATION_UNSUPPORTED),
        (TranscodeSpec(name="../escape"), CONFIGURATION_UNSUPPORTED),
        (TranscodeSpec(video=None, audio=None), CONFIGURATION_UNSUPPORTED),
        (TranscodeSpec(start_time=10.0), INVALID_TIME_OFFSET),
        (TranscodeSpec(start_time=2.0, end_time=1.0), INVALID_TIME_OFFSET),
    ],
)
async def test_bad_specs(corpus: Corpus, tmp_path: Path, spec: TranscodeSpec, code: str) -> None:
    with pytest.raises(MediaOpError) as info:
        await transcode(corpus.clip, spec, tmp_path)
    assert info.value.code == code
    assert entries(tmp_path) == []


async def test_duplicate_rendition_names(corpus: Corpus, tmp_path: Path) -> None:
    with pytest.raises(MediaOpError) as info:
        await transcode_many(corpus.clip, [TranscodeSpec(), TranscodeSpec()], tmp_path)
    assert info.value.code == CONFIGURATION_UNSUPPORTED


async def test_hostile_source_fails_with_the_probe_code(tmp_path: Path) -> None:
    source = mediagen.make_text_renamed(tmp_path / "notes.mp4")
    with pytest.raises(MediaOpError) as info:
        await transcode(source, TranscodeSpec(), tmp_path / "out")
    assert info.value.code == CONTENT_MALFORMED


async def test_cancellation_leaves_nothing_behind(
    corpus: Corpus,
    tmp_path: Path,
    spawns: Spawns,
) -> None:
    running = asyncio.Event()
    slow = TranscodeSpec(
        container="hls", video=VideoSpec(codec="h265", preset="slow"), segment_duration=1
    )
    task = asyncio.create_task(
        transcode(corpus.seedlike, slow, tmp_path, on_progress=lambda _: running.set(), threads=1)
    )
    await asyncio.wait_for(running.wait(), timeout=30)
    assert list(tmp_path.iterdir())  # the staging directory exists while it runs
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert entries(tmp_path) == []
    assert_reaped(spawns.procs[0].pid)


async def test_progress_reaches_100(corpus: Corpus, tmp_path: Path) -> None:
    seen: list[float] = []
    await transcode(corpus.clip, TranscodeSpec(video=FAST), tmp_path, on_progress=seen.append)
    assert seen[-1] == 100.0 and seen == sorted(seen)


@given(
    src=st.tuples(st.integers(16, 7680), st.integers(16, 4320)),
    width=st.sampled_from([0, 320, 640, 1280, 1920]),
    height=st.sampled_from([0, 240, 360, 720, 1080]),
    adaptive=st.booleans(),
)
def test_plan_size_properties(
    src: tuple[int, int], width: int, height: int, adaptive: bool
) -> None:
    out_w, out_h = plan_size(src, width, height, adaptive=adaptive)
    assert out_w % 2 == 0 and out_h % 2 == 0 and out_w >= 2 and out_h >= 2
    # Width/Height are maxima: never larger than the source (but for even rounding).
    assert out_w <= max(2, src[0] + 1) and out_h <= max(2, src[1] + 1)
    if width and height:
        swapped = adaptive and src[1] > src[0]
        box = (height, width) if swapped else (width, height)
        if box[0] <= src[0] and box[1] <= src[1]:
            assert (out_w, out_h) == box
        else:  # scaled down to fit, keeping the box's shape
            assert abs(out_w / out_h - box[0] / box[1]) <= 2.5 * max(1 / out_h, out_w / out_h**2)
    elif width or height:
        # One side given: the other follows the source aspect (within rounding), unless
        # an extreme aspect (5761x16 at width 320) puts it at the 2-pixel floor.
        if min(out_w, out_h) > 2:
            assert abs(out_w / out_h - src[0] / src[1]) <= 2.5 * max(1 / out_h, out_w / out_h**2)
    else:
        assert abs(out_w - src[0]) <= 1 and abs(out_h - src[1]) <= 1
