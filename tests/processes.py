"""Finding the FFmpeg processes of a run by a marker in their command line."""

from __future__ import annotations

import os
from pathlib import Path


def processes_with(marker: str) -> list[int]:
    """Pids whose command line holds `marker`, once they are the program itself.

    vodflow starts FFmpeg as `setpriv --pdeathsig KILL -- ffmpeg ...` (media/ffmpeg.py):
    until setpriv has exec'd, the process already names the marker but does not yet die
    with its parent. A test that pauses "the FFmpeg" (SIGSTOP) must not catch it then,
    or the paused setpriv would outlive a killed server; it is skipped until the exec.
    """
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                argv = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if marker.encode() in b"\0".join(argv) and os.path.basename(argv[0]) != b"setpriv":
                found.append(int(entry.name))
    return found
