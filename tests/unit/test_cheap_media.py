"""Test-only cheap media: off by default, a final downscale in media, the template's
shape in core's answer (the real runs: tests/e2e/test_testing_plugin.py)."""

from __future__ import annotations

import pytest

from vodflow.config import Settings
from vodflow.core.cheap_media import declared
from vodflow.media.ops import AudioSpec, TranscodeSpec, VideoSpec
from vodflow.media.ops.cheap import shrink, tiny_size


def test_off_by_default_and_on_only_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VODFLOW_TEST_CHEAP_MEDIA", raising=False)
    assert Settings().test_cheap_media is False
    assert Settings.from_env().test_cheap_media is False
    monkeypatch.setenv("VODFLOW_TEST_CHEAP_MEDIA", "1")
    assert Settings.from_env().test_cheap_media is True


def test_the_downscale_keeps_the_shape_within_64_px() -> None:
    assert tiny_size((640, 360)) == (64, 36)
    assert tiny_size((360, 640)) == (36, 64)
    assert tiny_size((48, 32)) == (48, 32)  # never upscaled
    assert tiny_size((4000, 10)) == (64, 2)  # even, at least 2
    assert shrink((640, 360), False) == ""
    assert shrink((640, 360), True) == "scale=64:36,setsar=1,fps=5,"


def _measured() -> dict[str, object]:
    return {
        "Url": "http://x/v.f100010.mp4",
        "Definition": 100010,
        "Bitrate": 90_000,
        "Width": 64,
        "Height": 36,
        "Size": 1234,
        "Duration": 1.0,
        "Md5": "abc",
        "Container": "mov,mp4,m4a,3gp,3g2,mj2",
        "VideoStreamSet": [
            {"Bitrate": 30_000, "Width": 64, "Height": 36, "Codec": "h264", "Fps": 5}
        ],
        "AudioStreamSet": [{"Bitrate": 60_000, "SamplingRate": 44100, "Codec": "aac"}],
    }


def test_core_reports_the_template_shape_resolved_against_the_source() -> None:
    meta = {"Width": 1280, "Height": 720, "Rotate": 0, "VideoStreamSet": [{"Fps": 30}]}
    spec = TranscodeSpec(video=VideoSpec(bitrate=400, width=0, height=360), audio=AudioSpec())
    out = declared(_measured(), spec, meta)
    assert (out["Width"], out["Height"], out["Bitrate"]) == (640, 360, 400_000 + 60_000)
    (stream,) = out["VideoStreamSet"]
    assert stream == {"Bitrate": 400_000, "Width": 640, "Height": 360, "Codec": "h264", "Fps": 30}
    # What the file really is stays measured.
    for name in ("Url", "Size", "Md5", "Container", "Duration", "AudioStreamSet"):
        assert out[name] == _measured()[name]


def test_a_portrait_source_and_a_template_fps() -> None:
    meta = {"Width": 1280, "Height": 720, "Rotate": 90, "VideoStreamSet": [{"Fps": 30}]}
    spec = TranscodeSpec(video=VideoSpec(bitrate=0, width=0, height=360, fps=24))
    meta["VideoStreamSet"] = [{"Fps": 30, "Bitrate": 2_000_000}]
    out = declared(_measured(), spec, meta)
    assert (out["Width"], out["Height"]) == (360, 640)
    assert out["VideoStreamSet"][0]["Fps"] == 24
    assert out["VideoStreamSet"][0]["Bitrate"] == 2_000_000  # template 0: the source's


def test_audio_only_renditions_are_left_measured() -> None:
    info = {**_measured(), "VideoStreamSet": []}
    assert declared(info, TranscodeSpec(container="m4a", video=None), {"Width": 640}) == info
