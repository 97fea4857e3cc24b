"""Queries of temporary credentials vodflow issued."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from vodflow.store.schema import credentials


async def get(conn: AsyncConnection, secret_id: str) -> dict[str, Any] | None:
    stmt = select(credentials).where(credentials.c.secret_id == secret_id)
    row = (await conn.execute(stmt)).mappings().first()
    return dict(row) if row else None


async def add(conn: AsyncConnection, **values: Any) -> None:
    await conn.execute(insert(credentials).values(**values))


async def purge_expired(conn: AsyncConnection, before: float) -> int:
    result = await conn.execute(delete(credentials).where(credentials.c.expires_at < before))
    return result.rowcount or 0


async def remove(conn: AsyncConnection, secret_id: str) -> None:
    await conn.execute(delete(credentials).where(credentials.c.secret_id == secret_id))
