"""Running ffmpeg: which binary, how it is confined, how progress is read.

Everything that starts an ffmpeg process goes through :func:`run_ffmpeg`, so
the safety rules live in one place:

* the command is an argument list, never a shell string;
* every input is opened with ``-protocol_whitelist file`` and a
  ``-format_whitelist`` of plain containers, so a hostile upload (an HLS
  playlist, a concat list, anything that names other files or URLs) is
  refused before ffmpeg reads a byte beyond it;
* a timeout, an exception in the progress callback, or cancellation of the
  awaiting task kills the whole process group and reaps it, so a cancelled
  job never leaves an ffmpeg burning CPU or a zombie behind;
* ffmpeg dies with the process that started it (Linux ``PR_SET_PDEATHSIG``):
  a server or worker killed outright (kill -9, OOM) leaves no ffmpeg running,
  whichever host the subtask runs on next.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import ctypes
import ctypes.util
import functools
import inspect
import os
import re
import shutil
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Final

from vodflow.media import childwatch
from vodflow.media.errors import FFmpegError

ProgressCallback = Callable[[float], Awaitable[None] | None]
"""Receives a percentage in [0, 100]; may be a plain function or a coroutine function."""

PROTOCOL_WHITELIST: Final = "file"
"""The only protocol an input may use. No http, no crypto, no pipe, no data:."""

SAFE_DEMUXERS: Final[tuple[str, ...]] = (
    # Self-contained containers: everything they reference is inside the file.
    # (mov's external data references are off by default: enable_drefs=0.)
    "mov",
    "matroska",
    "flv",
    "avi",
    "mpegts",
    "mpeg",
    "asf",
    "ogg",
    "mxf",
    "rm",
    "dv",
    "ivf",
    "obu",
    "h264",
    "hevc",
    "m4v",
    "mpegvideo",
    # Audio.
    "mp3",
    "aac",
    "ac3",
    "eac3",
    "wav",
    "w64",
    "flac",
    "aiff",
    "caf",
    "amr",
    # Single still images (the *_pipe demuxers read exactly one file, unlike
    # image2, which expands patterns into sequences of other files).
    "png_pipe",
    "jpeg_pipe",
    "jpegls_pipe",
    "webp_pipe",
    "bmp_pipe",
    "tiff_pipe",
    "gif_pipe",
    "gif",
)
"""Demuxers an untrusted input may be opened with (FFmpeg short names).

