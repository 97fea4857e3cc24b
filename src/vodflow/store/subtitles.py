"""Queries of a media's subtitles (rows of `media_subtitles`) and of its outputs'
attachment state (an adaptive stream's `media_outputs.info`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, bindparam, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from vodflow.store.db import Reader
from vodflow.store.inline import prepared
from vodflow.store.schema import media, media_outputs, media_subtitles
from vodflow.timeutil import now


async def of_media(conn: Reader, file_id: str) -> list[dict[str, Any]]:
    stmt = (
        select(media_subtitles)
        .where(media_subtitles.c.file_id == file_id)
        .order_by(media_subtitles.c.id)
    )
    return [dict(r) for r in (await conn.execute(stmt)).mappings()]


SHOWN_KEYS = ("file_id", "subtitle_id", "name", "language", "format", "blob_key")
# Read by DescribeMediaInfos: built once, read inline on SQLite (store/inline.py).
_OF_MANY = prepared(
    # What a MediaSubtitleItem shows (core.subtitle_files.subtitle_item).
    select(*(media_subtitles.c[k] for k in SHOWN_KEYS))
    .where(media_subtitles.c.file_id.in_(bindparam("file_ids", expanding=True)))
    .order_by(media_subtitles.c.id)
)


async def of_many(conn: Reader, file_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {f: [] for f in file_ids}
    if not file_ids:
        return found
    for r in (await conn.execute(_OF_MANY, {"file_ids": list(file_ids)})).mappings():
        found[r["file_id"]].append(dict(r))
    return found


async def add(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        await conn.execute(insert(media_subtitles), list(rows))


async def remove(conn: AsyncConnection, file_id: str, subtitle_ids: Sequence[str] | None) -> None:
    """Delete the listed subtitles of a media (all of them with None)."""
    stmt = delete(media_subtitles).where(media_subtitles.c.file_id == file_id)
    if subtitle_ids is not None:
        stmt = stmt.where(media_subtitles.c.subtitle_id.in_(list(subtitle_ids)))
    await conn.execute(stmt)


async def touch_media(conn: AsyncConnection, file_id: str) -> None:
    await conn.execute(update(media).where(media.c.file_id == file_id).values(update_time=now()))


async def set_output(
    conn: AsyncConnection,
    output_id: int,
    seen: float,
    info: dict[str, Any],
    blob_keys: list[str],
) -> bool:
    """Replace an output's info and keys if it is still the one read at `seen`
    (its create_time); False when a re-run or another change came in between."""
    stmt = (
        update(media_outputs)
        .where(and_(media_outputs.c.id == output_id, media_outputs.c.create_time == seen))
        .values(info=info, blob_keys=blob_keys, create_time=max(now(), seen + 1e-6))
    )
    return (await conn.execute(stmt)).rowcount == 1
