"""Scaled-deployment benchmarks. Prints figures and ratios; needs PostgreSQL and Redis.

(a) 16 short flows (one Transcode 100010 of a 4 s 320x240 clip each), submitted at
    once to one API replica, with one `vodflow worker` process and then with two
    (each --concurrency 1): wall time from the first ProcessMedia to the last FINISH.
(b) PULL drain: N events queued, drained with PullEvents(16) + ConfirmEvents by 1
    and 4 consumer processes, against `vodflow serve` on SQLite (embedded) and on
    PostgreSQL (scaled; same code, the claim is FOR UPDATE SKIP LOCKED).

Run: `.venv/bin/python -m bench.scale [a|b ...]` from the repository root.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.events import _run_consumers
from tests.events_support import emit_many
from tests.flows_support import wait_until
from tests.mediagen import make_video
from tests.scale import services as svc
from tests.scale.cluster import Cluster
from tests.servers import ServerProcess

from vodflow.app import build_services
from vodflow.config import Settings

FLOWS = 16
N_DRAIN = 10_000
MPT = {"TranscodeTaskSet": [{"Definition": 100010}]}


def run_flows(root: Path, clip: Path, workers: int) -> float:
    cluster = Cluster(root, replicas=1, workers=workers, concurrency=1).start()
    try:
        [api] = cluster.api
        file_id = cluster.add_media(clip)
        t0 = time.perf_counter()
        ids = [
            api.call("ProcessMedia", {"FileId": file_id, "MediaProcessTask": MPT})["TaskId"]
            for _ in range(FLOWS)
        ]
        for task_id in ids:
            wait_until(
                lambda t=task_id: api.call("DescribeTaskDetail", {"TaskId": t}),
                lambda d: d["Status"] == "FINISH",
                timeout=600,
                every=0.05,
            )
        return time.perf_counter() - t0
    finally:
        cluster.stop()


def bench_flows() -> None:
    print(f"(a) {FLOWS} short flows (Transcode 100010, 4 s 320x240), one vs two worker processes")
    with tempfile.TemporaryDirectory() as tmp:
        clip = make_video(Path(tmp) / "clip.mp4", duration=4, width=320, height=240)
        one = run_flows(Path(tmp) / "one", clip, 1)
        two = run_flows(Path(tmp) / "two", clip, 2)
    print(f"    1 worker {one:.2f} s ({FLOWS / one:.2f} flows/s)")
    print(f"    2 workers {two:.2f} s ({FLOWS / two:.2f} flows/s)")
    print(f"    speed-up 2 workers / 1 worker {one / two:.2f}x (2 cores: ideal <= 2)")


def prepare(settings: Settings, n: int) -> None:
    async def go() -> None:
        services = await build_services(settings)
        try:
            await emit_many(services, n, per_tx=2000)
        finally:
            await services.db.close()

    asyncio.run(go())


def drain(data: Path, consumers: int, database_url: str | None) -> dict[str, float]:
    env = {"VODFLOW_RATE_LIMIT": "0", "VODFLOW_PULL_WAIT_S": "0.2"}
    if database_url:
        env["VODFLOW_DATABASE_URL"] = database_url
    prepare(Settings(data_dir=data, database_url=database_url), N_DRAIN)
    srv = ServerProcess(data, env=env).start()
    try:
        result = _run_consumers(srv.port, consumers, None)
    finally:
        srv.stop()
    assert result["events"] >= N_DRAIN, result
    return result


def bench_drain() -> None:
    print(f"(b) drain {N_DRAIN} PULL events: PullEvents(16) + ConfirmEvents, SQLite vs PostgreSQL")
    for consumers in (1, 4):
        with tempfile.TemporaryDirectory() as tmp:
            lite = drain(Path(tmp) / "lite", consumers, None)
            name = svc.create_database()
            try:
                pg = drain(Path(tmp) / "pg", consumers, svc.database_url(name))
            finally:
                svc.drop_database(name)
        print(
            f"    {consumers} consumer(s): SQLite {lite['eps']:,.0f} events/s "
            f"({lite['rps']:,.0f} req/s); PostgreSQL {pg['eps']:,.0f} events/s "
            f"({pg['rps']:,.0f} req/s); PostgreSQL/SQLite {pg['eps'] / lite['eps']:.2f}"
        )


def main() -> None:
    svc.require_services = lambda: None  # a benchmark fails loudly instead of skipping
    chosen = sys.argv[1:] or ["a", "b"]
    if "a" in chosen:
        bench_flows()
    if "b" in chosen:
        bench_drain()


if __name__ == "__main__":
    main()
