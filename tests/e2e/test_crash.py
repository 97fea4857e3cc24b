"""kill -9 of the server while FFmpeg runs: after restart the subtask runs again
from scratch, the flow finishes, no two runs overlap, no output is registered twice.
The re-run is watched through DescribeTaskDetail: its Progress rises step by step."""

from __future__ import annotations

import itertools
import json
import os
import signal
import sqlite3
import time
from pathlib import Path

import pytest

from tests.flows_support import add_media, wait_task, wait_until
from tests.mediagen import make_video
from tests.processes import processes_with
from tests.servers import ServerProcess
from vodflow.media.strays import kill_strays

pytestmark = pytest.mark.e2e


def transcode(detail: dict) -> dict:
    return detail["ProcedureTask"]["MediaProcessResultSet"][0]["TranscodeTask"]


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
    # Long enough that the re-run lasts several progress saves (one per 1.5 s) even on
    # a quiet machine: a 40 s clip re-ran in ~4 s in CI and saved progress only twice.
    clip = make_video(tmp_path / "long.mp4", duration=90, width=1280, height=720, fps=25)
    file_id = add_media(server, clip)
    task_id = server.call(
        "ProcessMedia",
        {"FileId": file_id, "MediaProcessTask": {"TranscodeTaskSet": [{"Definition": 100030}]}},
    )["TaskId"]
    db_path = server.data_dir / "vodflow.db"

    def detail() -> dict:
        return server.call("DescribeTaskDetail", {"TaskId": task_id})

    running = wait_until(detail, lambda d: transcode(d)["Progress"] > 0, timeout=120, every=0.1)
    assert running["Status"] == "PROCESSING"
    assert running["ProcedureTask"]["Status"] == "PROCESSING"
    assert transcode(running)["Status"] == "PROCESSING"
    ((output,),) = rows(db_path, "select output from subtasks where task_id=?", task_id)
    old_work = json.loads(output)["_work"]
    assert processes_with(old_work), "FFmpeg should be running for the first attempt"

    server.kill()
    server.start()

    wait_until(
        lambda: {
            "attempts": rows(db_path, "select attempts from subtasks where task_id=?", task_id)
        },
        lambda v: v["attempts"][0][0] >= 2,
        timeout=60,
        every=0.1,
    )
    # The new attempt kills the old FFmpeg just after its claim commits: wait for that.
    wait_until(
        lambda: {"ffmpeg": processes_with(old_work), "work": Path(old_work).exists()},
        lambda v: v == {"ffmpeg": [], "work": False},
        timeout=30,
        every=0.1,
    )

    # The re-run, seen through the API: Progress is saved as FFmpeg goes, never
    # backwards, and changes several times over the ~90 s transcode.
    seen = [transcode(detail())]
    while seen[-1]["Status"] == "PROCESSING":
        assert len(seen) < 3000, "the re-run did not finish"
        time.sleep(0.2)
        seen.append(transcode(detail()))
    progress = [r["Progress"] for r in seen if r["Status"] == "PROCESSING"]
    assert progress == sorted(progress), progress
    changes = sum(1 for a, b in itertools.pairwise(progress) if b != a)
    assert changes >= 3, progress
    assert all(0 <= p <= 99 for p in progress), progress

    finished = wait_task(server, task_id)
    assert finished["Status"] == "FINISH"
    result = transcode(finished)
    assert (result["Status"], result["Progress"]) == ("SUCCESS", 100), result
    # Times are ISO 8601 UTC in one format: string order is time order.
    assert finished["CreateTime"] <= finished["BeginProcessTime"] <= result["BeginProcessTime"], (
        finished
    )
    assert result["BeginProcessTime"] <= result["FinishTime"] <= finished["FinishTime"], finished
    assert rows(db_path, "select attempts from subtasks where task_id=?", task_id) == [(2,)]
    outputs = rows(db_path, "select kind, definition from media_outputs where file_id=?", file_id)
    assert outputs == [("Transcode", 100030)]
    events = rows(
        db_path,
        "select count(*) from events where event_type='ProcedureStateChanged' and body like ?",
        f"%{task_id}%",
    )
    assert events == [(1,)]
    # The work directory is removed just after the flow's end is committed.
    wait_until(
        lambda: {"left": [p.name for p in (server.data_dir / "blobs" / ".tmp").glob("flow-*")]},
        lambda v: v["left"] == [],
        timeout=30,
        every=0.1,
    )


