"""The in-process executor's slots, the flow statements built once, the pidfd watcher."""

from __future__ import annotations

import asyncio
import sys

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.exc import CompileError

from vodflow.core.jobs import free_slot
from vodflow.media import childwatch
from vodflow.runtime.executor import LocalExecutor
from vodflow.store import media as media_q
from vodflow.store import tasks as q
from vodflow.store.db import InlineWriter
from vodflow.store.schema import media, metadata, subtasks, tasks


async def test_a_job_that_frees_its_slot_lets_the_next_one_start() -> None:
    """One slot: the first job gives it back mid-run, the second starts while the first
    still runs; a job that never gives it back holds it until it ends."""
    started: list[str] = []
    release = {name: asyncio.Event() for name in ("a", "b", "c")}

    async def run(kind: str, job_id: str) -> None:
        started.append(job_id)
        if kind == "frees":
            free_slot()
        await release[job_id].wait()

    executor = LocalExecutor(run, concurrency=1)
    await executor.start()
    try:
        await executor.submit("frees", "a")
        await executor.submit("holds", "b")
        await executor.submit("holds", "c")
        while started != ["a", "b"]:
            await asyncio.sleep(0)
        release["a"].set()
        for _ in range(20):
            await asyncio.sleep(0)
        assert started == ["a", "b"]  # b holds the only slot
        release["b"].set()
        while started != ["a", "b", "c"]:
            await asyncio.sleep(0)
    finally:
        await executor.stop()


async def test_stop_cancels_jobs_that_gave_their_slot_back() -> None:
    cancelled = asyncio.Event()
    running = asyncio.Event()

    async def run(kind: str, job_id: str) -> None:
        free_slot()
        running.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    executor = LocalExecutor(run, concurrency=1)
    await executor.start()
    await executor.submit("frees", "a")
    await running.wait()
    await executor.stop()
    assert cancelled.is_set()


def test_free_slot_outside_an_executor_does_nothing() -> None:
    free_slot()  # (a Celery worker's job: no slot to give)


TASK = {"app_id": 1, "type": "Procedure", "status": "WAITING", "create_time": 1.0}


async def test_flow_statements_refuse_a_misspelled_column() -> None:
    """Built once per set of columns, they still name each column in `.values()`."""
    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    with engine.connect() as sync:
        conn = InlineWriter(sync)
        await q.add_task(conn, **TASK, task_id="t1")
        row = {"task_id": "t1", "seq": 0, "type": "Cover", "status": "WAITING", "input": {}}
        (sid,) = await q.add_subtasks(conn, [{**row, "create_time": 1.0}])
        assert await q.set_task_status(conn, "t1", ["WAITING"], status="PROCESSING")
        assert not await q.set_task_status(conn, "t1", ["WAITING"], status="FINISH")
        await q.update_task(conn, "t1", begin_time=5.0)
        assert await q.finish_subtask(conn, sid, None, status="SUCCESS", finish_time=6.0)
        row = sync.execute(select(tasks.c.status, tasks.c.begin_time)).one()
        assert tuple(row) == ("PROCESSING", 5.0)
        assert sync.execute(select(subtasks.c.status)).scalar_one() == "SUCCESS"
        for bad in (
            q.add_task(conn, **TASK, task_id="t2", stauts="WAITING"),
            q.add_subtasks(conn, [{"task_id": "t1", "seq": 1, "type": "Cover", "stat": "x"}]),
            q.update_task(conn, "t1", begin_tme=1.0),
            q.set_task_status(conn, "t1", ["PROCESSING"], finish_tme=1.0),
            q.finish_subtask(conn, sid, "me", finish_tme=1.0),
        ):
            with pytest.raises(CompileError, match="Unconsumed column names"):
                await bad


async def test_set_cover_built_once_points_only_that_media_at_its_cover() -> None:
    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    with engine.connect() as sync:
        conn = InlineWriter(sync)
        for file_id in ("f1", "f2"):
            await media_q.add(
                conn,
                **{"file_id": file_id, "app_id": 1, "name": file_id, "type": "mp4"},
                **{"blob_key": f"{file_id}/src.mp4", "url_token": "t", "size": 1, "md5": "m"},
                **{"create_time": 1.0, "update_time": 1.0},
            )
        await media_q.set_cover(conn, "f1", "f1/cover.jpg")
        await media_q.set_cover(conn, "f2", "f2/cover.jpg")
        await media_q.set_cover(conn, "f2", None)
        rows = sync.execute(
            select(media.c.file_id, media.c.cover_key, media.c.update_time).order_by("file_id")
        ).all()
        assert [tuple(r[:2]) for r in rows] == [("f1", "f1/cover.jpg"), ("f2", None)]
        assert all(r[2] > 1.0 for r in rows)


@pytest.mark.skipif(sys.platform != "linux", reason="pidfds are Linux's")
async def test_exit_codes_through_the_pidfd_watcher() -> None:
    childwatch.install()
    for code in (0, 3):
        proc = await asyncio.create_subprocess_exec(sys.executable, "-c", f"exit({code})")
        assert await proc.wait() == code
