"""kill -9 of the server while an EditMedia's FFmpeg runs: the task is leased like a
subtask, so the restarted server takes it over (its dead owner is seen at once), kills
nothing twice, and the edit finishes once: one new media, one EditMediaComplete event,
no work directory left. Before leases, the task stayed PROCESSING for ever."""

from __future__ import annotations

import os
import signal
import sqlite3
from pathlib import Path

import pytest

from tests.flows_support import add_media, wait_task, wait_until
from tests.mediagen import make_video
from tests.servers import ServerProcess
from vodflow.media.strays import kill_strays

pytestmark = pytest.mark.e2e


def processes_with(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


def rows(db_path: Path, sql: str, *args: object) -> list[tuple]:
    db = sqlite3.connect(db_path)
    try:
        return db.execute(sql, args).fetchall()
    finally:
        db.close()


@pytest.mark.slow
def test_kill_9_during_edit_media(fresh_server: ServerProcess, tmp_path: Path) -> None:
    server = fresh_server
    server.env["VODFLOW_LEASE_S"] = "600"  # recovery must not wait for the lease
    server.start()
    clip = make_video(tmp_path / "long.mp4", duration=20, width=640, height=360, fps=25)
    file_id = add_media(server, clip)
    task_id = server.call(
        "EditMedia",
        {
            "InputType": "File",
            "FileInfos": [{"FileId": file_id, "StartTimeOffset": 1.0, "EndTimeOffset": 15.0}],
        },
    )["TaskId"]
    db_path = server.data_dir / "vodflow.db"
    tmp = server.data_dir / "blobs" / ".tmp"
    marker = str(tmp / f"job-{task_id}-")

    found = wait_until(
        lambda: {"ffmpeg": processes_with(marker)}, lambda v: bool(v["ffmpeg"]), 120, 0.02
    )
    # Paused, so that it cannot end by itself before the kill: the timing is ours.
    for pid in found["ffmpeg"]:
        os.kill(pid, signal.SIGSTOP)
    try:
        assert rows(db_path, "select status, attempts from tasks where task_id=?", task_id) == [
            ("PROCESSING", 1)
        ]
        server.kill()
        # FFmpeg goes with its server (PR_SET_PDEATHSIG); the task stays leased to it.
        wait_until(lambda: {"ffmpeg": processes_with(marker)}, lambda v: not v["ffmpeg"], 10)
        assert rows(db_path, "select status from tasks where task_id=?", task_id) == [
            ("PROCESSING",)
        ]
        server.start()
        detail = wait_task(server, task_id)
    finally:
        kill_strays(marker)
    task = detail["EditMediaTask"]
    assert (task["Status"], task["ErrCode"], task["ErrCodeExt"]) == ("FINISH", 0, ""), task
    new_id = task["Output"]["FileId"]
    # The second attempt ran (the 600 s lease was not waited for: its owner was dead).
    assert rows(
        db_path, "select status, attempts, lease_owner from tasks where task_id=?", task_id
    ) == [("FINISH", 2, None)]
    media = rows(db_path, "select file_id from media order by create_time")
    assert media == [(file_id,), (new_id,)]
    edited = server.call("DescribeMediaInfos", {"FileIds": [new_id]})["MediaInfoSet"][0]
    assert abs(edited["MetaData"]["Duration"] - 14.0) < 0.2, edited["MetaData"]
    events = rows(
        db_path,
        "select count(*) from events where event_type='EditMediaComplete' and body like ?",
        f"%{task_id}%",
    )
    assert events == [(1,)]
    # Both attempts' work directories are gone (the first's by the second's claim).
    wait_until(lambda: {"left": [p.name for p in tmp.glob("job-*")]}, lambda v: v["left"] == [], 30)
