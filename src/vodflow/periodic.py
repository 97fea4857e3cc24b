"""A background loop: call one coroutine every few seconds until stopped.

The sweepers (flows, library, events retention) are all this: start a task,
run a pass, log a failure without dying, sleep, and cancel cleanly on stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger("vodflow")


async def cancel_and_wait(task: asyncio.Task[Any] | None) -> None:
    """Cancel a background task and wait until it is gone (its cancellation swallowed)."""
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


class Periodic:
    """Runs `tick` every `interval_s` seconds (first after `first_delay_s`)."""

    def __init__(
        self,
        name: str,
        interval_s: float,
        tick: Callable[[], Awaitable[object]],
        *,
        first_delay_s: float = 0.0,
    ) -> None:
        self.name = name
        self.interval_s = interval_s
        self.tick = tick
        self.first_delay_s = first_delay_s
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None

    async def _run(self) -> None:
        await asyncio.sleep(self.first_delay_s)
        while True:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                # One failed pass must not end the loop: the next one may succeed.
                log.exception("%s failed", self.name)
            await asyncio.sleep(self.interval_s)
