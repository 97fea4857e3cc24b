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
from vodflow.services import Services
from vodflow.store import tasks as tasks_q
from vodflow.store.schema import subtasks


def _settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", secret_id="AKID" + "x" * 32, secret_key="k" * 32)


async def _ended_and_waiting(services: Services, tmp_path: Path) -> tuple[int, int]:
    """A flow of two subtasks: one ended (aborted), one WAITING."""
    app_id = services.settings.app_id
    clip = make_video(tmp_path / "clip.mp4", duration=2, width=160, height=120)
    record = await services.library.add_media(app_id, clip, name="clip", media_type="mp4")
    mpt = {"TranscodeTaskSet": [{"Definition": 100010}, {"Definition": 100020}]}
    task_id = await services.flows.start(app_id, record.file_id, mpt, FlowOptions())
    async with services.db.tx() as conn:
        ended, waiting = [r["id"] for r in await tasks_q.subtasks_of(conn, task_id)]
        await tasks_q.abort_subtasks(conn, task_id, time.time())
        await conn.execute(
            subtasks.update()
            .where(subtasks.c.id == waiting)
            .values(status="WAITING", finish_time=None)
        )
    return ended, waiting


async def test_old_work_dirs_of_ended_subtasks_are_removed(tmp_path: Path) -> None:
    services = await build_services(_settings(tmp_path))  # background parts not started
    try:
        ended, waiting = await _ended_and_waiting(services, tmp_path)
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


async def test_embedded_start_up_removes_ended_subtasks_work_dirs_at_once(tmp_path: Path) -> None:
    """A server killed between recording a result and removing its work directory
    leaves the directory (and its journal) behind; the next embedded start-up, the
    only process on the data dir, removes it at once. A live subtask's directory
    stays: its next run reads the journal."""
    services = await build_services(_settings(tmp_path))
    try:
        ended, waiting = await _ended_and_waiting(services, tmp_path)
        tmp = services.blobs.tmp_dir
        ended_dir = tmp / f"flow-{ended}-aaaaaaaaaaaa"
        waiting_dir = tmp / f"flow-{waiting}-bbbbbbbbbbbb"
        for path in (ended_dir, waiting_dir):
            path.mkdir()
            (path / ".placed.json").write_text("[]")

        sweeper = Sweeper(services.db, services.blobs, services.executor, services.settings.lease_s)
        await sweeper.start()
        await sweeper.stop()

        assert (ended_dir.exists(), waiting_dir.exists()) == (False, True)
    finally:
        await services.db.close()


async def test_stale_temp_files_are_removed(tmp_path: Path) -> None:
    """Partial uploads, pull downloads and set-aside blobs left in .tmp by a crash go
    after an hour without change; fresh ones and work directories stay (issue 12 item 10).

    File times cannot be set in the past for ctime (which a rename into .tmp sets), so
    the sweep is run as if two hours had passed, and "fresh" entries are touched into
    that future.
    """
    services = await build_services(_settings(tmp_path))
    try:
        tmp = services.blobs.tmp_dir
        later = time.time() + 2 * 3600
        stale_file = services.blobs.temp_path()  # a partial COS PUT or PullUpload
        stale_file.write_bytes(b"x" * 1000)
        stale_dir = tmp / "0123456789abcdef.old-1234abcd"  # a set-aside old folder
        (stale_dir / "seg").mkdir(parents=True)
        (stale_dir / "seg" / "0.ts").write_bytes(b"ts")
        fresh_file = services.blobs.temp_path(".jpg")
        fresh_file.write_bytes(b"jpg")
        os.utime(fresh_file, (later, later))
        busy_dir = tmp / "fedcba9876543210"  # old itself, with a file written lately
        busy_dir.mkdir()
        (busy_dir / "part").write_bytes(b"p")
        os.utime(busy_dir / "part", (later, later))
        work_dir = tmp / "flow-424242-abcdefabcdef"  # clean_work_dirs' business
        work_dir.mkdir()

        sweeper = Sweeper(services.db, services.blobs, services.executor, services.settings.lease_s)
        removed = await sweeper.clean_temp_files(at=later)

        assert removed == 2
        assert sorted(p.name for p in tmp.iterdir()) == sorted(
            [fresh_file.name, busy_dir.name, work_dir.name]
        )
        # Nothing is old at the real present: nothing more goes.
        assert await sweeper.clean_temp_files() == 0
    finally:
        await services.db.close()
