"""Noticing that an FFmpeg exited without a thread per process (Python 3.11 on Linux).

asyncio learns of a child's exit through its policy's child watcher. Python 3.11's
default, ThreadedChildWatcher, starts a thread per subprocess that blocks in
waitpid(): `Thread.start()` waits on the event loop's thread until the new thread
runs (a GIL hand-off, on a busy machine a switch interval), and the exit comes back
through `call_soon_threadsafe`. For a one-second snapshot that is a noticeable part
of the job. A pidfd (Linux 5.3+) becomes readable when the process exits: the event
loop waits for it like for a socket, no thread. Python 3.12 does exactly this by
default; `install` does it on 3.11, where the pidfd is available (else nothing
changes).

Unlike 3.11's own PidfdChildWatcher (tied to the loop it was attached to), this one
uses the loop that starts the process, as 3.12's does: any loop, in any thread.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import sys
from collections.abc import Callable
from typing import Any

log = logging.getLogger("vodflow.childwatch")


if sys.version_info < (3, 12):  # (3.12 deprecates child watchers: it has this one)

    class LoopPidfdWatcher(asyncio.AbstractChildWatcher):
        """A child watcher over pidfds, on the event loop that runs in the calling thread."""

        def __init__(self) -> None:
            self._pidfds: dict[int, tuple[asyncio.AbstractEventLoop, int]] = {}

        def __enter__(self) -> LoopPidfdWatcher:
            return self

        def __exit__(self, *exc: object) -> None:
            pass

        def is_active(self) -> bool:
            return True

        def close(self) -> None:
            pass

        def attach_loop(self, loop: asyncio.AbstractEventLoop | None) -> None:
            pass

        def add_child_handler(  # type: ignore[override]
            self, pid: int, callback: Callable[..., Any], *args: Any
        ) -> None:
            loop = asyncio.get_running_loop()
            pidfd = os.pidfd_open(pid)
            self._pidfds[pid] = (loop, pidfd)
            loop.add_reader(pidfd, self._exited, pid, callback, args)

        def remove_child_handler(self, pid: int) -> bool:
            entry = self._pidfds.pop(pid, None)
            if entry is None:
                return False
            loop, pidfd = entry
            loop.remove_reader(pidfd)
            os.close(pidfd)
            return True

        def _exited(self, pid: int, callback: Callable[..., Any], args: tuple[Any, ...]) -> None:
            entry = self._pidfds.pop(pid, None)
            if entry is None:
                return
            loop, pidfd = entry
            loop.remove_reader(pidfd)
            try:
                _, status = os.waitpid(pid, 0)
            except ChildProcessError:  # reaped elsewhere (as asyncio's own watchers say)
                log.warning("child process %d: exit status already read, returncode 255", pid)
                returncode = 255
            else:
                returncode = os.waitstatus_to_exitcode(status)
            os.close(pidfd)
            callback(pid, returncode, *args)


@functools.cache
def install() -> None:
    """Make asyncio watch child processes through pidfds (3.11 on Linux, once)."""
    if sys.version_info < (3, 12) and hasattr(os, "pidfd_open"):
        try:
            os.close(os.pidfd_open(os.getpid()))
        except OSError:
            return  # an older kernel, or a sandbox that forbids it: the default stays
        asyncio.set_child_watcher(LoopPidfdWatcher())
