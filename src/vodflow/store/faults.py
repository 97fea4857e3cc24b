"""Queries of fault injection rules and their firings (core/faults.py decides)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from vodflow.store.schema import fault_firings as F
from vodflow.store.schema import fault_rules as R


async def add_rule(conn: AsyncConnection, **values: Any) -> None:
    await conn.execute(insert(R).values(fired=0, draws=0, **values))


async def count_rules(conn: AsyncConnection, app_id: int) -> int:
    stmt = select(func.count()).select_from(R).where(R.c.app_id == app_id)
    return int((await conn.execute(stmt)).scalar_one())


async def rules_of(
    conn: AsyncConnection, app_id: int, rule_ids: Sequence[str] = ()
) -> list[dict[str, Any]]:
    stmt = select(R).where(R.c.app_id == app_id).order_by(R.c.id)
    if rule_ids:
        stmt = stmt.where(R.c.rule_id.in_(list(rule_ids)))
    return [dict(r) for r in (await conn.execute(stmt)).mappings()]


async def live_rules(
    conn: AsyncConnection, app_id: int, kinds: Sequence[str], now: float
) -> list[dict[str, Any]]:
    """Rules of the app, of these kinds, neither expired nor used up, oldest first."""
    stmt = (
        select(R)
        .where(
            R.c.app_id == app_id,
            R.c.kind.in_(list(kinds)),
            or_(R.c.expire_at.is_(None), R.c.expire_at > now),
            or_(R.c.remaining.is_(None), R.c.remaining > 0),
        )
        .order_by(R.c.id)
    )
    return [dict(r) for r in (await conn.execute(stmt)).mappings()]


async def lock_rule(conn: AsyncConnection, rule_id: str) -> dict[str, Any] | None:
    """The rule, locked until the transaction ends (PostgreSQL; SQLite's writer is alone)."""
    stmt = select(R).where(R.c.rule_id == rule_id).with_for_update()
    row = (await conn.execute(stmt)).mappings().first()
    return dict(row) if row else None


async def fired_on(conn: AsyncConnection, rule_id: str, key: str) -> bool:
    stmt = select(F.c.id).where(F.c.rule_id == rule_id, F.c.target_key == key).limit(1)
    return (await conn.execute(stmt)).first() is not None


async def update_rule(conn: AsyncConnection, rule_id: str, **values: Any) -> None:
    await conn.execute(update(R).where(R.c.rule_id == rule_id).values(**values))


async def add_firing(conn: AsyncConnection, **values: Any) -> None:
    await conn.execute(insert(F).values(**values))


async def firings_of(
    conn: AsyncConnection, app_id: int, rule_ids: Sequence[str] = ()
) -> list[dict[str, Any]]:
    stmt = select(F).where(F.c.app_id == app_id).order_by(F.c.id)
    if rule_ids:
        stmt = stmt.where(F.c.rule_id.in_(list(rule_ids)))
    return [dict(r) for r in (await conn.execute(stmt)).mappings()]


async def delete_rules(conn: AsyncConnection, app_id: int, rule_ids: Sequence[str]) -> None:
    await conn.execute(delete(R).where(R.c.app_id == app_id, R.c.rule_id.in_(list(rule_ids))))


async def delete_all(conn: AsyncConnection, app_id: int) -> None:
    await conn.execute(delete(R).where(R.c.app_id == app_id))
    await conn.execute(delete(F).where(F.c.app_id == app_id))
