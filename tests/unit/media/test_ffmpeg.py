"""run_ffmpeg: progress, failure messages, timeouts, cancellation, input confinement."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import mediagen
from tests.unit.media.conftest import Corpus, Spawns, assert_reaped
from vodflow.media import ffmpeg as ffmpeg_mod
from vodflow.media.errors import CONTENT_UNSUPPORTED, FFmpegError, ProbeError
from vodflow.media.ffmpeg import confine_inputs, ffmpeg_exe, run_ffmpeg, timeout_for
from vodflow.media.probe import probe


def test_ffmpeg_exe_is_runnable() -> None:
    assert os.access(ffmpeg_exe(), os.X_OK)


def test_timeout_is_proportional_with_a_floor() -> None:
    assert timeout_for(0) == timeout_for(None) > 0
    assert timeout_for(3600) > timeout_for(60) > timeout_for(0)


def test_every_input_is_confined() -> None:
    args = confine_inputs(["-ss", "1", "-i", "a.mp4", "-i", "b.mp4", "out.mp4"], threads=2)
    assert args.count("-protocol_whitelist") == 2
    assert args.count("-format_whitelist") == 2
    first = args.index("-i")
    assert args[first - 6 : first] == [
        "-protocol_whitelist",
        "file",
        "-format_whitelist",
        args[first - 3],
        "-threads",
        "2",
    ]
    assert "hls" not in args[first - 3].split(",") and "concat" not in args[first - 3]


async def test_progress_increases_and_ends_at_100(corpus: Corpus, tmp_path: Path) -> None:
    seen: list[float] = []

    async def on_progress(percent: float) -> None:
        seen.append(percent)

    # -readrate paces reading at 2x real time: ~2 s, several progress reports.
    args = ["-readrate", "2", "-i", str(corpus.clip), "-f", "null", "-"]
    await run_ffmpeg(args, duration=4.0, on_progress=on_progress)
    assert len(seen) >= 3
    assert seen == sorted(seen) and len(set(seen)) == len(seen)
    assert seen[-1] == 100.0 and all(0 <= p < 100 for p in seen[:-1])


async def test_sync_callback_and_no_duration(corpus: Corpus) -> None:
    seen: list[float] = []
    await run_ffmpeg(["-i", str(corpus.clip), "-f", "null", "-"], on_progress=seen.append)
    assert seen == [100.0]  # without a duration only completion is known


async def test_failure_raises_with_a_short_message(tmp_path: Path) -> None:
    with pytest.raises(FFmpegError) as info:
        await run_ffmpeg(["-i", str(tmp_path / "missing.mp4"), "-f", "null", "-"])
    assert info.value.returncode not in (0, None)
    assert "No such file" in info.value.message
    assert len(info.value.message) <= 410 and "\n" not in info.value.message


async def test_timeout_kills_and_reaps(corpus: Corpus, spawns: Spawns) -> None:
    started = time.monotonic()
    with pytest.raises(FFmpegError) as info:
        await run_ffmpeg(["-re", "-i", str(corpus.clip), "-f", "null", "-"], timeout=0.7)
    assert info.value.timed_out
    assert time.monotonic() - started < 3
    assert_reaped(spawns.procs[0].pid)


async def test_cancellation_kills_and_reaps(corpus: Corpus, spawns: Spawns) -> None:
    running = asyncio.Event()
    args = ["-re", "-i", str(corpus.clip), "-f", "null", "-"]
    task = asyncio.create_task(run_ffmpeg(args, duration=4.0, on_progress=lambda _: running.set()))
    await asyncio.wait_for(running.wait(), timeout=10)
    (proc,) = spawns.procs
    assert proc.returncode is None  # ffmpeg is mid-run
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert proc.returncode is not None
    assert_reaped(proc.pid)


async def test_failing_callback_kills_ffmpeg(corpus: Corpus, spawns: Spawns) -> None:
    def explode(_: float) -> None:
        raise RuntimeError("caller gave up")

    args = ["-re", "-i", str(corpus.clip), "-f", "null", "-"]
    with pytest.raises(RuntimeError):
        await run_ffmpeg(args, duration=4.0, on_progress=explode)
    assert_reaped(spawns.procs[0].pid)


# --- confinement --------------------------------------------------------------


@pytest.fixture
def trap(tmp_path: Path) -> Iterator[tuple[Path, socket.socket]]:
    """A FIFO and a listening socket: opening either one would be observable.

    A reader opening the FIFO blocks until a writer comes, so an ffmpeg that
    followed the playlist into it would hang; one connecting to the socket
    leaves a connection in its backlog.
    """
    fifo = tmp_path / "secret.ts"
    os.mkfifo(fifo)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.setblocking(False)
    yield fifo, listener
    listener.close()


def assert_untouched(listener: socket.socket) -> None:
    with pytest.raises(BlockingIOError):
        conn, _ = listener.accept()
        conn.close()


def hostile_targets(fifo: Path, listener: socket.socket) -> list[str]:
    port = listener.getsockname()[1]
    return [
        f"http://127.0.0.1:{port}/segment.ts",
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        f"file://{fifo}",
        "file:///etc/passwd",
    ]


async def test_hostile_hls_is_not_followed_by_ffmpeg(
    tmp_path: Path, trap: tuple[Path, socket.socket]
) -> None:
    fifo, listener = trap
    playlist = mediagen.make_hostile_hls(tmp_path / "evil.m3u8", hostile_targets(fifo, listener))
    started = time.monotonic()
    with pytest.raises(FFmpegError) as info:
        await run_ffmpeg(["-i", str(playlist), "-f", "null", "-"], timeout=20)
    assert not info.value.timed_out  # it did not block on the FIFO
    assert time.monotonic() - started < 10
    assert "whitelist" in info.value.stderr_tail
    assert_untouched(listener)


async def test_concat_list_is_not_followed_by_ffmpeg(
    tmp_path: Path, trap: tuple[Path, socket.socket]
) -> None:
    fifo, _ = trap
    listing = mediagen.make_concat_list(tmp_path / "list.txt", [str(fifo), "/etc/passwd"])
    with pytest.raises(FFmpegError) as info:
        await run_ffmpeg(["-i", str(listing), "-f", "null", "-"], timeout=20)
    assert not info.value.timed_out


async def test_network_inputs_are_refused(trap: tuple[Path, socket.socket]) -> None:
    _, listener = trap
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/video.mp4"
    with pytest.raises(FFmpegError) as info:
        await run_ffmpeg(["-i", url, "-f", "null", "-"], timeout=20)
    assert not info.value.timed_out
    assert_untouched(listener)


async def test_hostile_hls_is_not_followed_by_probe(
    tmp_path: Path, trap: tuple[Path, socket.socket]
) -> None:
    fifo, listener = trap
    playlist = mediagen.make_hostile_hls(tmp_path / "evil.m3u8", hostile_targets(fifo, listener))
    with pytest.raises(ProbeError) as info:
        await asyncio.wait_for(asyncio.to_thread(probe, playlist), timeout=10)
    assert info.value.code == CONTENT_UNSUPPORTED
    assert_untouched(listener)


async def test_our_own_playlists_can_be_read_when_trusted(corpus: Corpus, tmp_path: Path) -> None:
    playlist = tmp_path / "own.m3u8"
    await run_ffmpeg(
        ["-i", str(corpus.clip), "-c", "copy", "-f", "hls", "-hls_time", "2", str(playlist)]
    )
    with pytest.raises(FFmpegError):
        await run_ffmpeg(["-i", str(playlist), "-f", "null", "-"])
    await run_ffmpeg(["-i", str(playlist), "-f", "null", "-"], trusted_playlists=True)


async def test_ffmpeg_started_by_vfork_under_setpriv_is_ffmpeg_itself(
    corpus: Corpus, tmp_path: Path, spawns: Spawns
) -> None:
    """Where util-linux setpriv exists, no preexec_fn (so no fork of this whole process):
    setpriv sets PDEATHSIG and execs ffmpeg, which keeps its pid and argv (so the
    process-group kill and media/strays.py still find it). That it dies with a killed
    server is tests/e2e/test_crash.py's test_ffmpeg_dies_with_a_killed_server."""
    if shutil.which("setpriv") is None:
        pytest.skip("no setpriv here: the preexec_fn path is used")
    argv, preexec = ffmpeg_mod._spawn(["ffmpeg", "-version"])
    assert preexec is None and ffmpeg_mod.unwrapped(argv) == ["ffmpeg", "-version"]
    out = tmp_path / "one.jpg"
    await run_ffmpeg(["-i", str(corpus.clip), "-frames:v", "1", str(out)])
    (command,) = spawns.commands
    assert Path(command[0]).name == "setpriv" and out.exists()
    assert ffmpeg_mod.unwrapped(command)[0] == ffmpeg_exe()
