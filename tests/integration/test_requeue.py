"""Lost queue messages are re-derived from the subtask rows, continuously and without
a cap, and of several sweepers (one per replica) exactly one re-sends each subtask
per period (issue 12, items 1 and 2). Real SQLite here; real PostgreSQL below."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from vodflow.blobstore import BlobStore
from vodflow.runtime.sweeper import Sweeper
from vodflow.status import SubtaskStatus, TaskStatus
from vodflow.store import schema
from vodflow.store.db import Database
from vodflow.store.migrate import upgrade_async

APP_ID = 1250000000
AFTER_S = 60.0
T0 = 1_000_000.0


class RecordingQueue:
    """A JobQueue that only records what it was asked to send."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def submit(self, kind: str, job_id: str, priority: int = 0) -> None:
        self.sent.append(job_id)


async def open_db(url: str) -> Database:
    await upgrade_async(url)
    db = Database(url)
    async with db.tx() as conn:
        await conn.execute(
            schema.apps.insert().values(
                id=APP_ID, name="a", description="", status="On", mode="fileid",
                create_time=0, update_time=0, event_mode="PULL", notification_url="",
                upload_event_switch="OFF", delete_event_switch="OFF", sign_key="k",
            )
        )  # fmt: skip
    return db


async def add_flow(db: Database, n: int, **subtask: Any) -> list[int]:
    """One live flow with `n` subtasks (WAITING unless told), created at T0."""
    task_id = f"{APP_ID}-Procedure-{len(subtask)}-{n}-{id(subtask)}"
    async with db.tx() as conn:
        await conn.execute(
            schema.tasks.insert().values(
                task_id=task_id, app_id=APP_ID, type="Procedure", status=TaskStatus.PROCESSING,
                create_time=T0,
            )
        )  # fmt: skip
        values = {"status": SubtaskStatus.WAITING, "enqueued_at": T0} | subtask
        ids = []
        for seq in range(n):
            row = {"task_id": task_id, "seq": seq, "type": "Transcode", "input": {}}
            result = await conn.execute(
                schema.subtasks.insert()
                .values(**row, create_time=T0, **values)
                .returning(schema.subtasks.c.id)
            )
            ids.append(int(result.scalar_one()))
    return ids


def sweeper(db: Database, tmp_path: Path, queue: RecordingQueue, *, volatile: bool) -> Sweeper:
    return Sweeper(
        db, BlobStore(tmp_path / "blobs"), queue, 60.0,
        requeue_after_s=AFTER_S, volatile_queue=volatile,
    )  # fmt: skip


@pytest.fixture
async def sqlite_db(tmp_path: Path) -> Any:
    db = await open_db(f"sqlite+aiosqlite:///{tmp_path / 'v.db'}")
    yield db
    await db.close()


async def test_restart_resends_every_waiting_subtask_past_the_old_cap(
    sqlite_db: Database, tmp_path: Path
) -> None:
    """The embedded queue dies with its process: the start-up sweep re-sends all 1,200
    waiting subtasks (it stopped at 1,000), each once."""
    ids = await add_flow(sqlite_db, 1200, enqueued_at=None)
    queue = RecordingQueue()
    await sweeper(sqlite_db, tmp_path, queue, volatile=True).sweep(startup=True, at=T0 + 1)
    assert sorted(int(i) for i in queue.sent) == ids


async def test_a_lost_hint_is_sent_again_periodically(sqlite_db: Database, tmp_path: Path) -> None:
    """A WAITING subtask whose message was lost (nobody claimed it) gets another message
    `requeue_after_s` after the last one, then again after a doubled gap; not before."""
    [sid] = await add_flow(sqlite_db, 1)
    queue = RecordingQueue()
    s = sweeper(sqlite_db, tmp_path, queue, volatile=False)
    assert await s.sweep(startup=True, at=T0 + 1) == 0  # its message is recent
    assert await s.sweep(startup=False, at=T0 + AFTER_S - 1) == 0
    assert await s.sweep(startup=False, at=T0 + AFTER_S + 1) == 1
    assert queue.sent == [str(sid)]
    # Sent at T0+61 after waiting 61 s: the next one after 61 s more, not after 60.
    assert await s.sweep(startup=False, at=T0 + AFTER_S + 1 + AFTER_S + 0.5) == 0
    assert await s.sweep(startup=False, at=T0 + 2 * (AFTER_S + 1) + 0.5) == 1
    assert queue.sent == [str(sid)] * 2


async def test_two_replicas_resend_an_expired_lease_once(
    sqlite_db: Database, tmp_path: Path
) -> None:
    """A subtask whose runner died: the first sweep of either replica re-sends it at
    once, the other replica's sweeps do not, nor do later ones within the period."""
    [sid] = await add_flow(
        sqlite_db, 1, status=SubtaskStatus.PROCESSING, lease_owner="gone:1:x",
        lease_until=T0 + 30, attempts=1,
    )  # fmt: skip
    queue = RecordingQueue()
    a = sweeper(sqlite_db, tmp_path, queue, volatile=False)
    b = sweeper(sqlite_db, tmp_path, queue, volatile=False)
    for at in (T0 + 31, T0 + 32, T0 + 41, T0 + 51):
        await a.sweep(startup=False, at=at)
        await b.sweep(startup=False, at=at)
    assert queue.sent == [str(sid)]
    await b.sweep(startup=False, at=T0 + 31 + AFTER_S + 1)
    await a.sweep(startup=False, at=T0 + 31 + AFTER_S + 1)
    assert queue.sent == [str(sid)] * 2
