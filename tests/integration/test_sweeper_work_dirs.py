"""The sweeper removes old work directories of ended subtasks, and only those."""

from __future__ import annotations

import os
import time
from pathlib import Path

from tests.mediagen import make_video
from vodflow.app import build_services
from vodflow.config import Settings
from vodflow.core.flows import FlowOptions
from vodflow.runtime.sweeper import Sweeper
from vodflow.store import tasks as tasks_q
from vodflow.store.schema import subtasks


async def test_old_work_dirs_of_ended_subtasks_are_removed(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path / "data", secret_id="AKID" + "x" * 32, secret_key="k" * 32
    )
    services = await build_services(settings)  # background parts not started: nothing runs
    try:
        clip = make_video(tmp_path / "clip.mp4", duration=2, width=160, height=120)
        record = await services.library.add_media(
            settings.app_id, clip, name="clip", media_type="mp4"
        )
        mpt = {"TranscodeTaskSet": [{"Definition": 100010}, {"Definition": 100020}]}
        task_id = await services.flows.start(settings.app_id, record.file_id, mpt, FlowOptions())
        async with services.db.tx() as conn:
            ended, waiting = [r["id"] for r in await tasks_q.subtasks_of(conn, task_id)]
            await tasks_q.abort_subtasks(conn, task_id, time.time())
            await conn.execute(
                subtasks.update()
                .where(subtasks.c.id == waiting)
                .values(status="WAITING", finish_time=None)
            )
        tmp = services.blobs.tmp_dir
        dirs = {
            "ended_old": tmp / f"flow-{ended}-aaaaaaaaaaaa",
            "ended_new": tmp / f"flow-{ended}-bbbbbbbbbbbb",
            "waiting_old": tmp / f"flow-{waiting}-cccccccccccc",
            "gone_old": tmp / "flow-999999-dddddddddddd",
            "upload_old": tmp / "0123456789abcdef.part",
        }
        hour_ago = time.time() - 2 * 3600
        for name, path in dirs.items():
            path.mkdir()
            (path / "journal.json").write_text("{}")
            if name.endswith("_old"):
                os.utime(path, (hour_ago, hour_ago))

        removed = await Sweeper(
            services.db, services.blobs, services.executor, services.settings.lease_s
        ).clean_work_dirs()

        assert removed == 2
        left = {name for name, path in dirs.items() if path.exists()}
        assert left == {"ended_new", "waiting_old", "upload_old"}
    finally:
        await services.db.close()
