"""Migration 0005 (media_subtitles) on both stores: up, down to 0004, up again, and the
table's rules (one Id per media, rows gone with the media) through store/subtitles.py."""

from __future__ import annotations

import asyncio

import pytest
from alembic import command
from sqlalchemy import insert, inspect
from sqlalchemy.exc import IntegrityError

from vodflow.store import media as media_q
from vodflow.store import subtitles as q
from vodflow.store.db import Database
from vodflow.store.migrate import alembic_config, upgrade_async
from vodflow.store.schema import apps

pytestmark = pytest.mark.services


async def _tables(db: Database) -> set[str]:
    async with db.engine.connect() as conn:
        return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))


async def test_migration_0005_up_down_up_and_its_rules(store_url: str) -> None:
    url = store_url
    await upgrade_async(url)
    db = Database(url)
    try:
        assert "media_subtitles" in await _tables(db)
        await asyncio.to_thread(command.downgrade, alembic_config(url), "0004")
        assert "media_subtitles" not in await _tables(db)
        await upgrade_async(url)
        assert "media_subtitles" in await _tables(db)
        await _rules(db)
    finally:
        await db.close()


def _row(sid: str) -> dict[str, object]:
    return {
        "file_id": "5285890000000000001",
        "subtitle_id": sid,
        "name": sid,
        "language": "en",
        "format": "vtt",
        "blob_key": f"1/5285890000000000001/t/subtitles/{sid}.vtt",
        "size": 10,
        "create_time": 1.0,
    }


async def _rules(db: Database) -> None:
    async with db.tx() as conn:
        await conn.execute(insert(apps).values(id=1, name="a", create_time=0.0, update_time=0.0))
        await media_q.add(
            conn, file_id="5285890000000000001", app_id=1, name="m", type="mp4",
            blob_key="k", url_token="t", size=1, md5="0" * 32, create_time=0.0,
            update_time=0.0,
        )  # fmt: skip
        await q.add(conn, [_row("b"), _row("a")])
    async with db.read() as conn:
        listed = await q.of_many(conn, ["5285890000000000001", "none"])
    assert [r["subtitle_id"] for r in listed["5285890000000000001"]] == ["b", "a"]
    assert listed["none"] == []
    with pytest.raises(IntegrityError):
        async with db.tx() as conn:
            await q.add(conn, [_row("a")])
    async with db.tx() as conn:
        # The media's subtitles go with it (the foreign key cascades).
        gone = await media_q.remove_returning(conn, 1, "5285890000000000001")
    assert gone is not None and gone[0]["file_id"] == "5285890000000000001"
    assert gone[1]["id"] == 1
    async with db.read() as conn:
        assert await q.of_media(conn, "5285890000000000001") == []