Deliberately absent: hls, dash, concat, image2, tee, and every other demuxer
that opens further files or URLs named by the content.
"""

PLAYLIST_DEMUXERS: Final[tuple[str, ...]] = ("hls",)
"""Added only for playlists this service wrote itself (``trusted_playlists``)."""

PROGRESS_MIN_INTERVAL: Final = 0.5
"""Seconds between progress callbacks; ffmpeg reports every 0.5 s anyway."""

_STDERR_TAIL_LINES: Final = 30
_MESSAGE_LIMIT: Final = 400
_CONTEXT_PREFIX = re.compile(r"^\[[^\]]*@ 0x[0-9a-f]+\]\s*")


@functools.cache
def ffmpeg_exe() -> str:
    """Path of the ffmpeg binary: the one on PATH if any, else imageio-ffmpeg's.

    PATH wins so an operator can supply a build with hardware encoders; the
    wheel's static binary is the fallback that makes ``pip install`` enough.
    """
    found = shutil.which("ffmpeg")
    if found:
        return found
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())


def timeout_for(duration_s: float | None, *, factor: float = 10.0, floor: float = 120.0) -> float:
    """A generous wall-clock limit for processing ``duration_s`` of media.

    Proportional to the media duration (several renditions of a long film
    legitimately take long) with a floor, so that short clips on a busy
    machine are not killed by start-up costs. The limit exists to catch hung
    processes, not slow ones.
    """
    duration = max(0.0, duration_s or 0.0)
    return floor + factor * duration


def confine_inputs(
    args: Sequence[str],
    *,
    threads: int | None = None,
    trusted_playlists: bool = False,
    extra_formats: Sequence[str] = (),
) -> list[str]:
    """Return ``args`` with the input whitelists (and thread cap) before every ``-i``.

    Done here rather than by each caller so that no op can forget it.
    """
    formats = (
        SAFE_DEMUXERS + (PLAYLIST_DEMUXERS if trusted_playlists else ()) + tuple(extra_formats)
    )
    confined: list[str] = []
    for arg in args:
        if arg == "-i":
            confined += ["-protocol_whitelist", PROTOCOL_WHITELIST]
            confined += ["-format_whitelist", ",".join(formats)]
            if threads:
                confined += ["-threads", str(threads)]
        confined.append(arg)
    return confined


class _ProgressReporter:
    """Turns ``-progress`` key=value lines into throttled, increasing percentages."""

    def __init__(self, duration: float | None, callback: ProgressCallback | None) -> None:
        self._duration = duration if duration and duration > 0 else None
        self._callback = callback
        self._position = 0.0
        self._last_percent = -1.0
        self._last_call = 0.0

    async def feed(self, line: str) -> None:
        key, _, value = line.partition("=")
        if key in ("out_time_us", "out_time_ms"):  # both are microseconds in ffmpeg
            with contextlib.suppress(ValueError):  # "N/A" before the first frame
                self._position = max(self._position, int(value) / 1_000_000)
        elif key == "progress" and value == "continue" and self._duration:
            # Below 100 until the process has actually succeeded.
            percent = min(99.0, round(100.0 * self._position / self._duration, 1))
            now = time.monotonic()
            if percent > self._last_percent and now - self._last_call >= PROGRESS_MIN_INTERVAL:
                await self._emit(percent, now)

    async def finish(self) -> None:
        await self._emit(100.0, time.monotonic())

    async def _emit(self, percent: float, now: float) -> None:
        self._last_percent = percent
        self._last_call = now
        if self._callback is None:
            return
        result = self._callback(percent)
        if inspect.isawaitable(result):
            await result


def _summarize(tail: collections.deque[str]) -> str:
    """A short, single-line message from the last stderr lines."""
    lines = [_CONTEXT_PREFIX.sub("", line).strip() for line in tail]
    lines = [line for line in lines if line]
    message = " | ".join(lines[-4:])
    if len(message) > _MESSAGE_LIMIT:
        message = "..." + message[-_MESSAGE_LIMIT:]
    return message or "ffmpeg failed without a message"


_PR_SET_PDEATHSIG = 1


def _load_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:
        return None
    prctl: Callable[..., int] = libc.prctl
    return prctl


_prctl = _load_prctl()


@functools.cache
def _setpriv() -> str | None:
    """util-linux `setpriv`, if here: it sets PDEATHSIG and execs ffmpeg in its place."""
    return shutil.which("setpriv") if sys.platform.startswith("linux") else None


def _spawn(cmd: list[str]) -> tuple[list[str], Callable[[], None] | None]:
    """(command, preexec_fn) starting ffmpeg so that it dies with this process.

    `setpriv --pdeathsig KILL` where it exists: without a preexec_fn, Python starts
    the child with vfork instead of fork, which does not copy this process's page
    tables while the event loop waits (~20 ms for a 200 MB server, each subprocess:
    the cost of a tiny flow). The process is ffmpeg itself once setpriv has exec'd
    (same pid, same argv). If this process dies in the instant before setpriv has
    set the signal, the ffmpeg left running is a stray that the next claim of its
    subtask kills (media/strays.py), as after any crash.
    """
    setpriv = _setpriv()
    if setpriv is not None:
        return [setpriv, "--pdeathsig", "KILL", "--", *cmd], None
    return cmd, _die_with_parent(os.getpid())


def unwrapped(argv: Sequence[str]) -> list[str]:
    """The ffmpeg command of a spawned argv, without the `setpriv ... --` before it."""
    argv = list(argv)
    if argv and argv[0] == _setpriv() and "--" in argv:
        return argv[argv.index("--") + 1 :]
    return argv


def _die_with_parent(parent: int) -> Callable[[], None] | None:
    """A preexec_fn: SIGKILL this child when its parent dies (Linux).

    Set between fork and exec, so it covers ffmpeg; the parent is the thread that
    forked (the process's event loop thread, alive as long as the process). If the
    parent died before the setting took, the child exits at once.
    """
    prctl = _prctl
    if prctl is None:
        return None

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:
            os._exit(1)

    return preexec


async def _kill(proc: asyncio.subprocess.Process) -> None:
    """Kill ffmpeg's process group and reap it, even if we are being cancelled."""
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    # Shielded: a second cancellation must not stop the reaping.
    await asyncio.shield(proc.wait())


async def run_ffmpeg(
    args: list[str],
    *,
    duration: float | None = None,
    on_progress: ProgressCallback | None = None,
    timeout: float | None = None,
    threads: int | None = None,
    trusted_playlists: bool = False,
    extra_formats: Sequence[str] = (),
) -> None:
    """Run ffmpeg with ``args`` (inputs, filters, outputs) and wait for it.

    ``duration`` (seconds of output expected) turns ffmpeg's ``out_time`` into
    a percentage for ``on_progress``, which is called at most every 0.5 s with
    increasing values and finally with 100 once ffmpeg has exited cleanly.
    ``threads`` caps decoder and filter threads; encoders take their own
    ``-threads`` from the op that builds the output options.
    ``trusted_playlists`` also allows the hls demuxer, for reading back
    playlists this service produced; the protocol whitelist stays ``file``.
    ``extra_formats`` allows more demuxers for inputs the op chose itself (an SVG
    watermark for ``svg_pipe``: never a media source).

    Raises :class:`FFmpegError` on a non-zero exit or a timeout. On
    cancellation or timeout the process is killed and reaped before the
    exception propagates.
    """
    cmd = [ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error"]
    cmd += ["-nostats", "-progress", "pipe:1", "-y"]
    if threads:
        cmd += ["-filter_threads", str(threads), "-filter_complex_threads", str(threads)]
    cmd += confine_inputs(
        args, threads=threads, trusted_playlists=trusted_playlists, extra_formats=extra_formats
    )

    childwatch.install()  # its exit noticed without a thread (once per process)
    try:
        argv, preexec = _spawn(cmd)
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,  # own process group: killable as a unit
            preexec_fn=preexec,
        )
    except OSError as exc:
        raise FFmpegError(f"cannot start ffmpeg: {exc.strerror or exc}") from exc
    assert proc.stdout is not None and proc.stderr is not None
    stdout, stderr = proc.stdout, proc.stderr

    reporter = _ProgressReporter(duration, on_progress)
    tail: collections.deque[str] = collections.deque(maxlen=_STDERR_TAIL_LINES)

    async def pump_progress() -> None:
        async for raw in stdout:
            await reporter.feed(raw.decode("utf-8", "replace").strip())

    async def pump_stderr() -> None:
        async for raw in stderr:
            tail.append(raw.decode("utf-8", "replace").rstrip())

    try:
        async with asyncio.timeout(timeout):
            await asyncio.gather(pump_progress(), pump_stderr())
            returncode = await proc.wait()
    except TimeoutError:
        await _kill(proc)
        raise FFmpegError(
            f"ffmpeg timed out after {timeout:.0f} s",
            returncode=proc.returncode,
            stderr_tail="\n".join(tail),
            timed_out=True,
        ) from None
    except BaseException:
        await _kill(proc)
        raise

    if returncode != 0:
        raise FFmpegError(_summarize(tail), returncode=returncode, stderr_tail="\n".join(tail))
    await reporter.finish()
