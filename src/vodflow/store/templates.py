"""Queries of custom parameter templates and procedure templates.

Every query names the application: one application never sees another's rows.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from vodflow.store.schema import procedure_templates as procs
from vodflow.store.schema import templates


async def get(
    conn: AsyncConnection, app_id: int, kind: str, definition: int
) -> dict[str, Any] | None:
    row = (
        (
            await conn.execute(
                select(templates).where(
                    templates.c.app_id == app_id,
                    templates.c.kind == kind,
                    templates.c.definition == definition,
                )
            )
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


async def listing(
    conn: AsyncConnection, app_id: int, kind: str, definitions: list[int] | None
) -> list[dict[str, Any]]:
    """All of the application's templates of one kind, oldest first."""
    cond = (templates.c.app_id == app_id) & (templates.c.kind == kind)
    if definitions is not None:
        cond = cond & templates.c.definition.in_(definitions)
    rows = await conn.execute(select(templates).where(cond).order_by(templates.c.definition))
    return [dict(r) for r in rows.mappings()]


async def count(conn: AsyncConnection, app_id: int, kind: str) -> int:
    q = select(func.count()).select_from(templates)
    q = q.where(templates.c.app_id == app_id, templates.c.kind == kind)
    return (await conn.execute(q)).scalar_one()


async def next_definition(conn: AsyncConnection, floor: int) -> int:
    """Custom definitions are unique over every kind and application."""
    top = (await conn.execute(select(func.max(templates.c.definition)))).scalar()
    return max(top or 0, floor) + 1


async def create(conn: AsyncConnection, **values: Any) -> None:
    await conn.execute(insert(templates).values(**values))


async def modify(conn: AsyncConnection, row_id: int, **values: Any) -> None:
    await conn.execute(update(templates).where(templates.c.id == row_id).values(**values))


# The kind of a deleted template's row: no query asks for it, but its Definition
# stays taken, so `next_definition` never hands it out again (stored references,
# e.g. a procedure's or an output's Definition, must never point at another template).
DELETED_KIND = "Deleted"


async def remove(conn: AsyncConnection, row_id: int) -> None:
    await conn.execute(
        update(templates)
        .where(templates.c.id == row_id)
        .values(kind=DELETED_KIND, name="", comment="", params={})
    )


async def get_procedure(conn: AsyncConnection, app_id: int, name: str) -> dict[str, Any] | None:
    q = select(procs).where(procs.c.app_id == app_id, procs.c.name == name)
    row = (await conn.execute(q)).mappings().first()
    return dict(row) if row else None


async def list_procedures(
    conn: AsyncConnection, app_id: int, names: list[str] | None
) -> list[dict[str, Any]]:
    cond = procs.c.app_id == app_id
    if names is not None:
        cond = cond & procs.c.name.in_(names)
    rows = await conn.execute(select(procs).where(cond).order_by(procs.c.create_time, procs.c.name))
    return [dict(r) for r in rows.mappings()]


async def count_procedures(conn: AsyncConnection, app_id: int) -> int:
    q = select(func.count()).select_from(procs).where(procs.c.app_id == app_id)
    return (await conn.execute(q)).scalar_one()


async def create_procedure(conn: AsyncConnection, **values: Any) -> None:
    await conn.execute(insert(procs).values(**values))


async def modify_procedure(conn: AsyncConnection, app_id: int, name: str, **values: Any) -> None:
    await conn.execute(
        update(procs).where(procs.c.app_id == app_id, procs.c.name == name).values(**values)
    )


async def remove_procedure(conn: AsyncConnection, app_id: int, name: str) -> int:
    result = await conn.execute(delete(procs).where(procs.c.app_id == app_id, procs.c.name == name))
    return result.rowcount or 0
