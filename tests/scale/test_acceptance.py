"""Acceptance of the scaled deployment: two API replicas, two workers, PostgreSQL, Redis.

Everything here is real processes on loopback: `vodflow serve` replicas driven by
the official SDK, `vodflow worker` processes running FFmpeg, one PostgreSQL
database and one Celery queue per cluster, one shared blob directory.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from tests.flows_support import wait_until
from tests.mediagen import make_video
from tests.scale.cluster import metric
from tests.servers import ServerProcess
from vodflow.notify.handles import parse_handle

pytestmark = [pytest.mark.services, pytest.mark.slow]

TRANSCODE = {"TranscodeTaskSet": [{"Definition": 100010}]}
# Two renditions: sibling subtasks, delivered to both workers at once and claimed together.
TWO_RENDITIONS = {"TranscodeTaskSet": [{"Definition": 100010}, {"Definition": 100020}]}
FLOWS = 20
# The goal for a wake-up across processes, met by every one of WAKE_SAMPLES.
WAKE_GOAL_S = 0.2
WAKE_SAMPLES = 5
HOLD_S = 20.0


def task_ids_of(events: list[dict[str, Any]]) -> list[str]:
    return [
        e["ProcedureStateChangeEvent"]["TaskId"]
        for e in events
        if e.get("EventType") == "ProcedureStateChanged"
    ]


def pull_and_confirm(server: ServerProcess) -> list[dict[str, Any]]:
    """One PullEvents (long poll), and ConfirmEvents for whatever it returned."""
    got = server.call("PullEvents")["EventSet"]
    if got:
        server.call("ConfirmEvents", {"EventHandles": [e["EventHandle"] for e in got]})
    return list(got)


def drain(server: ServerProcess, want: set[str], timeout: float = 180) -> list[str]:
    """Pull until every task in `want` has its event; the task ids received, in order."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while not want <= set(seen):
        assert time.monotonic() < deadline, f"events missing for {want - set(seen)}"
        seen += task_ids_of(pull_and_confirm(server))
    return seen


def wait_finished(server: ServerProcess, task_id: str, timeout: float = 180) -> dict[str, Any]:
    return wait_until(
        lambda: server.call("DescribeTaskDetail", {"TaskId": task_id}),
        lambda d: d["Status"] in ("FINISH", "ABORTED"),
        timeout=timeout,
    )


def in_thread(fn: Callable[[], Any]) -> Callable[[], Any]:
    """Start `fn` in a thread; the returned callable joins it and returns (or raises)."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()

    def join() -> Any:
        thread.join(60)
        assert not thread.is_alive(), "the call did not return"
        if "error" in box:
            raise box["error"]
        return box.get("value")

    return join


def test_two_replicas_two_workers(make_cluster, tiny_clip: Path) -> None:
    """20 flows, alternately to each replica, all finish; a held PullEvents on one
    replica is woken by a worker's commit within 200 ms."""
    # A long poll far longer than the goal: a wake-up that did not cross processes
    # would show as seconds, not milliseconds.
    cluster = make_cluster(
        replicas=2, workers=2, concurrency=2, env={"VODFLOW_PULL_WAIT_S": str(HOLD_S)}
    )
    a, b = cluster.api
    file_id = cluster.add_media(tiny_clip)
    task_ids = [
        (a, b)[i % 2].call("ProcessMedia", {"FileId": file_id, "MediaProcessTask": TWO_RENDITIONS})[
            "TaskId"
        ]
        for i in range(FLOWS)
    ]
    for i, task_id in enumerate(task_ids):
        detail = wait_finished((b, a)[i % 2], task_id)  # asked of the other replica
        assert detail["Status"] == "FINISH", detail
        results = detail["ProcedureTask"]["MediaProcessResultSet"]
        assert [r["TranscodeTask"]["Status"] for r in results] == ["SUCCESS"] * 2, results
    # Each ran once: no run was lost to a conflict between processes and re-run.
    assert cluster.sql("SELECT max(attempts) FROM subtasks")[0][0] == 1
    # Both workers took part, and no claim ever failed (e.g. deadlocked) on the way.
    assert all("vodflow.run_job" in w.log() for w in cluster.pool), cluster.logs()
    for w in cluster.pool:
        assert w.log_path is not None and "Traceback" not in w.log_path.read_text()
    # Every flow's event, once each, whichever replica is asked.
    seen = drain(b, set(task_ids))
    assert sorted(seen) == sorted(task_ids)

    # Wake-up latency: from the worker's event insert (an upper bound of its commit)
    # to PullEvents returning on the other replica, WAKE_SAMPLES times: every one must
    # meet the goal (the issue promises it of every event, not of the best).
    latencies = []
    for _ in range(WAKE_SAMPLES):
        held = in_thread(lambda: (time.time(), b.call("PullEvents")["EventSet"], time.time()))
        time.sleep(0.5)  # the poll is held on replica b
        task_id = a.call("ProcessMedia", {"FileId": file_id, "MediaProcessTask": TRANSCODE})[
            "TaskId"
        ]
        started, got, returned = held()
        assert returned - started < HOLD_S - 1, "the poll was not woken"
        assert task_ids_of(got) == [task_id], got
        event_id, _token = parse_handle(got[0]["EventHandle"]) or (0, "")
        [(created,)] = cluster.sql("SELECT create_time FROM events WHERE id = $1", event_id)
        latencies.append(returned - created)
        b.call("ConfirmEvents", {"EventHandles": [got[0]["EventHandle"]]})
    print(f"wake-up latencies across processes: {latencies}")
    assert max(latencies) < WAKE_GOAL_S, latencies


