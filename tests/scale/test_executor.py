"""The Celery executor: subtasks submitted by an API replica run in `vodflow worker` processes."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest

from tests.flows_support import wait_until
from tests.servers import free_port
from vodflow.config import Settings
from vodflow.runtime import celery_app
from vodflow.runtime.factory import make_executor

pytestmark = pytest.mark.services

MPT = {"TranscodeTaskSet": [{"Definition": 100010}], "CoverBySnapshotTaskSet": []}


def test_priority_maps_onto_redis_steps() -> None:
    """Tencent: higher first, -10..10. Redis steps: 0 first, 0..9. Order is kept."""
    steps = [celery_app.celery_priority(p) for p in range(10, -11, -1)]
    assert steps[0] == 0 and steps[-1] == 9
    assert steps == sorted(steps)
    assert celery_app.celery_priority(99) == 0 and celery_app.celery_priority(-99) == 9


def test_factory_refuses_unknown_executor() -> None:
    class Fake:
        settings = Settings(executor="spark")

    with pytest.raises(ValueError, match="VODFLOW_EXECUTOR"):
        make_executor(Fake())  # type: ignore[arg-type]


def test_celery_needs_a_broker() -> None:
    with pytest.raises(ValueError, match="VODFLOW_BROKER_URL"):
        celery_app.make_celery(Settings(executor="celery"))


@pytest.mark.slow
def test_subtask_runs_in_a_separate_worker_process(make_cluster, tiny_clip: Path) -> None:
    cluster = make_cluster(replicas=1, workers=0)
    api = cluster.api[0]
    file_id = cluster.add_media(tiny_clip)
    task_id = api.call("ProcessMedia", {"FileId": file_id, "MediaProcessTask": MPT})["TaskId"]
    # No worker yet: the API process itself runs nothing.
    time.sleep(1.5)
    assert api.call("DescribeTaskDetail", {"TaskId": task_id})["Status"] == "WAITING"

    metrics_port = free_port()
    cluster.env["VODFLOW_METRICS_PORT"] = str(metrics_port)
    worker = cluster.add_worker("late-worker")
    detail = wait_until(
        lambda: api.call("DescribeTaskDetail", {"TaskId": task_id}),
        lambda d: d["Status"] == "FINISH",
        timeout=120,
    )
    [result] = detail["ProcedureTask"]["MediaProcessResultSet"]
    assert result["TranscodeTask"]["Status"] == "SUCCESS", result
    assert "vodflow.run_job" in worker.log()
    # The worker wrote the output into the shared blob directory.
    key = result["TranscodeTask"]["Output"]["Url"].split("/vod/", 1)[1]
    assert (cluster.blob_dir / key).stat().st_size > 0

    # /metrics of the replica: the request, and the deployment-wide queue gauges.
    text = httpx.get(f"{api.url}/metrics", timeout=10).text
    assert 'vodflow_api_requests_total{action="ProcessMedia",code="OK"} 1.0' in text
    assert 'vodflow_subtasks{state="WAITING"} 0.0' in text
    # The worker's own /metrics: the subtask's duration.
    text = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10).text
    assert 'vodflow_subtask_seconds_count{status="SUCCESS",type="Transcode"} 1.0' in text


async def test_broker_outage_delays_jobs_and_never_fails_the_caller() -> None:
    """The flow is committed before submit: a broker that is down must not turn that
    into an error; the message is sent once the broker answers again."""
    import redis

    from tests.scale import services as svc

    svc.require_services()
    queue = svc.new_queue()
    down = Settings(executor="celery", broker_url="redis://127.0.0.1:1/0", celery_queue=queue)
    executor = celery_app.CeleryExecutor(down)
    executor.app.conf.broker_connection_timeout = 0.5
    executor.app.conf.broker_transport_options["max_retries"] = 0
    try:
        await executor.submit("subtask", "42", 3)  # does not raise
        assert executor._unsent == [("subtask", "42", 3)]
        executor.app = celery_app.make_celery(
            Settings(executor="celery", broker_url=svc.BROKER_URL, celery_queue=queue)
        )
        r = redis.Redis(host=svc.REDIS_HOST, port=svc.REDIS_PORT)
        step = celery_app.celery_priority(3)
        deadline = time.monotonic() + 30
        while r.llen(f"{queue}:{step}") < 1:
            assert time.monotonic() < deadline, "the held job was never sent"
            await asyncio.sleep(0.2)
        assert executor._unsent == []
    finally:
        await executor.stop()
        svc.purge_queue(queue)


@pytest.mark.slow
def test_sigterm_lets_the_running_job_finish(make_cluster, tmp_path: Path) -> None:
    """A worker stopped with SIGTERM takes nothing new but finishes what it runs."""
    from tests.mediagen import make_video

    cluster = make_cluster(replicas=1, workers=1)
    [api], [worker] = cluster.api, cluster.pool
    clip = make_video(tmp_path / "clip.mp4", duration=30, width=320, height=240)
    file_id = cluster.add_media(clip)
    mpt = {"TranscodeTaskSet": [{"Definition": 100030}]}
    api.call("ProcessMedia", {"FileId": file_id, "MediaProcessTask": mpt})
    wait_until(
        lambda: {"n": len(cluster.sql("SELECT 1 FROM subtasks WHERE status = 'PROCESSING'"))},
        lambda d: d["n"] == 1,
        timeout=60,
        every=0.05,
    )
    assert worker.stop() == 0
    [(status, attempts)] = cluster.sql("SELECT status, attempts FROM subtasks")
    assert (status, attempts) == ("SUCCESS", 1), worker.log()
