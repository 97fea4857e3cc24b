"""kill -9 of the server while an EditMedia's FFmpeg runs: the task is leased like a
subtask, so the restarted server takes it over (its dead owner is seen at once), kills
nothing twice, and the edit finishes once: one new media, one EditMediaComplete event,
no work directory left. Before leases, the task stayed PROCESSING for ever."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from tests.e2e.test_crash import rows
from tests.flows_support import add_media, wait_task, wait_until
from tests.mediagen import make_video
from tests.processes import processes_with
from tests.servers import ServerProcess
from vodflow.media.strays import kill_strays

pytestmark = pytest.mark.e2e


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


@pytest.mark.slow
def test_kill_9_during_split_media_resumes_at_the_unfinished_segment(
    fresh_server: ServerProcess, tmp_path: Path
) -> None:
    """kill -9 while the second segment is cut: the first segment's media and Output
    were committed together, so the re-run cuts only the second: two new media, not
    three, one SplitMediaComplete."""
    server = fresh_server
    server.env["VODFLOW_LEASE_S"] = "600"
    server.start()
    clip = make_video(tmp_path / "long.mp4", duration=20, width=640, height=360, fps=25)
    file_id = add_media(server, clip)
    task_id = server.call(
        "SplitMedia",
        {
            "FileId": file_id,
            "Segments": [
                {"StartTimeOffset": 0, "EndTimeOffset": 2},
                {"StartTimeOffset": 2, "EndTimeOffset": 16},
            ],
        },
    )["TaskId"]
    db_path = server.data_dir / "vodflow.db"
    tmp = server.data_dir / "blobs" / ".tmp"
    marker = str(tmp / f"job-{task_id}-")
    second = wait_until(
        lambda: {"ffmpeg": [p for p in processes_with(marker) if b"segment-1" in cmdline(p)]},
        lambda v: bool(v["ffmpeg"]),
        120,
        0.02,
    )
    for pid in second["ffmpeg"]:
        os.kill(pid, signal.SIGSTOP)
    try:
        assert len(rows(db_path, "select file_id from media")) == 2  # source + segment 1
        server.kill()
        wait_until(lambda: {"ffmpeg": processes_with(marker)}, lambda v: not v["ffmpeg"], 10)
        server.start()
        detail = wait_task(server, task_id)
    finally:
        kill_strays(marker)
    task = detail["SplitMediaTask"]
    assert (task["Status"], task["ErrCodeExt"], task["Progress"]) == ("FINISH", "", 100), task
    made = [info["Output"]["FileId"] for info in task["FileInfoSet"]]
    media = rows(db_path, "select file_id from media order by create_time")
    assert media == [(file_id,), *((m,) for m in made)]
    assert rows(db_path, "select attempts from tasks where task_id=?", task_id) == [(2,)]
    durations = [
        m["MetaData"]["Duration"]
        for m in server.call("DescribeMediaInfos", {"FileIds": made})["MediaInfoSet"]
    ]
    assert [round(d) for d in durations] == [2, 14], durations
    events = rows(
        db_path,
        "select count(*) from events where event_type='SplitMediaComplete' and body like ?",
        f"%{task_id}%",
    )
    assert events == [(1,)]


def cmdline(pid: int) -> bytes:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes()
    except OSError:
        return b""
