"""Reliability of the scaled deployment (issue 12): real PostgreSQL, Redis and processes."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from tests.flows_support import add_media, wait_until
from tests.integration.test_requeue import AFTER_S, T0, RecordingQueue, add_flow, open_db, sweeper
from tests.mediagen import make_video
from tests.processes import processes_with
from tests.scale import services as svc
from tests.servers import ServerProcess, free_port
from tests.tcpproxy import TcpProxy
from vodflow.media.strays import kill_strays
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
    proxy = TcpProxy((svc.REDIS_HOST, svc.REDIS_PORT)).start()
    cut = ServerProcess(
        cluster.root / "api-cut",
        env=cluster.shared_env() | {"VODFLOW_BROKER_URL": f"redis://127.0.0.1:{proxy.port}/0"},
    ).start()
    try:
        file_id = cluster.add_media(tiny_clip)
        proxy.cut()
        # Not ready: its broker does not answer (the load balancer would stop sending).
        health = httpx.get(f"{cut.url}/healthz", timeout=30)
        assert health.status_code == 503, health.text
        assert health.json()["checks"]["broker"].startswith("down"), health.text
        task_ids = [
            cut.call("ProcessMedia", {"FileId": file_id, "MediaProcessTask": TRANSCODE})["TaskId"]
            for _ in range(3)
        ]
        cut.kill()
    finally:
        cut.stop()
        proxy.close()
    for task_id in task_ids:
        detail = wait_finished(healthy, task_id)
        assert (detail["Status"], transcode_status(detail)) == ("FINISH", ["SUCCESS"]), detail


# --- an embedded server on PostgreSQL whose database fails under it ---------------------


def pg_sql(db_name: str, query: str) -> list[Any]:
    async def go() -> list[Any]:
        conn = await asyncpg.connect(
            host=svc.PG_HOST, port=svc.PG_PORT, user=svc.PG_USER, database=db_name
        )
        try:
            if ";" in query:  # a script: no rows
                await conn.execute(query)
                return []
            return list(await conn.fetch(query))
        finally:
            await conn.close()

    return asyncio.run(go())


def cut_database(db_name: str) -> None:
    """Refuse new connections to the database and end the open ones (an outage)."""
    svc._admin(f'ALTER DATABASE "{db_name}" ALLOW_CONNECTIONS false')
    svc._admin(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        f"WHERE datname = '{db_name}' AND pid <> pg_backend_pid()"
    )


def restore_database(db_name: str) -> None:
    svc._admin(f'ALTER DATABASE "{db_name}" ALLOW_CONNECTIONS true')


@pytest.fixture
def pg_server(tmp_path: Path) -> Iterator[tuple[ServerProcess, str]]:
    """`vodflow serve` (in-process executor) on a PostgreSQL database of its own."""
    svc.require_services()
    name = svc.create_database()
    srv = ServerProcess(tmp_path / "data", env={"VODFLOW_DATABASE_URL": svc.database_url(name)})
    try:
        yield srv, name
    finally:
        restore_database(name)
        srv.stop()
        svc.drop_database(name)


def test_finish_transaction_is_retried_on_transient_errors(
    pg_server: tuple[ServerProcess, str], tiny_clip: Path
) -> None:
    """The transaction recording a subtask's result fails twice (serialization failure):
    it is tried again, so the run is kept (one attempt), not re-run after its lease."""
    server, db_name = pg_server
    server.env["VODFLOW_LEASE_S"] = "6"
    server.start()
    pg_sql(
        db_name,
        """
        CREATE SEQUENCE finish_faults;
        CREATE FUNCTION fail_finish() RETURNS trigger AS $$
        BEGIN
          IF NEW.status = 'SUCCESS' AND OLD.status = 'PROCESSING'
             AND nextval('finish_faults') <= 2 THEN
            RAISE EXCEPTION 'injected fault' USING ERRCODE = '40001';
          END IF;
          RETURN NEW;
        END $$ LANGUAGE plpgsql;
        CREATE TRIGGER fail_finish BEFORE UPDATE ON subtasks
          FOR EACH ROW EXECUTE FUNCTION fail_finish();
        """,
    )
    file_id = add_media(server, tiny_clip)
    task_id = server.call("ProcessMedia", {"FileId": file_id, "MediaProcessTask": TRANSCODE})[
        "TaskId"
    ]
    detail = wait_finished(server, task_id)
    assert (detail["Status"], transcode_status(detail)) == ("FINISH", ["SUCCESS"]), detail
    assert pg_sql(db_name, "SELECT attempts FROM subtasks")[0][0] == 1
    assert pg_sql(db_name, "SELECT last_value FROM finish_faults")[0][0] == 3
    [(events,)] = pg_sql(db_name, "SELECT count(*) FROM events")
    assert events == 1


@pytest.mark.slow
def test_heartbeat_survives_an_outage_and_stops_ffmpeg_when_the_lease_is_lost(
    pg_server: tuple[ServerProcess, str], tmp_path: Path
) -> None:
    """A database outage shorter than the lease: the renewal is retried and the run goes
    on (one attempt). One longer than the lease: FFmpeg is stopped before the lease
    runs out (no two runs overlap), and the subtask runs again once the database is back
    (that second run is aborted: the test needs its start, not its end)."""
    server, db_name = pg_server
    lease_s = 12.0
    server.env["VODFLOW_LEASE_S"] = str(lease_s)
    server.start()
    clip = make_video(tmp_path / "long.mp4", duration=20, width=640, height=360, fps=25)
    file_id = add_media(server, clip)
    mpt = {"TranscodeTaskSet": [{"Definition": 100030}]}
    task_id = server.call("ProcessMedia", {"FileId": file_id, "MediaProcessTask": mpt})["TaskId"]

    def work_dir() -> str | None:
        [(output,)] = pg_sql(db_name, "SELECT output FROM subtasks")
        return json.loads(output).get("_work") if output else None

    def running() -> dict[str, Any]:
        marker = work_dir()
        return {"marker": marker, "ffmpeg": processes_with(marker) if marker else []}

    marker = str(wait_until(running, lambda v: bool(v["ffmpeg"]), 120, 0.02)["marker"])
    # Paused, so that it cannot end by itself: only its runner can end it (SIGKILL).
    for pid in processes_with(marker):
        os.kill(pid, signal.SIGSTOP)
    try:
        # 1. Shorter than the lease: the same FFmpeg goes on.
        cut_database(db_name)
        time.sleep(lease_s / 4)
        assert processes_with(marker), "FFmpeg stopped during a short outage"
        restore_database(db_name)
        restored_at = time.time()
        renewed = wait_until(
            lambda: dict(pg_sql(db_name, "SELECT attempts, lease_until FROM subtasks")[0]),
            lambda v: v["lease_until"] > restored_at + lease_s - 3,
            30,
        )
        assert renewed["attempts"] == 1
        assert processes_with(marker), "FFmpeg stopped during a short outage"
        # 2. Longer than the lease: FFmpeg is stopped before the lease would expire.
        cut_database(db_name)
        cut_at = time.time()
        wait_until(lambda: {"ffmpeg": processes_with(marker)}, lambda v: not v["ffmpeg"], 30)
        assert time.time() < cut_at + lease_s, "FFmpeg outlived the lease"
    finally:
        restore_database(db_name)
        kill_strays(marker)
    # Once the database is back the subtask runs again (a second attempt, a new FFmpeg);
    # the test stops there rather than wait for a whole second transcode.
    wait_until(
        lambda: dict(pg_sql(db_name, "SELECT attempts, status FROM subtasks")[0]),
        lambda v: (v["attempts"], v["status"]) == (2, "PROCESSING"),
        60,
    )
    server.call("ManageTask", {"TaskId": task_id, "OperationType": "Abort"})
    assert wait_finished(server, task_id)["Status"] == "ABORTED"


def transcode_status_progress(server: ServerProcess, task_id: str) -> int:
    detail = server.call("DescribeTaskDetail", {"TaskId": task_id})
    [result] = detail["ProcedureTask"]["MediaProcessResultSet"]
    return int(result["TranscodeTask"]["Progress"])


@pytest.mark.slow
def test_ffmpeg_dies_with_a_killed_worker(make_cluster, tmp_path: Path) -> None:
    """kill -9 of the worker running a transcode: its FFmpeg goes with it at once (not
    when a re-run on the same host happens to clean up: the lease here is long)."""
    cluster = make_cluster(replicas=1, workers=1, env={"VODFLOW_LEASE_S": "120"})
    [api] = cluster.api
    clip = make_video(tmp_path / "long.mp4", duration=40, width=640, height=360, fps=25)
    file_id = cluster.add_media(clip)
    mpt = {"TranscodeTaskSet": [{"Definition": 100030}]}
    api.call("ProcessMedia", {"FileId": file_id, "MediaProcessTask": mpt})

    def running() -> dict[str, Any]:
        [(output,)] = cluster.sql("SELECT output FROM subtasks")
        marker = json.loads(output).get("_work", "") if output else ""
        return {"marker": marker, "ffmpeg": processes_with(marker) if marker else []}

    found = wait_until(running, lambda v: bool(v["ffmpeg"]), 120, 0.02)
    marker = str(found["marker"])
    for pid in found["ffmpeg"]:  # paused: it cannot end by itself before the kill
        os.kill(pid, signal.SIGSTOP)
    try:
        cluster.pool[0].kill()
        wait_until(lambda: {"ffmpeg": processes_with(marker)}, lambda v: v["ffmpeg"] == [], 10)
    finally:
        kill_strays(marker)


async def test_idle_long_polls_share_one_safety_poll(pg_url: str, tmp_path: Path) -> None:
    """100 PullEvents held on one application cost one safety poll per POLL_S between
    them, not two statements per second each (issue 12, item 20); a lease that runs
    out still reaches a held pull."""
    from sqlalchemy import event as sa_event

    from tests.events_support import emit_many
    from vodflow.app import build_services
    from vodflow.config import Settings
    from vodflow.notify.pull import POLL_S

    settings = Settings(
        data_dir=tmp_path / "data", database_url=pg_url, secret_id="AKID" + "x" * 32,
        secret_key="k" * 32, pull_visibility_s=2.0,
    )  # fmt: skip
    services = await build_services(settings)
    try:
        services.events.hub.bind(asyncio.get_running_loop())
        queue = services.events.queue
        app_id = settings.app_id
        statements: list[str] = []
        sa_event.listen(
            services.db.engine.sync_engine,
            "before_cursor_execute",
            lambda _c, _cur, sql, *_a: statements.append(sql),
        )
        held = [asyncio.create_task(queue.pull(app_id, wait_s=6)) for _ in range(100)]
        await asyncio.sleep(1.0)  # every pull made its first claim and is held
        before = len(statements)
        await asyncio.sleep(3 * POLL_S)
        idle = len(statements) - before
        assert idle <= 4, f"{idle} statements in {3 * POLL_S} s of 100 idle pulls"
        assert await asyncio.gather(*held) == [[]] * 100
        # A leased event whose lease runs out comes back to a pull held meanwhile.
        await emit_many(services, 1)
        [first] = await queue.pull(app_id, wait_s=0)
        [again] = await queue.pull(app_id, wait_s=10)
        assert again.event_id == first.event_id and again.handle != first.handle
    finally:
        services.events.queue.close()
        await services.db.close()


@pytest.mark.slow
def test_worker_health_metrics_and_names(make_cluster, tiny_clip: Path) -> None:
    """Each worker answers /healthz (database, broker) on its metrics address, exports
    the deployment gauges fresh (not frozen at start), and has a name of its own."""
    cluster = make_cluster(replicas=1, workers=0)
    [api] = cluster.api
    ports = [free_port(), free_port()]
    workers = []
    for i, port in enumerate(ports):
        cluster.env |= {"VODFLOW_METRICS_PORT": str(port), "VODFLOW_METRICS_HOST": "127.0.0.1"}
        workers.append(cluster.add_worker(f"worker{i}"))
    file_id = cluster.add_media(tiny_clip)
    task_id = api.call("ProcessMedia", {"FileId": file_id, "MediaProcessTask": TRANSCODE})["TaskId"]
    assert wait_finished(api, task_id)["Status"] == "FINISH"
    for port, worker in zip(ports, workers, strict=True):
        health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=30)
        assert health.status_code == 200, health.text
        assert health.json() == {"status": "ok", "checks": {"database": "ok", "broker": "ok"}}
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=30).text
        assert 'vodflow_subtasks{state="WAITING"} 0.0' in text
        assert f"vodflow-{worker.pid}@" in worker.log()


def test_readiness_follows_the_database(pg_server: tuple[ServerProcess, str]) -> None:
    """/healthz of a replica whose database is unreachable: 503 naming the database."""
    server, db_name = pg_server
    server.start()
    assert httpx.get(f"{server.url}/healthz", timeout=30).status_code == 200
    cut_database(db_name)
    try:
        health = httpx.get(f"{server.url}/healthz", timeout=30)
        assert health.status_code == 503, health.text
        checks = health.json()["checks"]
        assert checks["database"].startswith("down") and checks["broker"] == "ok", checks
    finally:
        restore_database(db_name)
    wait_until(
        lambda: {"code": httpx.get(f"{server.url}/healthz", timeout=30).status_code},
        lambda v: v["code"] == 200,
        30,
    )


@pytest.mark.slow
def test_flows_survive_a_storm_of_terminated_backends(make_cluster, tiny_clip: Path) -> None:
    """Issue 12's acceptance, scaled: every PostgreSQL backend of the deployment is
    terminated every 200 ms for 8 s while 10 flows run: all finish, each event is
    delivered once, no FFmpeg is left running, nothing is left in .tmp."""
    cluster = make_cluster(
        replicas=1, workers=2, concurrency=2,
        env={"VODFLOW_REQUEUE_AFTER_S": "2", "VODFLOW_LEASE_S": "10"},
    )  # fmt: skip
    [api] = cluster.api
    file_id = cluster.add_media(tiny_clip)
    task_ids = [
        api.call("ProcessMedia", {"FileId": file_id, "MediaProcessTask": TRANSCODE})["TaskId"]
        for _ in range(10)
    ]
    terminated = 0
    deadline = time.monotonic() + 8
    while time.monotonic() < deadline:
        terminated += len(
            pg_sql(
                svc.PG_ADMIN_DB,
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                f"WHERE datname = '{cluster.db_name}' AND pid <> pg_backend_pid()",
            )
        )
        time.sleep(0.2)
    assert terminated > 20
    for task_id in task_ids:
        detail = wait_finished(api, task_id, timeout=180)
        assert (detail["Status"], transcode_status(detail)) == ("FINISH", ["SUCCESS"]), detail
    seen: list[str] = []
    while got := api.call("PullEvents")["EventSet"]:
        seen += [e["ProcedureStateChangeEvent"]["TaskId"] for e in got]
        api.call("ConfirmEvents", {"EventHandles": [e["EventHandle"] for e in got]})
    assert sorted(seen) == sorted(task_ids)
    assert processes_with(str(cluster.blob_dir)) == []
    wait_until(
        lambda: {"left": [p.name for p in (cluster.blob_dir / ".tmp").iterdir()]},
        lambda v: v["left"] == [],
        30,
    )
    print(f"storm: {terminated} backends terminated; 10/10 FINISH, {len(seen)} events")


@pytest.mark.slow
def test_edit_media_of_a_killed_worker_is_finished_by_another(make_cluster, tmp_path: Path) -> None:
    """kill -9 of the worker running an EditMedia: its lease expires, the replica's
    sweeper sends the job again and the other worker finishes it, once (one new media,
    one EditMediaComplete event). Before leases it stayed PROCESSING until a restart."""
    cluster = make_cluster(
        replicas=1, workers=2, env={"VODFLOW_LEASE_S": "6", "VODFLOW_REQUEUE_AFTER_S": "2"}
    )
    [api] = cluster.api
    clip = make_video(tmp_path / "long.mp4", duration=20, width=640, height=360, fps=25)
    file_id = cluster.add_media(clip)
    task_id = api.call(
        "EditMedia",
        {
            "InputType": "File",
            "FileInfos": [{"FileId": file_id, "StartTimeOffset": 1.0, "EndTimeOffset": 15.0}],
        },
    )["TaskId"]
    marker = str(cluster.blob_dir / ".tmp" / f"job-{task_id}-")
    found = wait_until(
        lambda: {"ffmpeg": processes_with(marker)}, lambda v: bool(v["ffmpeg"]), 120, 0.02
    )
    for pid in found["ffmpeg"]:  # paused: the edit cannot end before the kill
        os.kill(pid, signal.SIGSTOP)
    try:
        [(owner,)] = cluster.sql("SELECT lease_owner FROM tasks WHERE task_id = $1", task_id)
        pid = int(owner.split(":")[1])
        [victim] = [w for w in cluster.pool if w.pid == pid]
        victim.kill()
        detail = wait_finished(api, task_id, timeout=300)
    finally:
        kill_strays(marker)
    task = detail["EditMediaTask"]
    assert (task["Status"], task["ErrCode"]) == ("FINISH", 0), task
    [(attempts, left_owner)] = cluster.sql(
        "SELECT attempts, lease_owner FROM tasks WHERE task_id = $1", task_id
    )
    assert (attempts, left_owner) == (2, None)
    media = cluster.sql("SELECT file_id FROM media ORDER BY create_time")
    assert [m[0] for m in media] == [file_id, task["Output"]["FileId"]]
    events = cluster.sql(
        "SELECT count(*) FROM events WHERE event_type = 'EditMediaComplete' AND body LIKE $1",
        f"%{task_id}%",
    )
    assert [e[0] for e in events] == [1]
