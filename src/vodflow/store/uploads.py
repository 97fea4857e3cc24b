"""Queries of upload sessions (ApplyUpload .. CommitUpload) and their multipart uploads."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from vodflow.store.schema import multipart_uploads, upload_sessions


async def add_session(conn: AsyncConnection, **values: Any) -> None:
    await conn.execute(insert(upload_sessions).values(**values))


async def get_session(conn: AsyncConnection, session_key: str) -> dict[str, Any] | None:
    stmt = select(upload_sessions).where(upload_sessions.c.session_key == session_key)
    row = (await conn.execute(stmt)).mappings().first()
    return dict(row) if row else None


async def transition(
    conn: AsyncConnection, session_key: str, from_state: str, to_state: str, **values: Any
) -> bool:
    """Move a session from one state to another; False when it was not in `from_state`."""
    stmt = (
        update(upload_sessions)
        .where(
            upload_sessions.c.session_key == session_key,
            upload_sessions.c.state == from_state,
        )
        .values(state=to_state, **values)
    )
    result = await conn.execute(stmt)
    return bool(result.rowcount)


async def expired_sessions(
    conn: AsyncConnection, before: float, limit: int = 100
) -> list[dict[str, Any]]:
    stmt = (
        select(upload_sessions)
        .where(upload_sessions.c.expires_at < before)
        .order_by(upload_sessions.c.expires_at)
        .limit(limit)
    )
    return [dict(r) for r in (await conn.execute(stmt)).mappings()]


async def remove_session(conn: AsyncConnection, session_key: str) -> None:
    await conn.execute(
        delete(multipart_uploads).where(multipart_uploads.c.session_key == session_key)
    )
    await conn.execute(delete(upload_sessions).where(upload_sessions.c.session_key == session_key))


async def add_multipart(conn: AsyncConnection, **values: Any) -> None:
    await conn.execute(insert(multipart_uploads).values(**values))


async def get_multipart(
    conn: AsyncConnection, upload_id: str, session_key: str
) -> dict[str, Any] | None:
    stmt = select(multipart_uploads).where(
        multipart_uploads.c.upload_id == upload_id,
        multipart_uploads.c.session_key == session_key,
    )
    row = (await conn.execute(stmt)).mappings().first()
    return dict(row) if row else None


async def list_multipart(conn: AsyncConnection, session_key: str) -> list[dict[str, Any]]:
    stmt = (
        select(multipart_uploads)
        .where(multipart_uploads.c.session_key == session_key)
        .order_by(multipart_uploads.c.create_time)
    )
    return [dict(r) for r in (await conn.execute(stmt)).mappings()]


async def remove_multipart(conn: AsyncConnection, upload_id: str) -> None:
    await conn.execute(delete(multipart_uploads).where(multipart_uploads.c.upload_id == upload_id))
