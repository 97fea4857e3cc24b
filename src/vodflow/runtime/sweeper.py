"""The sweeper: finds work nobody runs and hands it to the executor again.

The executor's queue is a hint that can be lost (a crash, a restart, a broker
hiccup); the subtask rows are the truth. At start-up the sweeper re-submits every
WAITING subtask and every PROCESSING one whose runner is gone: its lease expired,
or its owner was a process on this host that no longer exists (a kill -9 of the
previous server), which is recovered at once instead of after the lease. Then,
every few seconds, subtasks whose lease expired are re-submitted. A re-submitted
job that someone else claims first is simply refused by its lease.

It also removes the work directories that runs leave under the blob store's
`.tmp` when they die after their result was recorded: those of subtasks that have
ended (or no longer exist), once they are older than `WORK_DIR_MAX_AGE_S`. The
directory of an unfinished subtask is kept, since its next run reads the journal
of outputs a dead attempt swapped (core/subtasks.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import shutil
import signal
import time
from pathlib import Path
from typing import TYPE_CHECKING

from vodflow.store import tasks as q
from vodflow.timeutil import now

if TYPE_CHECKING:
    from vodflow.app import Services

log = logging.getLogger("vodflow.sweeper")

JOB_KIND = "subtask"
SESSION_WINDOW_S = 3 * 24 * 3600.0
WORK_DIR_MAX_AGE_S = 3600.0
_WORK_DIR = re.compile(r"^flow-(\d+)-[0-9a-f]+$")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def owner_dead(owner: str | None, host: str, me: str) -> bool:
    """Whether a lease owner `host:pid:token` is a process of this host that is gone."""
    if not owner or owner == me:
        return False
    parts = owner.split(":")
    if len(parts) != 3 or parts[0] != host:
        return False
    try:
        pid = int(parts[1])
    except ValueError:
        return False
    # Our own pid with another token is a previous incarnation (pid reuse after restart).
    return pid == os.getpid() or not _pid_alive(pid)


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


class Sweeper:
    def __init__(self, services: Services, interval: float | None = None) -> None:
        self.services = services
        lease = services.settings.lease_s
        self.interval = interval or max(0.5, min(10.0, lease / 3))
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.sweep(startup=True)
        self._task = asyncio.create_task(self._loop(), name="vodflow-sweeper")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        ticks = 0
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.sweep(startup=False)
                ticks += 1
                if ticks % 600 == 0:
                    async with self.services.db.tx() as conn:
                        await q.purge_sessions(conn, now() - SESSION_WINDOW_S)
                    await self.clean_work_dirs()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("sweep failed")

    async def clean_work_dirs(self, max_age_s: float = WORK_DIR_MAX_AGE_S) -> int:
        """Remove old work directories of ended subtasks; the number removed."""
        tmp = self.services.blobs.tmp_dir
        cutoff = time.time() - max_age_s
        old: dict[int, Path] = {}
        for entry in tmp.iterdir() if tmp.is_dir() else ():
            match = _WORK_DIR.match(entry.name)
            with contextlib.suppress(OSError):
                if match and entry.is_dir() and entry.stat().st_mtime < cutoff:
                    old[int(match.group(1))] = entry
        removed = 0
        async with self.services.db.read() as conn:
            for subtask_id, path in old.items():
                row = await q.get_subtask(conn, subtask_id)
                if row is None or row["status"] in q.FINAL:
                    await asyncio.to_thread(shutil.rmtree, path, True)
                    removed += 1
        return removed

    async def sweep(self, *, startup: bool) -> int:
        """Re-submit what nobody runs; the number of jobs submitted."""
        from vodflow.core.subtasks import HOST, OWNER

        executor = self.services.executor
        if executor is None:
            return 0
        db = self.services.db
        if startup:
            async with db.tx() as conn:
                for row in await q.held_by_others(conn, HOST + ":"):
                    if owner_dead(row["lease_owner"], HOST, OWNER):
                        await q.expire_lease(conn, row["id"], row["lease_owner"])
        async with db.read() as conn:
            rows = await q.runnable(conn, now(), waiting=startup)
        for row in rows:
            await executor.submit(JOB_KIND, str(row["id"]), int(row["priority"] or 0))
        if rows:
            log.info("sweeper re-submitted %d subtask(s)", len(rows))
        return len(rows)
