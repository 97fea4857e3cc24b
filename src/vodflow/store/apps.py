"""Queries of the application aggregate (apps and their event configuration)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from vodflow.store.db import Reader
from vodflow.store.inline import prepared
from vodflow.store.schema import apps

# Every request resolves its application: built once, read inline on SQLite.
_GET = prepared(select(apps).where(apps.c.id == bindparam("app_id")))


async def get(conn: Reader, app_id: int) -> dict[str, Any] | None:
    row = (await conn.execute(_GET, {"app_id": app_id})).mappings().first()
    return dict(row) if row else None


async def create(conn: AsyncConnection, **values: Any) -> None:
    await conn.execute(insert(apps).values(**values))


async def next_id(conn: AsyncConnection, floor: int) -> int:
    top = (await conn.execute(select(func.max(apps.c.id)).where(apps.c.id > floor))).scalar()
    return (top or floor) + 1


async def listing(
    conn: AsyncConnection, *, name: str | None, offset: int, limit: int
) -> tuple[list[dict[str, Any]], int]:
    cond = apps.c.status != "Destroyed"
    if name is not None:
        cond = cond & (apps.c.name == name)
    total = (await conn.execute(select(func.count()).select_from(apps).where(cond))).scalar_one()
    rows = await conn.execute(
        select(apps).where(cond).order_by(apps.c.id).offset(offset).limit(limit)
    )
    return [dict(r) for r in rows.mappings()], total


async def modify(conn: AsyncConnection, app_id: int, **values: Any) -> None:
    await conn.execute(update(apps).where(apps.c.id == app_id).values(**values))
