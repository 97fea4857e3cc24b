"""Queries of the event outbox."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from vodflow.store.schema import events


async def add(conn: AsyncConnection, **values: Any) -> int:
    result = await conn.execute(insert(events).values(**values).returning(events.c.id))
    return int(result.scalar_one())
