"""The sweeper: finds work nobody runs and hands it to the executor again.

The executor's queue is a hint that can be lost (a crash, a restart, a broker
outage, a replica that died between its commit and its send, Redis losing data);
the subtask rows are the truth. Every few seconds the sweeper re-derives lost
hints: each runnable subtask, and each runnable task that is one job (PullUpload,
EditMedia, SplitMedia, DescribeFileAttributes: core/job_tasks.py), (WAITING, or
PROCESSING whose lease expired) whose
last hint (`enqueued_at`) is older than `requeue_after_s` (the gap doubling with
the time it has waited, up to ten times that) gets another message; one whose
lease expired gets one at once. Each re-send is claimed by a conditional UPDATE of
`enqueued_at` first, so with several replicas exactly one sends it per period.
There is no cap: the sweep pages through every due subtask.

At start-up, leases held by a process of this host that no longer exists (a
kill -9 of the previous server) are expired at once instead of after the lease,
and when the queue lived in this process (the embedded executor) every runnable
subtask is re-submitted. A re-submitted job that someone else claims first is
simply refused by its lease.

It also removes the work directories that runs leave under the blob store's
`.tmp` when they die after their result was recorded: those of subtasks that have
ended (or no longer exist), once they are older than `WORK_DIR_MAX_AGE_S` (embedded:
at once at start-up, when every one is a dead process's). The
directory of an unfinished subtask is kept, since its next run reads the journal
of outputs a dead attempt swapped (core/subtasks.py). Every other entry of `.tmp`
(partial uploads, PullUpload downloads, covers, set-aside old blobs) that has not
changed for `TEMP_MAX_AGE_S` is left over from a crash and removed (at start and
with the housekeeping): live writers touch their file at least every read timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import shutil
import time
from pathlib import Path

from vodflow.blobstore import BlobStore
from vodflow.core.jobs import SUBTASK_JOB, TASK_JOBS, JobQueue
from vodflow.core.limits import SESSION_WINDOW_S
from vodflow.owners import HOST, OWNER, owner_dead
from vodflow.periodic import Periodic
from vodflow.status import SUBTASK_FINAL
from vodflow.store import credentials as credentials_q
from vodflow.store import tasks as q
from vodflow.store.db import Database
from vodflow.timeutil import now

log = logging.getLogger("vodflow.sweeper")

# Housekeeping (forgotten SessionIds, expired credentials, old work directories)
# runs every this many sweeps.
HOUSEKEEPING_EVERY = 600
WORK_DIR_MAX_AGE_S = 3600.0
TEMP_MAX_AGE_S = 3600.0
# Re-sends claimed per transaction (the sweep pages on until none is due).
BATCH = 500
_WORK_DIR = re.compile(r"^flow-(\d+)-[0-9a-f]+$")


def _last_change(path: Path) -> float:
    """The latest mtime or ctime (a rename into `.tmp` sets ctime) in `path`'s tree."""
    st = path.lstat()
    latest = max(st.st_mtime, st.st_ctime)
    if path.is_dir() and not path.is_symlink():
        for root, dirs, files in os.walk(path):
            for name in (*dirs, *files):
                with contextlib.suppress(OSError):
                    st = os.lstat(os.path.join(root, name))
                    latest = max(latest, st.st_mtime, st.st_ctime)
    return latest


def _remove_stale(tmp: Path, cutoff: float) -> int:
    removed = 0
    for entry in tmp.iterdir() if tmp.is_dir() else ():
        if _WORK_DIR.match(entry.name):
            continue  # clean_work_dirs decides by the subtask's state
        with contextlib.suppress(OSError):
            if _last_change(entry) >= cutoff:
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
            removed += 1
    if removed:
        log.info("removed %d stale temporary file(s) from %s", removed, tmp)
    return removed


