"""kill -9 of the server while FFmpeg runs: after restart the subtask runs again
from scratch, the flow finishes, no two runs overlap, no output is registered twice."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.flows_support import add_media, wait_task, wait_until
from tests.mediagen import make_video
from tests.servers import ServerProcess


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
def test_kill_9_while_ffmpeg_runs(fresh_server: ServerProcess, tmp_path: Path) -> None:
    server = fresh_server
    server.env["VODFLOW_LEASE_S"] = "30"  # recovery must not wait for the lease
    server.start()
    clip = make_video(tmp_path / "long.mp4", duration=40, width=640, height=360, fps=25)
    file_id = add_media(server, clip)
    task_id = server.call(
        "ProcessMedia",
        {"FileId": file_id, "MediaProcessTask": {"TranscodeTaskSet": [{"Definition": 100030}]}},
    )["TaskId"]
    db_path = server.data_dir / "vodflow.db"

    def progress() -> dict:
        return server.call("DescribeTaskDetail", {"TaskId": task_id})

    wait_until(
        progress,
        lambda d: d["ProcedureTask"]["MediaProcessResultSet"][0]["TranscodeTask"]["Progress"] > 0,
        timeout=120,
        every=0.1,
    )
    ((output,),) = rows(db_path, "select output from subtasks where task_id=?", task_id)
    old_work = json.loads(output)["_work"]
    assert processes_with(old_work), "FFmpeg should be running for the first attempt"

    server.kill()
    server.start()

    # The new attempt starts only after the old FFmpeg is gone.
    wait_until(
        lambda: {
            "attempts": rows(db_path, "select attempts from subtasks where task_id=?", task_id)
        },
        lambda v: v["attempts"][0][0] >= 2,
        timeout=60,
        every=0.1,
    )
    assert processes_with(old_work) == []
    assert not Path(old_work).exists()

    detail = wait_task(server, task_id)
    assert detail["Status"] == "FINISH"
    result = detail["ProcedureTask"]["MediaProcessResultSet"][0]["TranscodeTask"]
    assert result["Status"] == "SUCCESS", result
    assert rows(db_path, "select attempts from subtasks where task_id=?", task_id) == [(2,)]
    outputs = rows(db_path, "select kind, definition from media_outputs where file_id=?", file_id)
    assert outputs == [("Transcode", 100030)]
    events = rows(
        db_path,
        "select count(*) from events where event_type='ProcedureStateChanged' and body like ?",
        f"%{task_id}%",
    )
    assert events == [(1,)]
    leftovers = [p.name for p in (server.data_dir / "blobs" / ".tmp").glob("flow-*")]
    assert leftovers == []
