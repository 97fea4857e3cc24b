"""Stopping the FFmpeg processes of a run that died before it could stop them."""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path


def kill_strays(marker: str) -> int:
    """SIGKILL processes (FFmpeg of a dead attempt) whose command line contains `marker`.

    `marker` is a work directory path with a random component, so only processes
    started for that very attempt match. Linux only; elsewhere nothing happens and
    the lease still keeps two live runs apart.
    """
    proc = Path("/proc")
    if not marker or not proc.is_dir():
        return 0
    needle = marker.encode()
    killed = 0
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if needle in cmdline:
            with contextlib.suppress(OSError):
                os.kill(int(entry.name), signal.SIGKILL)
                killed += 1
    return killed