def test_worker_killed_mid_transcode(make_cluster, tmp_path: Path) -> None:
    """SIGKILL the worker running a transcode: the other worker runs it again, the flow
    finishes, its event is delivered once, and the output is registered once."""
    cluster = make_cluster(replicas=1, workers=2, concurrency=1, env={"VODFLOW_LEASE_S": "4"})
    [api] = cluster.api
    # Long enough (about 5 s of FFmpeg here) to be killed in the middle.
    clip = make_video(tmp_path / "longer.mp4", duration=30, width=1280, height=720)
    file_id = cluster.add_media(clip)
    mpt = {"TranscodeTaskSet": [{"Definition": 100030}]}
    task_id = api.call("ProcessMedia", {"FileId": file_id, "MediaProcessTask": mpt})["TaskId"]

    pids = {w.pid: w for w in cluster.pool}

    def runner() -> int | None:
        rows = cluster.sql("SELECT lease_owner FROM subtasks WHERE status = 'PROCESSING'")
        for (owner,) in rows:
            pid = int(str(owner).split(":")[1])
            if pid in pids:
                return pid
        return None

    deadline = time.monotonic() + 60
    while (pid := runner()) is None:
        assert time.monotonic() < deadline, cluster.logs()
        time.sleep(0.05)
    time.sleep(0.5)  # FFmpeg is under way
    victim = pids[pid]
    victim.kill()
    survivor = next(w for w in cluster.pool if w is not victim)

    detail = wait_finished(api, task_id)
    assert detail["Status"] == "FINISH", detail
    [result] = detail["ProcedureTask"]["MediaProcessResultSet"]
    assert result["TranscodeTask"]["Status"] == "SUCCESS", result
    [(attempts,)] = cluster.sql("SELECT attempts FROM subtasks")
    assert attempts == 2
    assert "vodflow.run_job" in survivor.log()
    outputs = cluster.sql("SELECT kind, definition FROM media_outputs WHERE file_id = $1", file_id)
    assert [tuple(r) for r in outputs] == [("Transcode", 100030)]
    assert drain(api, {task_id}) == [task_id]
    [(count,)] = cluster.sql("SELECT count(*) FROM events")
    assert count == 1


def test_replica_killed_holding_a_long_poll(make_cluster, tiny_clip: Path) -> None:
    """SIGKILL the replica that holds a client's PullEvents: the client retries on the
    other replica and gets every event (leased ones come back after their window)."""
    cluster = make_cluster(
        replicas=2, workers=1, concurrency=2, env={"VODFLOW_PULL_VISIBILITY_S": "3"}
    )
    a, b = cluster.api
    file_id = cluster.add_media(tiny_clip)
    held = in_thread(lambda: a.call("PullEvents"))
    time.sleep(0.5)
    a.kill()
    with pytest.raises(TencentCloudSDKException):
        held()
    task_ids = [
        b.call("ProcessMedia", {"FileId": file_id, "MediaProcessTask": TRANSCODE})["TaskId"]
        for _ in range(3)
    ]
    assert sorted(drain(b, set(task_ids))) == sorted(task_ids)


def test_replica_killed_after_leasing_events(make_cluster, tiny_clip: Path) -> None:
    """Events a dead replica leased but never answered come back on the other one."""
    cluster = make_cluster(
        replicas=2, workers=1, concurrency=2, env={"VODFLOW_PULL_VISIBILITY_S": "3"}
    )
    a, b = cluster.api
    file_id = cluster.add_media(tiny_clip)
    task_ids = [
        b.call("ProcessMedia", {"FileId": file_id, "MediaProcessTask": TRANSCODE})["TaskId"]
        for _ in range(3)
    ]
    for task_id in task_ids:
        wait_finished(b, task_id)
    # Replica a leases them (its answer is lost with it), then dies.
    leased = a.call("PullEvents")["EventSet"]
    assert leased
    a.kill()
    assert sorted(drain(b, set(task_ids))) == sorted(task_ids)


def test_push_relays_of_two_replicas_deliver_each_event_once(make_cluster) -> None:
    """Both replicas run a push relay over one outbox: every event is delivered, once."""
    from tests.events_support import emit_many, receiver

    n = 300
    cluster = make_cluster(replicas=2, workers=0)
    a, _b = cluster.api
    with receiver() as rec:
        a.call("ModifyEventConfig", {"Mode": "PUSH", "NotificationUrl": rec.url})
        # Committed by a third process: both relays hear of it through NOTIFY.
        cluster.run(lambda services: emit_many(services, n, per_tx=50))
        deadline = time.monotonic() + 120
        while len(rec.bodies) < n:
            assert time.monotonic() < deadline, f"{len(rec.bodies)} of {n} delivered"
            time.sleep(0.1)
        time.sleep(1.0)  # a duplicate would arrive now
        ids = [b["ProcedureStateChangeEvent"]["TaskId"] for b in rec.bodies]
    assert len(ids) == n and len(set(ids)) == n
    assert rec.hits == n
    [(delivered,)] = cluster.sql("SELECT count(*) FROM events WHERE delivery_status = 'DELIVERED'")
    assert delivered == n
    # Each replica's own count of successful attempts: together, every event once.
    shares = [ok_attempts(s) for s in cluster.api]
    print(f"deliveries per replica: {shares}")
    assert sum(shares) == n


def ok_attempts(server: ServerProcess) -> int:
    return int(metric(server.url, 'vodflow_push_attempts_total{result="ok"}') or 0)
