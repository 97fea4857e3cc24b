"""What every leased job shares: the heartbeat that keeps a lease while the work runs.

Subtasks (core/subtasks.py) and the tasks that are one job each (core/job_tasks.py:
PullUpload, EditMedia, SplitMedia, DescribeFileAttributes) are claimed the same
way: a conditional UPDATE names this process (`owners.OWNER`) and a time until
which it holds the row. While the work runs, the lease is renewed every
HEARTBEAT_S; a renewal that finds the lease gone (aborted, or taken over after it
expired) stops the work, and so does a database that cannot renew it before it
runs out: another runner may take the job then, and two runs must never overlap.
A job whose lease was claimed more than MAX_ATTEMPTS times without an ending
(each a run that died) fails instead of running again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from vodflow.timeutil import now

log = logging.getLogger("vodflow.leases")

HEARTBEAT_S = 1.5
MAX_ATTEMPTS = 3


async def stop(job: asyncio.Task[Any]) -> None:
    """Cancel a running op (which kills its FFmpeg) and wait until it is gone."""
    job.cancel()
    with contextlib.suppress(BaseException):
        await job


async def hold(
    job: asyncio.Task[Any],
    renew: Callable[[float], Awaitable[bool]],
    *,
    lease_s: float,
    until: float,
    label: str,
) -> bool:
    """Wait for `job`, renewing the lease (`renew(new until)`) every HEARTBEAT_S.

    True when the job ended; False when the lease was lost or could not be renewed
    in time, the job then stopped. Cancelled (shutdown), the job is stopped first.
    """
    try:
        while True:
            done, _ = await asyncio.wait({job}, timeout=HEARTBEAT_S)
            if done:
                return True
            new_until = now() + lease_s
            try:
                held = await renew(new_until)
            except Exception as exc:
                log.warning("%s: lease renewal failed (%s); retrying", label, exc)
                if now() < until - HEARTBEAT_S:
                    continue
                log.warning("%s: lease not renewed in time, stopping", label)
                held = False
            if not held:
                log.info("%s was aborted or lost its lease: stopping", label)
                await stop(job)
                return False
            until = new_until
    except BaseException:
        # Shutdown (or a bug): asyncio.wait does not cancel the op; FFmpeg must not
        # outlive us, nor write into a work directory that is being removed.
        await stop(job)
        raise
