"""The executor: one narrow interface, several backends chosen by configuration.

Executors are told "run job (kind, id)"; they hold no state that matters. The
database is the truth (leases on subtask rows), the queue is a hint: a job that is
lost is found again by the sweeper, and a job delivered twice is refused by its
lease. What a job kind runs is runtime/jobs.py's one table, so the same core
entry point runs under the in-process pool and under Celery workers.
"""

from __future__ import annotations

import asyncio
import contextvars
import itertools
import logging
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from vodflow.core.jobs import JOB_SLOT

log = logging.getLogger("vodflow.executor")

# Runs job (kind, id): runtime/jobs.py's JobTable.run.
RunJob = Callable[[str, str], Awaitable[None]]


class Executor(Protocol):
    async def submit(self, kind: str, job_id: str, priority: int = 0) -> None: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class LanedExecutor:
    """Two lanes: PullUpload downloads (network waits) in a bounded in-process pool of
    their own, everything else (media work) in the configured executor. A slow
    source can then never hold a slot that a flow's FFmpeg needs, in any app."""

    def __init__(self, media: Executor, pulls: Executor, pull_kinds: frozenset[str]) -> None:
        self.media = media
        self.pulls = pulls
        self.pull_kinds = pull_kinds

    async def submit(self, kind: str, job_id: str, priority: int = 0) -> None:
        lane = self.pulls if kind in self.pull_kinds else self.media
        await lane.submit(kind, job_id, priority)

    async def check_broker(self) -> None:
        """Raise unless the media lane's broker (if it has one) answers now."""
        check = getattr(self.media, "check_broker", None)
        if check is not None:
            await check()

    async def start(self) -> None:
        await self.media.start()
        await self.pulls.start()

    async def stop(self) -> None:
        await self.pulls.stop()
        await self.media.stop()


def default_concurrency() -> int:
    return max(1, (os.cpu_count() or 1))


@dataclass(order=True)
class _Item:
    rank: tuple[int, int]
    kind: str = field(compare=False)
    job_id: str = field(compare=False)


class LocalExecutor:
    """An in-process pool of asyncio workers over a priority queue.

    Media work is FFmpeg subprocesses and probes in threads, so asyncio workers
    suffice; `concurrency` bounds how many run at once (higher priority first).
    A job may give its slot back before it ends (core/jobs.py `free_slot`: its FFmpeg
    is done, its end is being recorded): the worker then takes the next job while the
    first one finishes in the background; `stop` cancels those too.
    """

    def __init__(self, run_job: RunJob, concurrency: int | None = None) -> None:
        self.run_job = run_job
        self.concurrency = concurrency or default_concurrency()
        self._queue: asyncio.PriorityQueue[_Item] = asyncio.PriorityQueue()
        self._counter = itertools.count()
        self._workers: list[asyncio.Task[None]] = []
        self._jobs: set[asyncio.Task[None]] = set()

    async def submit(self, kind: str, job_id: str, priority: int = 0) -> None:
        await self._queue.put(_Item((-priority, next(self._counter)), kind, job_id))

    async def start(self) -> None:
        self._workers = [
            asyncio.create_task(self._work(), name=f"vodflow-worker-{i}")
            for i in range(self.concurrency)
        ]

    async def stop(self) -> None:
        for task in [*self._workers, *self._jobs]:
            task.cancel()
        await asyncio.gather(*self._workers, *self._jobs, return_exceptions=True)
        self._workers = []

    async def _work(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            item = await self._queue.get()
            slot: asyncio.Future[None] = loop.create_future()

            def release(_job: object = None, slot: asyncio.Future[None] = slot) -> None:
                if not slot.done():
                    slot.set_result(None)

            context = contextvars.copy_context()
            context.run(JOB_SLOT.set, release)
            job = asyncio.create_task(self._run(item), context=context)
            self._jobs.add(job)
            job.add_done_callback(self._jobs.discard)
            job.add_done_callback(release)  # the slot is free when the job ends, at the latest
            await slot  # (cancelled by `stop`, as `job` is)

    async def _run(self, item: _Item) -> None:
        try:
            await self.run_job(item.kind, item.job_id)
        except asyncio.CancelledError:
            raise
        except Exception:
            # The handler records failures on its rows; this is the last resort.
            log.exception("job %s %s failed", item.kind, item.job_id)
        finally:
            self._queue.task_done()