class Sweeper(Periodic):
    def __init__(
        self,
        db: Database,
        blobs: BlobStore,
        queue: JobQueue,
        lease_s: float,
        interval: float | None = None,
        *,
        requeue_after_s: float = 60.0,
        volatile_queue: bool = True,
    ) -> None:
        interval = interval or max(0.5, min(10.0, lease_s / 3, requeue_after_s / 2))
        super().__init__("sweep", interval, self._tick, first_delay_s=interval)
        self.db = db
        self.blobs = blobs
        self.queue = queue
        self.requeue_after_s = requeue_after_s
        # The queue lives in this process (lost with it): re-send everything at start.
        self.volatile_queue = volatile_queue
        self._ticks = 0

    async def start(self) -> None:
        if self.volatile_queue and self.db.is_sqlite:
            # Embedded (one process per data dir, serve.lock): every work directory
            # is a dead process's. Those of ended subtasks (killed between recording
            # the result and removing the directory) go now, before any job runs,
            # rather than after WORK_DIR_MAX_AGE_S.
            await self.clean_work_dirs(max_age_s=0)
        await self.sweep(startup=True)
        try:
            await self.clean_temp_files()
        except OSError:
            log.warning("cleaning %s failed", self.blobs.tmp_dir, exc_info=True)
        await super().start()

    async def _tick(self) -> None:
        await self.sweep(startup=False)
        self._ticks += 1
        if self._ticks % HOUSEKEEPING_EVERY == 0:
            await self.housekeep()

    async def housekeep(self, at: float | None = None) -> None:
        """Forget SessionIds past their window and expired credentials; old work dirs."""
        t = now() if at is None else at
        async with self.db.tx() as conn:
            await q.purge_sessions(conn, t - SESSION_WINDOW_S)
            await credentials_q.purge_expired(conn, t)
        await self.clean_work_dirs()
        await self.clean_temp_files()

    async def clean_temp_files(
        self, max_age_s: float = TEMP_MAX_AGE_S, at: float | None = None
    ) -> int:
        """Remove `.tmp` entries (not work directories) unchanged for `max_age_s` before
        `at` (now); the number removed."""
        cutoff = (time.time() if at is None else at) - max_age_s
        return await asyncio.to_thread(_remove_stale, self.blobs.tmp_dir, cutoff)

    async def clean_work_dirs(self, max_age_s: float = WORK_DIR_MAX_AGE_S) -> int:
        """Remove old work directories of ended subtasks; the number removed."""
        tmp = self.blobs.tmp_dir
        cutoff = time.time() - max_age_s
        old: dict[int, Path] = {}
        for entry in tmp.iterdir() if tmp.is_dir() else ():
            match = _WORK_DIR.match(entry.name)
            with contextlib.suppress(OSError):
                if match and entry.is_dir() and entry.stat().st_mtime < cutoff:
                    old[int(match.group(1))] = entry
        removed = 0
        async with self.db.read() as conn:
            for subtask_id, path in old.items():
                row = await q.get_subtask(conn, subtask_id)
                if row is None or row["status"] in SUBTASK_FINAL:
                    await asyncio.to_thread(shutil.rmtree, path, True)
                    removed += 1
        return removed

    async def sweep(self, *, startup: bool, at: float | None = None) -> int:
        """Re-submit what nobody runs; the number of jobs submitted."""
        db = self.db
        if startup:
            async with db.tx() as conn:
                for row in await q.held_by_others(conn, HOST + ":"):
                    if owner_dead(row["lease_owner"], HOST, OWNER):
                        await q.expire_lease(conn, row["id"], row["lease_owner"])
                for row in await q.jobs_held_by_others(conn, HOST + ":"):
                    if owner_dead(row["lease_owner"], HOST, OWNER):
                        await q.expire_job_lease(conn, row["task_id"], row["lease_owner"])
        t = now() if at is None else at
        everything = startup and self.volatile_queue
        sent = 0
        for claim, key in ((q.claim_hints, "id"), (q.claim_job_hints, "task_id")):
            while True:
                async with db.tx() as conn:
                    rows = await claim(
                        conn,
                        t,
                        after_s=self.requeue_after_s,
                        max_gap_s=self.requeue_after_s * 10,
                        everything=everything,
                        limit=BATCH,
                    )
                for row in rows:
                    # A subtask, or a task that is one job (its kind by its type).
                    kind = TASK_JOBS[row["type"]] if "type" in row else SUBTASK_JOB
                    await self.queue.submit(kind, str(row[key]), int(row["priority"] or 0))
                sent += len(rows)
                if len(rows) < BATCH:
                    break
        if sent:
            log.info("sweeper re-submitted %d job(s)", sent)
        return sent
