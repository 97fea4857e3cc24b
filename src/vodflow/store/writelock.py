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
from types import TracebackType


class WriteLock:
    def __init__(self) -> None:
        self._locked = False
        self._urgent: deque[asyncio.Future[None]] = deque()
        self._normal: deque[asyncio.Future[None]] = deque()

    def locked(self) -> bool:
        return self._locked

    def hold(self, *, urgent: bool = False) -> _Hold:
        """`async with lock.hold():` the lock, released on leaving however it is left."""
        return _Hold(self, urgent)

    async def _acquire(self, urgent: bool) -> None:
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


class _Hold:
    """The context manager of `WriteLock.hold`: a class, not @asynccontextmanager, whose
    generator cost more than the inline statement it guards; a free lock is taken
    without awaiting anything."""

    __slots__ = ("_lock", "_urgent")

    def __init__(self, lock: WriteLock, urgent: bool) -> None:
        self._lock = lock
        self._urgent = urgent

    async def __aenter__(self) -> None:
        lock = self._lock
        if not lock._locked:
            lock._locked = True
            return
        await lock._acquire(self._urgent)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._lock._release()
