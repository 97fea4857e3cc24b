"""Queries of temporary credentials vodflow issued."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from vodflow.store.db import Reader
from vodflow.store.inline import prepared
from vodflow.store.schema import credentials

# Every request signed by a temporary credential looks it up: built once, read inline.
_GET = prepared(select(credentials).where(credentials.c.secret_id == bindparam("secret_id")))


async def get(conn: Reader, secret_id: str) -> dict[str, Any] | None:
    row = (await conn.execute(_GET, {"secret_id": secret_id})).mappings().first()
    return dict(row) if row else None


async def add(conn: AsyncConnection, **values: Any) -> None:
    await conn.execute(insert(credentials).values(**values))


async def purge_expired(conn: AsyncConnection, before: float) -> int:
    result = await conn.execute(delete(credentials).where(credentials.c.expires_at < before))
    return result.rowcount or 0


async def remove(conn: AsyncConnection, secret_id: str) -> None:
    await conn.execute(delete(credentials).where(credentials.c.secret_id == secret_id))
