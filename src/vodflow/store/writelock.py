"""The SQLite write lock of one process, with a fast lane.

Writes of the embedded deployment are serialised by this lock rather than by
SQLite's busy-waiting. Most writers are ordinary transactions through aiosqlite,
each holding the lock for several thread hops. A few are single inline statements
of microseconds (the pull queue's claims and confirms, the push relay's claims and
outcome batches) whose latency is the product: those wait *urgent*, ahead of any
queue of ordinary transactions, so a burst of writers cannot delay the delivery
of events already committed. Within each lane, first come, first served.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class WriteLock:
    def __init__(self) -> None:
        self._locked = False
        self._urgent: deque[asyncio.Future[None]] = deque()
        self._normal: deque[asyncio.Future[None]] = deque()

    def locked(self) -> bool:
        return self._locked

    @asynccontextmanager
    async def hold(self, *, urgent: bool = False) -> AsyncIterator[None]:
        await self._acquire(urgent)
        try:
            yield
        finally:
            self._release()

    async def _acquire(self, urgent: bool) -> None:
        if not self._locked:
            self._locked = True
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        (self._urgent if urgent else self._normal).append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if not waiter.cancelled():  # granted just before the cancellation: pass it on
                self._release()
            raise

    def _release(self) -> None:
        """Hand the lock to the next live waiter (urgent first), or unlock."""
        for lane in (self._urgent, self._normal):
            while lane:
                waiter = lane.popleft()
                if not waiter.done():
                    waiter.set_result(None)  # stays locked: ownership passes on
                    return
        self._locked = False
