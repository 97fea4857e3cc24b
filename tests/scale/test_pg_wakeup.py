"""What a commit announces to the other processes on PostgreSQL (notify/pg_wakeup.py):
an event's own INSERT carries its NOTIFY, which PostgreSQL sends only on commit."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest

from vodflow.core import events
from vodflow.notify.pg_wakeup import CHANNEL, PgWakeup
from vodflow.notify.wakeup import Hub
from vodflow.store import events as q
from vodflow.store.db import Database, asyncpg_dsn
from vodflow.store.migrate import upgrade_async

pytestmark = pytest.mark.services


def _app(app_id: int) -> dict[str, Any]:
    return {"id": app_id, "event_mode": "PULL", "delete_event_switch": "ON"}


async def _emit(db: Database, *app_ids: int, fail: bool = False) -> None:
    async with db.tx() as conn:
        for app_id in app_ids:
            await events.emit(conn, _app(app_id), "FileDeleted", {"FileIdSet": ["1"]})
        if fail:
            raise RuntimeError("rolled back")


async def test_events_are_announced_by_their_insert_only_when_committed(pg_url: str) -> None:
    await upgrade_async(pg_url)
    db = Database(pg_url)
    sender = PgWakeup(pg_url)
    sender.attach(db.engine, Hub())
    heard: asyncio.Queue[str] = asyncio.Queue()
    listener = await asyncpg.connect(asyncpg_dsn(pg_url))
    await listener.add_listener(CHANNEL, lambda *args: heard.put_nowait(args[-1]))

    async def next_heard() -> str:
        return await asyncio.wait_for(heard.get(), 30)

    try:
        await _emit(db, 7)
        assert await next_heard() == f"{sender.origin}:7"
        # A rolled-back event is never announced, nor remembered as announced: the
        # next commit (in commit order) is the next notice, and announces its own.
        with pytest.raises(RuntimeError):
            await _emit(db, 8, fail=True)
        await _emit(db, 8)
        assert await next_heard() == f"{sender.origin}:8"
        # Two events of one application: one notice (PostgreSQL folds equal ones).
        await _emit(db, 9, 9)
        await _emit(db, 10)
        assert [await next_heard(), await next_heard()] == [
            f"{sender.origin}:9",
            f"{sender.origin}:10",
        ]
        # Marked without an event row (a redelivery): the commit hook announces it.
        async with db.tx() as conn:
            conn.info.setdefault(q.PENDING_KEY, set()).add(11)
        assert await next_heard() == f"{sender.origin}:11"
        assert heard.empty()
    finally:
        await listener.close()
        await db.close()
