"""Media generated once per session and shared (read-only) by the media tests."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests import mediagen


@dataclass(frozen=True)
class Corpus:
    clip: Path
    """4 s, 320x240, 25 fps, H.264 + AAC 48 kHz stereo."""
    seedlike: Path
    """4 s of the seed's shape: 640x480, 23.976 fps, H.264 ~640 kbps, AAC 48 kHz stereo."""
    hevc: Path
    rotated: Path
    audio_only: Path
    png: Path
    jpeg: Path
    mkv: Path


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    root = tmp_path_factory.mktemp("corpus")
    return Corpus(
        clip=mediagen.make_video(root / "clip.mp4"),
        seedlike=mediagen.make_seed_clip(root / "seedlike.mp4", duration=4.0),
        hevc=mediagen.make_video(root / "hevc.mp4", duration=2.0, vcodec="libx265", audio=False),
        rotated=mediagen.make_video(root / "rotated.mp4", duration=2.0, rotate=90),
        audio_only=mediagen.make_audio_only(root / "audio.m4a"),
        png=mediagen.make_png(root / "still.png"),
        jpeg=mediagen.make_png(root / "still.jpg", width=160, height=120),
        mkv=mediagen.make_video(root / "clip.mkv", duration=2.0),
    )


class Spawns:
    """Records every process started through asyncio (a spy, not a mock)."""

    def __init__(self) -> None:
        self.procs: list[asyncio.subprocess.Process] = []
        self.commands: list[tuple[str, ...]] = []


@pytest.fixture
def spawns(monkeypatch: pytest.MonkeyPatch) -> Spawns:
    record = Spawns()
    real = asyncio.create_subprocess_exec

    async def spy(*args: Any, **kwargs: Any) -> asyncio.subprocess.Process:
        proc = await real(*args, **kwargs)
        record.procs.append(proc)
        record.commands.append(tuple(str(a) for a in args))
        return proc

    monkeypatch.setattr(asyncio, "create_subprocess_exec", spy)
    return record


def assert_reaped(pid: int) -> None:
    """Gone from the process table: neither running nor a zombie."""
    assert not Path(f"/proc/{pid}").exists(), f"ffmpeg {pid} is still in the process table"
