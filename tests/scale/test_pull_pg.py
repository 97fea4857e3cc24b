"""The PULL queue on PostgreSQL (issue 16, goal 3): the claim's plan, and the queue's
rules through its asyncpg statements (store/pg_queue.py), in-process on a real server."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from tests.events_support import emit_many, running_services
from vodflow.app import Services
from vodflow.errors import VodError
from vodflow.store.pg_queue import CLAIM

pytestmark = pytest.mark.services

APP = 1250000000


@asynccontextmanager
async def pg_services(tmp_path: Path, pg_url: str, **overrides: Any) -> AsyncIterator[Services]:
    async with running_services(tmp_path, database_url=pg_url, **overrides) as s:
        yield s


async def _connect(pg_url: str) -> asyncpg.Connection:
    from vodflow.store.db import asyncpg_dsn

    return await asyncpg.connect(asyncpg_dsn(pg_url))


async def _plan(conn: asyncpg.Connection, *, generic: bool) -> str:
    """EXPLAIN of the claim as the queue sends it (a prepared statement with parameters)."""
    t = time.time()
    async with conn.transaction():
        mode = "force_generic_plan" if generic else "force_custom_plan"
        await conn.execute(f"SET LOCAL plan_cache_mode = {mode}")
        rows = await conn.fetch("EXPLAIN " + CLAIM, t + 60, "tok", APP, t, 16)
    return "\n".join(r[0] for r in rows)


async def test_claim_walks_the_index_in_order_with_or_without_statistics(
    pg_url: str, tmp_path: Path
) -> None:
    """The claim's ORDER BY (visible_at, event_id) is the order of ix_pull_leases_live,
    so the plan reads the first entries of the index and sorts nothing, before any
    ANALYZE (where the old two-column index sorted every live row) and after it."""
    async with pg_services(tmp_path, pg_url):
        conn = await _connect(pg_url)
        try:
            for table in ("events", "pull_leases"):
                await conn.execute(f"ALTER TABLE {table} SET (autovacuum_enabled = false)")
            # 5,000 live events of one application, all visible at the same instant
            # (ties on visible_at: the order then rests on id alone), bodies of 1.4 KB.
            await conn.execute(
                "INSERT INTO events (app_id, event_type, body, mode, create_time, attempts) "
                "SELECT $1, 'ProcedureStateChanged', repeat('x', 1400), 'PULL', $2, 0 "
                "FROM generate_series(1, 5000)",
                APP,
                time.time() - 10,
            )
            await conn.execute(
                "INSERT INTO pull_leases (event_id, app_id, visible_at) "
                "SELECT id, app_id, create_time FROM events"
            )
            stats = await conn.fetchrow(
                "SELECT last_analyze, last_autoanalyze FROM pg_stat_user_tables "
                "WHERE relname = 'pull_leases'"
            )
            assert stats is not None and tuple(stats) == (None, None)
            for analyzed in (False, True):
                if analyzed:
                    await conn.execute("ANALYZE events; ANALYZE pull_leases")
                for generic in (False, True):
                    plan = await _plan(conn, generic=generic)
                    assert "Index Scan using ix_pull_leases_live" in plan, plan
                    assert "Sort" not in plan, plan
            index = "SELECT pg_get_indexdef('ix_pull_leases_live'::regclass)"
            columns = await conn.fetchval(index)
            assert "(app_id, visible_at, event_id)" in columns, columns
        finally:
            await conn.close()


async def test_pull_confirm_and_refusals_on_postgresql(pg_url: str, tmp_path: Path) -> None:
    """Sixteen at most, fresh handles, confirmed events never come back, confirming
    twice is harmless; a superseded, an expired and another application's handle are
    refused, and the good handles of the same call stay confirmed."""
    async with pg_services(tmp_path, pg_url, pull_wait_s=0.2, pull_visibility_s=1.0) as s:
        q = s.events.queue
        await emit_many(s, 40)
        first = await q.pull(APP)
        assert len(first) == 16 and len({e.handle for e in first}) == 16
        assert [e.event_id for e in first] == sorted(e.event_id for e in first)
        await q.confirm(APP, [e.handle for e in first])
        await q.confirm(APP, [e.handle for e in first])  # again: harmless
        assert await q.count(APP) == 24
        seen = {e.event_id for e in first}
        second = await q.pull(APP)
        assert not seen & {e.event_id for e in second}
        # Let the second lease run out: its handles are expired, then superseded.
        await asyncio.sleep(1.2)
        with pytest.raises(VodError) as info:
            await q.confirm(APP, [second[0].handle])
        assert "expired" in info.value.message
        again = await q.pull(APP)
        assert {e.event_id for e in again} >= {second[0].event_id}
        with pytest.raises(VodError) as info:
            await q.confirm(APP, [second[1].handle, again[0].handle])
        assert "superseded" in info.value.message
        assert await q.count(APP) == 23  # again[0] went through
        other = await s.apps.create("other", "", "fileid")
        with pytest.raises(VodError):
            await q.confirm(other, [again[1].handle])
        await q.confirm(APP, [e.handle for e in again[1:]])
        while got := await q.pull(APP, wait_s=0):
            await q.confirm(APP, [e.handle for e in got])
        assert await q.count(APP) == 0


async def test_concurrent_pullers_get_disjoint_events_on_postgresql(
    pg_url: str, tmp_path: Path
) -> None:
    async with pg_services(tmp_path, pg_url, pull_wait_s=0.2, pull_visibility_s=30) as s:
        q = s.events.queue
        await emit_many(s, 300)
        results = await asyncio.gather(*(q.pull(APP) for _ in range(30)))
        ids = [e.event_id for batch in results for e in batch]
        assert len(ids) == len(set(ids)) == 300


async def test_queue_survives_its_connections_being_terminated(pg_url: str, tmp_path: Path) -> None:
    """Backends of the queue's pool terminated between requests (a restart, a failover):
    the next pull and confirmation still answer (one new connection each)."""
    async with pg_services(tmp_path, pg_url, pull_wait_s=0.2) as s:
        q = s.events.queue
        await emit_many(s, 3)
        admin = await _connect(pg_url)
        try:
            for _ in range(3):
                got = await q.pull(APP, limit=1)
                await admin.fetch(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
                await q.confirm(APP, [got[0].handle])
        finally:
            await admin.close()
        assert await q.count(APP) == 0
