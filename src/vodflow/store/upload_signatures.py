"""Spent one-time client upload signatures (oneTimeValid=1)."""

from __future__ import annotations

from sqlalchemy import delete, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from vodflow.store.schema import spent_upload_signatures as t


async def spend(conn: AsyncConnection, digest: str, expires_at: float, now: float) -> None:
    """Record `digest` as used (IntegrityError when it was), forgetting expired ones."""
    await conn.execute(delete(t).where(t.c.expires_at < now))
    await conn.execute(insert(t).values(digest=digest, expires_at=expires_at))
