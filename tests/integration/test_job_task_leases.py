"""One-job tasks are leased like subtasks (core/job_tasks.py): a lost message is re-derived
by the periodic sweep, a task whose runner holds the lease is not run a second time, an
expired lease is taken over once (a dead attempt's FFmpeg killed, its work directory
removed), and a task interrupted MAX_ATTEMPTS times fails with its event. Real services,
real FFmpeg, real SQLite; the EditMedia task is recorded by the real code path with a
queue that loses its message."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from tests import mediagen
from tests.events_support import running_services
from vodflow.core.edit_media import EditMediaService, EditRequest
from vodflow.core.job_tasks import claim_job_task
from vodflow.core.leases import MAX_ATTEMPTS
from vodflow.core.task_options import FlowOptions
from vodflow.runtime.sweeper import Sweeper
from vodflow.services import Services
from vodflow.store import tasks as tasks_q
from vodflow.store.schema import events, media, tasks

AFTER_S = 60.0


class LosingQueue:
    """A JobQueue whose messages are lost (a broker outage, a replica that died)."""

    def __init__(self) -> None:
        self.lost: list[str] = []

    async def submit(self, kind: str, job_id: str, priority: int = 0) -> None:
        self.lost.append(job_id)


async def record_lost_edit(services: Services, tmp_path: Path) -> tuple[str, str]:
    """An EditMedia task recorded as the API does, its message lost; (task id, file id)."""
    clip = mediagen.make_video(tmp_path / "clip.mp4", duration=2.0, width=160, height=120)
    app_id = services.settings.app_id
    record = await services.library.add_media(app_id, clip, name="c", media_type="mp4", copy=True)
    queue = LosingQueue()
    edits = EditMediaService(
        services.db, services.blobs, services.library, queue, services.settings.lease_s
    )
    task_id = await edits.start(
        app_id, EditRequest(clips=[(record.file_id, 0.5, 1.5)]), FlowOptions()
    )
    assert queue.lost == [task_id]
    return task_id, record.file_id


async def manual_sweeper(services: Services) -> Sweeper:
    """The services' sweeper, its periodic loop stopped: the test sweeps when it says."""
    (found,) = [b for b in services.background if isinstance(b, Sweeper)]
    await found.stop()
    return found


async def task_row(services: Services, task_id: str) -> dict[str, Any]:
    async with services.db.read() as conn:
        row = await tasks_q.get_task_any(conn, task_id)
    assert row is not None
    return row


async def wait_finished(services: Services, task_id: str) -> dict[str, Any]:
    for _ in range(1200):
        row = await task_row(services, task_id)
        if row["status"] == "FINISH":
            return row
        await asyncio.sleep(0.05)
    raise AssertionError(f"{task_id} did not finish: {row}")


async def complete_events(services: Services, task_id: str) -> list[dict[str, Any]]:
    async with services.db.read() as conn:
        bodies = [json.loads(r.body) for r in await conn.execute(select(events.c.body))]
    return [
        b["EditMediaCompleteEvent"]
        for b in bodies
        if b["EventType"] == "EditMediaComplete"
        and b["EditMediaCompleteEvent"]["TaskId"] == task_id
    ]


async def media_ids(services: Services) -> list[str]:
    async with services.db.read() as conn:
        return [r.file_id for r in await conn.execute(select(media.c.file_id))]


