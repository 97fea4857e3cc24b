"""The PostgreSQL pool's pre-ping (store/db.py): one simple query, and still a dead
connection never reaches a transaction."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy import text

from vodflow.store.db import Database, asyncpg_dsn

pytestmark = pytest.mark.services


async def test_a_terminated_backend_is_replaced_at_checkout(pg_url: str) -> None:
    db = Database(pg_url, pool_size=2)
    admin = await asyncpg.connect(asyncpg_dsn(pg_url))
    try:
        for _ in range(3):
            async with db.tx() as conn:
                before = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            await admin.fetch("SELECT pg_terminate_backend($1)", before)
            async with db.tx() as conn:
                after = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            assert after != before
    finally:
        await admin.close()
        await db.close()
