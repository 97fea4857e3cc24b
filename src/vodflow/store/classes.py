"""Queries of media categories (the classes of CreateClass), per application."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from vodflow.store.db import Reader
from vodflow.store.inline import prepared
from vodflow.store.schema import classes, media


async def add(conn: AsyncConnection, **values: Any) -> int:
    result = await conn.execute(insert(classes).values(**values).returning(classes.c.id))
    return int(result.scalar_one())


# Read by DescribeMediaInfos (class names): built once, read inline on SQLite.
_ALL_OF = prepared(
    select(classes).where(classes.c.app_id == bindparam("app_id")).order_by(classes.c.id)
)


async def all_of(conn: Reader, app_id: int) -> list[dict[str, Any]]:
    """Every class of an application, oldest first."""
    return [dict(r) for r in (await conn.execute(_ALL_OF, {"app_id": app_id})).mappings()]


async def get(
    conn: AsyncConnection, app_id: int, class_id: int, *, lock: str | None = None
) -> dict[str, Any] | None:
    """A class row; `lock` "share" or "update" holds it to the end of the transaction
    on PostgreSQL (SQLite serialises writers anyway), so a media cannot be filed in
    a class while it is being deleted."""
    stmt = select(classes).where(classes.c.app_id == app_id, classes.c.id == class_id)
    if lock is not None:
        stmt = stmt.with_for_update(read=lock == "share")
    row = (await conn.execute(stmt)).mappings().first()
    return dict(row) if row else None


async def children(conn: AsyncConnection, app_id: int, parent_id: int) -> list[dict[str, Any]]:
    stmt = select(classes).where(classes.c.app_id == app_id, classes.c.parent_id == parent_id)
    return [dict(r) for r in (await conn.execute(stmt)).mappings()]


async def rename(conn: AsyncConnection, app_id: int, class_id: int, name: str) -> None:
    stmt = update(classes).where(classes.c.app_id == app_id, classes.c.id == class_id)
    await conn.execute(stmt.values(name=name))


async def remove(conn: AsyncConnection, app_id: int, class_id: int) -> None:
    await conn.execute(delete(classes).where(classes.c.app_id == app_id, classes.c.id == class_id))


async def media_count(conn: AsyncConnection, app_id: int, class_id: int) -> int:
    stmt = select(func.count()).where(media.c.app_id == app_id, media.c.class_id == class_id)
    return int((await conn.execute(stmt)).scalar_one())
