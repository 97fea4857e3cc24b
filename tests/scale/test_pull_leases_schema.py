"""Migration 0011 (pull_leases) on both stores: events queued, leased, confirmed and
pushed before it keep their lease state, handle and pull count through the upgrade,
the downgrade to 0010 and the upgrade again; the queue then works on the result."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from alembic import command
from sqlalchemy import inspect, text

from vodflow.store import events as q
from vodflow.store.db import Database
from vodflow.store.migrate import alembic_config, upgrade_async

pytestmark = pytest.mark.services

APP = 1250000000
T = 1_000_000.0
# id, mode, visible_at, handle, confirmed_at, attempts (as the events table had them)
BEFORE = [
    (1, "PULL", T, None, None, 0),  # queued, never pulled
    (2, "PULL", T + 30, "a" * 16, None, 2),  # leased (pulled twice)
    (3, "PULL", None, "b" * 16, T + 5, 1),  # confirmed
    (4, "PUSH", None, None, None, 3),  # a PUSH event: no lease row
]


async def _to(url: str, revision: str) -> None:
    await asyncio.to_thread(command.downgrade, alembic_config(url), revision)


async def _columns(db: Database, table: str) -> set[str]:
    async with db.engine.connect() as conn:
        cols = await conn.run_sync(lambda c: inspect(c).get_columns(table))
    return {c["name"] for c in cols}


async def _rows(db: Database, sql: str) -> list[tuple[Any, ...]]:
    async with db.read() as conn:
        return [tuple(r) for r in (await conn.execute(text(sql))).all()]


async def test_migration_0011_moves_lease_state_and_back(store_url: str) -> None:
    url = store_url
    await upgrade_async(url)
    await _to(url, "0010")
    db = Database(url)
    try:
        async with db.tx() as conn:
            for event_id, mode, visible, handle, confirmed, attempts in BEFORE:
                await conn.execute(
                    text(
                        "INSERT INTO events (id, app_id, event_type, body, mode, create_time, "
                        "visible_at, handle, confirmed_at, attempts) VALUES (:id, :app, "
                        "'ProcedureStateChanged', '{}', :mode, :t, :v, :h, :c, :a)"
                    ),
                    {
                        "id": event_id, "app": APP, "mode": mode, "t": T, "v": visible,
                        "h": handle, "c": confirmed, "a": attempts,
                    },
                )  # fmt: skip
        await upgrade_async(url)
        leases = "SELECT event_id, visible_at, handle, confirmed_at, attempts FROM pull_leases"
        moved = [(i, v, h, c, a) for i, mode, v, h, c, a in BEFORE if mode == "PULL"]
        assert sorted(await _rows(db, leases)) == moved
        assert not {"visible_at", "handle", "confirmed_at"} & await _columns(db, "events")

        await _to(url, "0010")
        assert "pull_leases" not in await _tables(db)
        back = "SELECT id, mode, visible_at, handle, confirmed_at, attempts FROM events"
        assert sorted(await _rows(db, back)) == BEFORE

        await upgrade_async(url)
        assert sorted(await _rows(db, leases)) == moved
        # The queue on the result: only event 1 is visible (2 is leased, 3 confirmed).
        async with db.read() as conn:
            assert await q.any_visible(conn, APP, T + 1)
            assert await q.count_to_pull(conn, APP) == 2
            rows, total = await q.listing(conn, APP, offset=0, limit=10, event_types=None,
                                          status=None, start=None, end=None)  # fmt: skip
        assert total == 4
        by_id = {r["id"]: r for r in rows}
        assert [by_id[i]["attempts"] for i in (1, 2, 3, 4)] == [0, 2, 1, 3]
        assert by_id[3]["confirmed_at"] == T + 5 and by_id[4]["confirmed_at"] is None
    finally:
        await db.close()


async def _tables(db: Database) -> set[str]:
    async with db.engine.connect() as conn:
        return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
