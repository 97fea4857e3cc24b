"""Queries of upload sessions (ApplyUpload .. CommitUpload) and their multipart uploads."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from vodflow.store.schema import multipart_uploads, upload_sessions


async def add_session(conn: AsyncConnection, **values: Any) -> None:
    await conn.execute(insert(upload_sessions).values(**values))


async def get_session(conn: AsyncConnection, session_key: str) -> dict[str, Any] | None:
    stmt = select(upload_sessions).where(upload_sessions.c.session_key == session_key)
    row = (await conn.execute(stmt)).mappings().first()
    return dict(row) if row else None


async def transition(
    conn: AsyncConnection,
    session_key: str,
    from_state: str,
    to_state: str,
    *,
    owner: str | None = None,
    **values: Any,
) -> bool:
    """Move a session from one state to another; False when it was not in `from_state`
    (or, given `owner`, when that is not who claimed its commit)."""
    conds = [upload_sessions.c.session_key == session_key, upload_sessions.c.state == from_state]
    if owner is not None:
        conds.append(upload_sessions.c.commit_owner == owner)
    stmt = update(upload_sessions).where(*conds).values(state=to_state, **values)
    result = await conn.execute(stmt)
    return bool(result.rowcount)


async def claim_commit(
    conn: AsyncConnection,
    session_key: str,
    owner: str,
    until: float,
    now: float,
    *,
    stale_owner: str | None,
) -> bool:
    """Claim a session's CommitUpload: PENDING, or COMMITTING under a claim that expired
    or whose owner (`stale_owner`, known dead) died. False if it is not to be had."""
    # (No claim at all: left by a version before claims existed.)
    taken = [upload_sessions.c.commit_until < now, upload_sessions.c.commit_until.is_(None)]
    if stale_owner is not None:
        taken.append(upload_sessions.c.commit_owner == stale_owner)
    stmt = (
        update(upload_sessions)
        .where(
            upload_sessions.c.session_key == session_key,
            or_(
                upload_sessions.c.state == "PENDING",
                and_(upload_sessions.c.state == "COMMITTING", or_(*taken)),
            ),
        )
        .values(state="COMMITTING", commit_owner=owner, commit_until=until)
    )
    return bool((await conn.execute(stmt)).rowcount)


async def lock_state(conn: AsyncConnection, session_key: str) -> str | None:
    """A session's state, its row locked until the transaction ends (the commit's claim
    waits for it); None if the session is gone."""
    stmt = (
        update(upload_sessions)
        .where(upload_sessions.c.session_key == session_key)
        .values(state=upload_sessions.c.state)
        .returning(upload_sessions.c.state)
    )
    state = (await conn.execute(stmt)).scalar_one_or_none()
    return None if state is None else str(state)


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
