"""The events sweeper: purge events older than the retention window (default 4 days).

Unconfirmed PULL events are kept at least that long (Tencent keeps them 4 days);
delivered, failed and confirmed ones go at the same age so the table stays the
size of a few days of traffic. Deletes run in small batches so that no single
transaction holds the write lock long.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlalchemy import select

from vodflow.store import events as q
from vodflow.store.db import Database
from vodflow.store.schema import apps
from vodflow.timeutil import now

log = logging.getLogger("vodflow.events")

BATCH = 2000


class RetentionSweeper:
    def __init__(self, db: Database, retention_s: float, interval_s: float) -> None:
        self.db = db
        self.retention_s = retention_s
        self.interval_s = interval_s
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="events-retention")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def purge_once(self) -> int:
        """Delete every event older than the window; the number deleted."""
        cutoff = now() - self.retention_s
        async with self.db.read() as conn:
            app_ids = [r[0] for r in (await conn.execute(select(apps.c.id))).all()]
        total = 0
        for app_id in app_ids:
            while True:
                async with self.db.tx() as conn:
                    n = await q.purge_before(conn, app_id, cutoff, BATCH)
                total += n
                if n < BATCH:
                    break
                await asyncio.sleep(0)  # let requests through between batches
        return total

    async def _run(self) -> None:
        while True:
            try:
                n = await self.purge_once()
                if n:
                    log.info("purged %d events older than %.0f s", n, self.retention_s)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("events retention sweep failed")
            await asyncio.sleep(self.interval_s)
