"""Reliability of the scaled deployment (issue 12): real PostgreSQL, Redis and processes."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.flows_support import wait_until
from tests.integration.test_requeue import AFTER_S, T0, RecordingQueue, add_flow, open_db, sweeper
from tests.scale import services as svc
from tests.servers import ServerProcess, free_port
from vodflow.status import SubtaskStatus
from vodflow.store.db import Database

pytestmark = pytest.mark.services

TRANSCODE = {"TranscodeTaskSet": [{"Definition": 100010}]}


async def test_concurrent_sweeps_on_postgresql_send_each_subtask_once(
    pg_url: str, tmp_path: Path
) -> None:
    """Two replicas' sweepers racing on PostgreSQL over 600 lost hints and 400 expired
    leases: every subtask is sent exactly once."""
    db_a = await open_db(pg_url)
    db_b = Database(pg_url)
    try:
        waiting = await add_flow(db_a, 600)
        expired = await add_flow(
            db_a, 400, status=SubtaskStatus.PROCESSING, lease_owner="gone:1:x",
            lease_until=T0 + 1,
        )  # fmt: skip
        queue = RecordingQueue()
        a = sweeper(db_a, tmp_path, queue, volatile=False)
        b = sweeper(db_b, tmp_path, queue, volatile=False)
        at = T0 + AFTER_S + 1
        for _ in range(3):
            await asyncio.gather(a.sweep(startup=False, at=at), b.sweep(startup=False, at=at))
        counts = Counter(int(i) for i in queue.sent)
        assert sorted(counts) == sorted(waiting + expired)
        assert set(counts.values()) == {1}
    finally:
        await db_a.close()
        await db_b.close()


def wait_finished(server: ServerProcess, task_id: str, timeout: float = 120) -> dict[str, Any]:
    return wait_until(
        lambda: server.call("DescribeTaskDetail", {"TaskId": task_id}),
        lambda d: d["Status"] in ("FINISH", "ABORTED"),
        timeout=timeout,
    )


def transcode_status(detail: dict[str, Any]) -> list[str]:
    return [r["TranscodeTask"]["Status"] for r in detail["ProcedureTask"]["MediaProcessResultSet"]]


@pytest.mark.slow
def test_flows_whose_messages_redis_lost_finish(make_cluster, tiny_clip: Path) -> None:
    """Redis loses the queued messages (no worker had taken them): the replica's
    sweeper sends them again and every flow finishes, each subtask run once."""
    cluster = make_cluster(replicas=1, workers=0, env={"VODFLOW_REQUEUE_AFTER_S": "2"})
    [api] = cluster.api
    file_id = cluster.add_media(tiny_clip)
    task_ids = [
        api.call("ProcessMedia", {"FileId": file_id, "MediaProcessTask": TRANSCODE})["TaskId"]
        for _ in range(3)
    ]
    svc.purge_queue(cluster.queue)  # the hints are gone; the rows are the truth
    cluster.add_worker("worker0")
    for task_id in task_ids:
        detail = wait_finished(api, task_id)
        assert (detail["Status"], transcode_status(detail)) == ("FINISH", ["SUCCESS"]), detail
    assert cluster.sql("SELECT max(attempts) FROM subtasks")[0][0] == 1


@pytest.mark.slow
def test_replica_killed_holding_unsent_messages_during_a_broker_cut(
    make_cluster, tiny_clip: Path
) -> None:
    """A replica whose broker is cut keeps its messages in memory, then is killed -9:
    the other replica's sweeper sends them and the flows finish."""
    cluster = make_cluster(replicas=1, workers=1, env={"VODFLOW_REQUEUE_AFTER_S": "2"})
    [healthy] = cluster.api
    dead_broker = f"redis://127.0.0.1:{free_port()}/0"
    cut = ServerProcess(
        cluster.root / "api-cut", env=cluster.shared_env() | {"VODFLOW_BROKER_URL": dead_broker}
    ).start()
    try:
        file_id = cluster.add_media(tiny_clip)
        task_ids = [
            cut.call("ProcessMedia", {"FileId": file_id, "MediaProcessTask": TRANSCODE})["TaskId"]
            for _ in range(3)
        ]
        cut.kill()
    finally:
        cut.stop()
    for task_id in task_ids:
        detail = wait_finished(healthy, task_id)
        assert (detail["Status"], transcode_status(detail)) == ("FINISH", ["SUCCESS"]), detail
