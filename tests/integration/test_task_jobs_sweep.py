"""Tasks that are one job each (DescribeFileAttributes, EditMedia, SplitMedia, PullUpload)
survive a lost queue: the sweeper re-derives their lost messages, periodically (not only
at start-up), once per period."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

from tests import mediagen
from tests.events_support import running_services
from vodflow.runtime.sweeper import Sweeper
from vodflow.status import TaskStatus
from vodflow.store import tasks as tasks_q
from vodflow.timeutil import now


def test_a_waiting_task_whose_job_was_lost_runs_after_a_periodic_sweep(tmp_path: Path) -> None:
    clip = mediagen.make_video(tmp_path / "clip.mp4", duration=0.5)

    async def scenario() -> None:
        async with running_services(tmp_path / "data") as services:
            app_id = services.settings.app_id
            record = await services.library.add_media(
                app_id, clip, name="c", media_type="mp4", copy=True
            )
            task_id = f"{app_id}-DescribeFileAttributes-lostjob0t1"
            # The row as DescribeFileAttributes writes it, its job never queued
            # (the process that queued it stopped).
            async with services.db.tx() as conn:
                await tasks_q.add_task(
                    conn,
                    task_id=task_id,
                    app_id=app_id,
                    type="DescribeFileAttributes",
                    status=TaskStatus.WAITING,
                    file_id=record.file_id,
                    priority=0,
                    notify_mode="Finish",
                    session_context="",
                    session_id="",
                    ext_info="",
                    err_code=0,
                    err_code_ext="",
                    message="",
                    input={"FileId": record.file_id},
                    output={"TaskId": task_id, "Status": "PROCESSING", "FileId": record.file_id},
                    create_time=now(),
                )
            (sweeper,) = [b for b in services.background if isinstance(b, Sweeper)]
            # No replica restarts: the periodic sweep finds the message that was never
            # sent (enqueued_at unset) and sends it, once (the hint is claimed).
            assert await sweeper.sweep(startup=False) == 1
            assert await sweeper.sweep(startup=False) == 0
            for _ in range(200):
                async with services.db.read() as conn:
                    task = await tasks_q.get_task_any(conn, task_id)
                assert task is not None
                if task["status"] == TaskStatus.FINISH:
                    break
                await asyncio.sleep(0.05)
            assert task["status"] == TaskStatus.FINISH
            assert task["output"]["Output"]["Md5"] == hashlib.md5(clip.read_bytes()).hexdigest()

    asyncio.run(scenario())
