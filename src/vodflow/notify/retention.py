"""The events sweeper: purge events older than the retention window (default 4 days).

Unconfirmed PULL events are kept at least that long (Tencent keeps them 4 days);
delivered, failed and confirmed ones go at the same age so the table stays the
size of a few days of traffic. Deletes run in small batches so that no single
transaction holds the write lock long.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import select

from vodflow.periodic import Periodic
from vodflow.store import events as q
from vodflow.store.db import Database
from vodflow.store.schema import apps
from vodflow.timeutil import now

log = logging.getLogger("vodflow.events")

BATCH = 2000


class RetentionSweeper(Periodic):
    def __init__(self, db: Database, retention_s: float, interval_s: float) -> None:
        super().__init__("events retention sweep", interval_s, self._pass)
        self.db = db
        self.retention_s = retention_s

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

    async def _pass(self) -> None:
        n = await self.purge_once()
        if n:
            log.info("purged %d events older than %.0f s", n, self.retention_s)