def test_a_lost_edit_media_message_is_re_derived_by_the_periodic_sweep(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_services(tmp_path / "data", requeue_after_s=AFTER_S) as services:
            sweeper = await manual_sweeper(services)
            task_id, file_id = await record_lost_edit(services, tmp_path)
            t0 = float((await task_row(services, task_id))["enqueued_at"])
            # Its message is recent: nothing yet. Then, with no restart, it is re-sent once.
            assert await sweeper.sweep(startup=False, at=t0 + 1) == 0
            assert await sweeper.sweep(startup=False, at=t0 + AFTER_S + 1) == 1
            assert await sweeper.sweep(startup=False, at=t0 + AFTER_S + 2) == 0
            row = await wait_finished(services, task_id)
            assert (row["err_code"], row["attempts"], row["lease_owner"]) == (0, 1, None)
            new_id = row["output"]["Output"]["FileId"]
            assert sorted(await media_ids(services)) == sorted([file_id, new_id])
            (event,) = await complete_events(services, task_id)
            assert event["ErrCode"] == 0 and event["Output"]["FileId"] == new_id

    asyncio.run(scenario())


def test_a_leased_task_runs_once_and_an_expired_lease_is_taken_over(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_services(tmp_path / "data", requeue_after_s=AFTER_S) as services:
            sweeper = await manual_sweeper(services)
            task_id, file_id = await record_lost_edit(services, tmp_path)
            # Another runner holds it: a duplicate delivery does nothing.
            assert await claim_job_task(services.db, task_id, "EditMedia", 600.0) is not None
            await services.edits.run(task_id)
            row = await task_row(services, task_id)
            assert (row["status"], row["attempts"]) == ("PROCESSING", 1)
            assert await media_ids(services) == [file_id]
            assert await sweeper.sweep(startup=False) == 0  # lease holds

            # That runner dies on another host: its FFmpeg may still run in its work
            # directory (here a process whose command line names it, as FFmpeg's does).
            dead_work = services.blobs.tmp_dir / f"job-{task_id}-0123456789ab"
            dead_work.mkdir(parents=True)
            stray = subprocess.Popen(
                [sys.executable, "-c", "import time; time.sleep(600)", str(dead_work / "out.mp4")]
            )
            # Its lease ran out after the last message was sent.
            expired = float(row["enqueued_at"]) + 0.001
            try:
                async with services.db.tx() as conn:
                    await conn.execute(
                        update(tasks)
                        .where(tasks.c.task_id == task_id)
                        .values(lease_owner="elsewhere:1:dead", lease_until=expired)
                    )
                # The expired lease is re-sent at once, by one sweep only.
                assert await sweeper.sweep(startup=False) == 1
                assert await sweeper.sweep(startup=False) == 0
                row = await wait_finished(services, task_id)
                assert stray.wait(timeout=30) == -9  # killed by the new attempt's claim
            finally:
                stray.kill()
            assert not dead_work.exists()
            assert (row["err_code"], row["attempts"], row["lease_owner"]) == (0, 2, None)
            new_id = row["output"]["Output"]["FileId"]
            assert sorted(await media_ids(services)) == sorted([file_id, new_id])
            assert len(await complete_events(services, task_id)) == 1
            assert not list(services.blobs.tmp_dir.glob(f"job-{task_id}-*"))

    asyncio.run(scenario())


def test_a_task_interrupted_max_attempts_times_fails_with_its_event(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running_services(tmp_path / "data", requeue_after_s=AFTER_S) as services:
            sweeper = await manual_sweeper(services)
            task_id, file_id = await record_lost_edit(services, tmp_path)
            expired = float((await task_row(services, task_id))["enqueued_at"]) + 0.001
            async with services.db.tx() as conn:
                await conn.execute(
                    update(tasks)
                    .where(tasks.c.task_id == task_id)
                    .values(
                        status="PROCESSING",
                        lease_owner="elsewhere:1:dead",
                        lease_until=expired,
                        attempts=MAX_ATTEMPTS,
                    )
                )
            assert await sweeper.sweep(startup=False) == 1
            row = await wait_finished(services, task_id)
            assert (row["err_code"], row["err_code_ext"]) == (70000, "InternalError"), row
            assert row["attempts"] == MAX_ATTEMPTS + 1
            assert f"interrupted {MAX_ATTEMPTS} times" in row["message"]
            assert await media_ids(services) == [file_id]
            (event,) = await complete_events(services, task_id)
            assert (event["ErrCode"], event["ErrCodeExt"]) == (70000, "InternalError")

    asyncio.run(scenario())
