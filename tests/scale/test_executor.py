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
    async def run_job(kind: str, job_id: str) -> None:
        return None

    with pytest.raises(ValueError, match="VODFLOW_EXECUTOR"):
        make_executor(Settings(executor="spark"), run_job)


def test_celery_delivery_settings() -> None:
    """What the docs promise of delivery (docs/operations.md, "Recovery"): messages
    acknowledged after the job, one message per free slot, ten priority lists polled
    in order, and unacknowledged messages given out again after the visibility timeout."""
    settings = Settings(executor="celery", broker_url="redis://127.0.0.1:1/0", celery_queue="q1")
    app = celery_app.make_celery(settings)
    conf = app.conf
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert conf.task_default_queue == "q1"
    assert conf.task_serializer == "json" and list(conf.accept_content) == ["json"]
    transport = conf.broker_transport_options
    assert transport["priority_steps"] == list(range(10))
    assert transport["queue_order_strategy"] == "priority"
    assert transport["visibility_timeout"] == celery_app.VISIBILITY_TIMEOUT_S == 3600
    # The task itself carries the same options (a task's own setting wins over conf).
    task = app.tasks[celery_app.TASK_NAME]
    assert task.acks_late is True and task.reject_on_worker_lost is True
    assert task.ignore_result is True


def test_submit_sends_the_mapped_priority_to_the_deployment_queue() -> None:
    """A real message in Redis: the job's (kind, id), on this deployment's queue, in the
    Redis list of its priority step (kombu names them `queue`, `queue:1`...`queue:9`)."""
    import json

    import redis

    from tests.scale import services as svc

    svc.require_services()
    queue = svc.new_queue()
    settings = Settings(executor="celery", broker_url=svc.BROKER_URL, celery_queue=queue)
    executor = celery_app.CeleryExecutor(settings)
    r = redis.Redis(host=svc.REDIS_HOST, port=svc.REDIS_PORT)

    def lists() -> dict[str, int]:
        names = [queue] + [f"{queue}:{i}" for i in range(1, 10)]
        return {name: r.llen(name) for name in names if r.llen(name)}

    try:
        asyncio.run(executor.submit("subtask", "7", 10))
        asyncio.run(executor.submit("subtask", "8", -10))
        assert lists() == {queue: 1, f"{queue}:9": 1}
        message = json.loads(r.lindex(f"{queue}:9", 0))
        assert message["headers"]["task"] == celery_app.TASK_NAME
        assert message["properties"]["priority"] == 9
        assert message["headers"]["argsrepr"] == "['subtask', '8']"
    finally:
        asyncio.run(executor.stop())
        svc.purge_queue(queue)


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
        assert executor._unsent == {("subtask", "42"): 3}
        executor.app = celery_app.make_celery(
            Settings(executor="celery", broker_url=svc.BROKER_URL, celery_queue=queue)
        )
        r = redis.Redis(host=svc.REDIS_HOST, port=svc.REDIS_PORT)
        step = celery_app.celery_priority(3)
        deadline = time.monotonic() + 30
        while r.llen(f"{queue}:{step}") < 1:
            assert time.monotonic() < deadline, "the held job was never sent"
            await asyncio.sleep(0.2)
        assert executor._unsent == {}
    finally:
        await executor.stop()
        svc.purge_queue(queue)


@pytest.mark.slow
def test_sigterm_lets_the_running_job_finish(make_cluster, tmp_path: Path) -> None:
    """A worker stopped with SIGTERM takes nothing new but finishes what it runs."""
    from tests.mediagen import make_video

    cluster = make_cluster(replicas=1, workers=1)
    [api], [worker] = cluster.api, cluster.pool
    clip = make_video(tmp_path / "clip.mp4", duration=30, width=1280, height=720)
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


@pytest.mark.slow
def test_a_subtask_sent_twice_runs_once(make_cluster, tmp_path: Path) -> None:
    """Two messages for one subtask (a re-send, a redelivery), two workers taking them at
    once: the database lease lets one run happen; the other message is acknowledged
    without running anything. One FFmpeg run, one output, one event."""
    from concurrent.futures import ThreadPoolExecutor

    from tests.mediagen import make_video
    from tests.scale.cluster import WorkerProcess, metric

    cluster = make_cluster(replicas=1, workers=0)
    [api] = cluster.api
    # About 5 s of FFmpeg: the second message arrives while the first run holds the lease.
    clip = make_video(tmp_path / "clip.mp4", duration=30, width=1280, height=720)
    file_id = cluster.add_media(clip)
    mpt = {"TranscodeTaskSet": [{"Definition": 100030}]}
    task_id = api.call("ProcessMedia", {"FileId": file_id, "MediaProcessTask": mpt})["TaskId"]
    [(subtask_id,)] = cluster.sql("SELECT id FROM subtasks")
    # The same job sent again, as a sweeper or a restored message would.
    executor = celery_app.CeleryExecutor(cluster.settings())
    try:
        asyncio.run(executor.submit("subtask", str(subtask_id)))
    finally:
        asyncio.run(executor.stop())

    # Two workers of one slot each, started together: with prefetch 1, the worker running
    # the job holds its message, so the other message goes to the other worker.
    ports = [free_port(), free_port()]
    workers = [
        WorkerProcess(
            cluster.root / f"w{i}",
            env={**cluster.shared_env(), "VODFLOW_METRICS_PORT": str(port)},
        )
        for i, port in enumerate(ports)
    ]
    cluster.pool += workers
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda w: w.start(), workers))

    detail = wait_until(
        lambda: api.call("DescribeTaskDetail", {"TaskId": task_id}),
        lambda d: d["Status"] == "FINISH",
        timeout=120,
    )
    [result] = detail["ProcedureTask"]["MediaProcessResultSet"]
    assert result["TranscodeTask"]["Status"] == "SUCCESS", result

    # Both messages were taken and acknowledged, one by each worker...
    def taken(w: WorkerProcess) -> int:
        return w.log_path.read_text().count("succeeded in") if w.log_path else 0

    wait_until(lambda: {"n": sum(taken(w) for w in workers)}, lambda d: d["n"] == 2, timeout=60)
    assert [taken(w) for w in workers] == [1, 1], cluster.logs()
    # ...but the subtask was claimed once, and FFmpeg ran once (the workers' own count
    # of finished runs), registering one output and writing one event.
    assert cluster.sql("SELECT status, attempts FROM subtasks") == [("SUCCESS", 1)]
    runs = 'vodflow_subtask_seconds_count{status="SUCCESS",type="Transcode"}'
    counts = [metric(f"http://127.0.0.1:{port}", runs) or 0 for port in ports]
    assert sorted(counts) == [0, 1], counts
    outputs = cluster.sql("SELECT kind, definition FROM media_outputs WHERE file_id = $1", file_id)
    assert [tuple(r) for r in outputs] == [("Transcode", 100030)]
    [(events,)] = cluster.sql("SELECT count(*) FROM events")
    assert events == 1