@pytest.mark.slow
def test_ffmpeg_dies_with_a_killed_server(fresh_server: ServerProcess, tmp_path: Path) -> None:
    """kill -9 of the server while FFmpeg runs, and no restart: the FFmpeg goes too
    (PR_SET_PDEATHSIG), instead of burning CPU until its transcode ends."""
    server = fresh_server.start()
    clip = make_video(tmp_path / "long.mp4", duration=40, width=640, height=360, fps=25)
    file_id = add_media(server, clip)
    task_id = server.call(
        "ProcessMedia",
        {"FileId": file_id, "MediaProcessTask": {"TranscodeTaskSet": [{"Definition": 100030}]}},
    )["TaskId"]
    db_path = server.data_dir / "vodflow.db"

    def running() -> dict:
        ((output,),) = rows(db_path, "select output from subtasks where task_id=?", task_id)
        marker = json.loads(output)["_work"] if output else ""
        return {"marker": marker, "ffmpeg": processes_with(marker) if marker else []}

    found = wait_until(running, lambda v: bool(v["ffmpeg"]), timeout=120, every=0.02)
    marker = found["marker"]
    # Paused, so that it cannot end by itself before the kill: only a signal ends it.
    for pid in found["ffmpeg"]:
        os.kill(pid, signal.SIGSTOP)
    try:
        server.kill()
        wait_until(
            lambda: {"ffmpeg": processes_with(marker)},
            lambda v: v["ffmpeg"] == [],
            timeout=10,
            every=0.1,
        )
    finally:
        kill_strays(marker)


@pytest.mark.slow
def test_fifty_flows_through_three_kill_9s(fresh_server: ServerProcess, tmp_path: Path) -> None:
    """Issue 12's acceptance, embedded: 50 flows, the server killed -9 three times while
    they run (and restarted): every flow finishes, each event is delivered once, no
    FFmpeg survives a kill, nothing is left in .tmp."""
    server = fresh_server
    server.env["VODFLOW_LEASE_S"] = "10"
    server.start()
    clip = make_video(tmp_path / "clip.mp4", duration=2, width=160, height=120)
    file_id = add_media(server, clip)
    mpt = {"TranscodeTaskSet": [{"Definition": 100010}], "CoverBySnapshotTaskSet": []}
    task_ids = [
        server.call("ProcessMedia", {"FileId": file_id, "MediaProcessTask": mpt})["TaskId"]
        for _ in range(50)
    ]
    db_path = server.data_dir / "vodflow.db"
    blobs = str(server.data_dir / "blobs")

    def finished() -> int:
        [(n,)] = rows(db_path, "select count(*) from tasks where status='FINISH'")
        return int(n)

    for _kill in range(3):
        # Kill while work is under way: after a few more flows have finished.
        target = finished() + 3
        wait_until(lambda t=target: {"n": finished()}, lambda v, t=target: v["n"] >= t, 300, 0.05)
        server.kill()
        # FFmpeg dies with its server (PR_SET_PDEATHSIG).
        wait_until(lambda: {"ffmpeg": processes_with(blobs)}, lambda v: v["ffmpeg"] == [], 10)
        server.start()
    for task_id in task_ids:
        detail = wait_task(server, task_id)
        assert detail["Status"] == "FINISH", detail
        assert transcode(detail)["Status"] == "SUCCESS", detail
    seen: list[str] = []
    while got := server.call("PullEvents")["EventSet"]:
        seen += [e["ProcedureStateChangeEvent"]["TaskId"] for e in got]
        server.call("ConfirmEvents", {"EventHandles": [e["EventHandle"] for e in got]})
    assert sorted(seen) == sorted(task_ids)  # every flow's event, once
    assert processes_with(blobs) == []
    wait_until(
        lambda: {"left": [p.name for p in (server.data_dir / "blobs" / ".tmp").iterdir()]},
        lambda v: v["left"] == [],
        timeout=30,
    )
    [(attempts,)] = rows(db_path, "select max(attempts) from subtasks")
    print(f"50 flows, 3 kill -9s: all FINISH, {len(seen)} events, max attempts {attempts}")
