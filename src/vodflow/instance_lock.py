"""One `vodflow serve` per embedded data dir: a second one refuses, naming the first.

Two servers on one SQLite data dir would both run the executor, sweepers and the
push relay over the same rows. The lock is an flock on `<data dir>/serve.lock`,
released by the kernel when the holder exits (even by SIGKILL), so it never goes
stale. The file's text names the holder for the refusal message.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

from vodflow.fsmodes import FILE_MODE, private_dir

LOCK_NAME = "serve.lock"


class DataDirInUse(Exception):
    def __init__(self, data_dir: Path, holder: str) -> None:
        super().__init__(f"{data_dir} is in use by {holder}")
        self.data_dir = data_dir
        self.holder = holder


def hold(data_dir: Path, description: str) -> IO[str]:
    """Take the data dir for this process; keep the returned file open while serving."""
    if not data_dir.exists():
        private_dir(data_dir)  # 0700, as the service itself creates it
    fd = os.open(data_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT, FILE_MODE)
    fh = os.fdopen(fd, "r+", encoding="utf-8")
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.seek(0)
        holder = " ".join(fh.read(500).split()) or "another process"
        fh.close()
        raise DataDirInUse(data_dir, holder) from None
    fh.seek(0)
    fh.truncate()
    fh.write(f"vodflow serve (pid {os.getpid()}, {description})\n")
    fh.flush()
    return fh
