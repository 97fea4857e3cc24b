"""Event-notification benchmarks. Prints figures and ratios; bounded to a few minutes.

(a) Drain 20,000 queued events with PullEvents(16) + ConfirmEvents over HTTP, every
    request TC3-signed, with 1 and 4 consumer processes; beside
    - the HTTP floor: a bare Starlette endpoint (same uvicorn) answering the same
      payload to the same client, and
    - Redis Streams: XREADGROUP(COUNT 16) + XACK of the same payloads.
    Goals: vodflow's request rate >= 0.5x the floor's; >= 10,000 events/s with 4.
(b) PUSH: 5,000 events to a local receiver: the relay's deliveries/s when they are
    all queued at once, and p50/p99 latency from commit to receipt when events are
    committed at 500/s. Goal: p99 <= 50 ms at 500/s.
(c) PullEvents+ConfirmEvents latency with 1,000 vs 1,000,000 events queued.
    Goal: ratio <= 1.5.

Run: `.venv/bin/python -m bench.events [a|b|c ...]` from the repository root.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.events_support import emit_many, running_services, seed_task
from tests.servers import ServerProcess, free_port
from tests.signing import signed_headers

from vodflow.app import build_services
from vodflow.config import Settings
from vodflow.core.events import event_content
from vodflow.store import events as events_q

N_DRAIN = 20_000
APP_ID = 1250000000


# ------------------------------------------------------------------ clients


class Api:
    """A keep-alive HTTP/1.1 client that TC3-signs every request like the SDK."""

    def __init__(self, port: int) -> None:
        self.host = f"127.0.0.1:{port}"
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def call(self, action: str, params: dict[str, Any]) -> dict[str, Any]:
        body = json.dumps(params).encode()
        self.conn.request("POST", "/", body, signed_headers(action, body, self.host))
        answer: dict[str, Any] = json.loads(self.conn.getresponse().read())["Response"]
        if "Error" in answer:
            raise RuntimeError(f"{action}: {answer['Error']}")
        return answer


def _consume(port: int, pairs: int | None, out: Any) -> None:
    """Pull+confirm until the queue is empty (or `pairs` rounds); report counts."""
    api = Api(port)
    events = requests = 0
    first = last = 0.0
    rounds = 0
    while pairs is None or rounds < pairs:
        t = time.perf_counter()
        got = api.call("PullEvents", {})["EventSet"]
        requests += 1
        if not got:
            break
        first = first or t
        api.call("ConfirmEvents", {"EventHandles": [e["EventHandle"] for e in got]})
        requests += 1
        events += len(got)
        last = time.perf_counter()
        rounds += 1
    out.put((events, requests, first, last))


def _run_consumers(port: int, consumers: int, pairs_each: int | None) -> dict[str, float]:
    ctx = mp.get_context("fork")
    out = ctx.Queue()
    procs = [ctx.Process(target=_consume, args=(port, pairs_each, out)) for _ in range(consumers)]
    t0 = time.perf_counter()
    for p in procs:
        p.start()
    results = [out.get(timeout=600) for _ in procs]
    for p in procs:
        p.join()
    events = sum(r[0] for r in results)
    requests = sum(r[1] for r in results)
    end = max(r[3] for r in results)
    elapsed = end - t0
    return {
        "events": events,
        "requests": requests,
        "s": elapsed,
        "eps": events / elapsed,
        "rps": requests / elapsed,
    }


# ------------------------------------------------------------------ (a) drain


def _prepare_queue(data_dir: Path, n: int) -> None:
    async def go() -> None:
        settings = Settings(data_dir=data_dir)
        services = await build_services(settings)
        try:
            await emit_many(services, n, per_tx=2000)
        finally:
            await services.db.close()

    asyncio.run(go())


FLOOR_APP = """
import json, sys
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route
import uvicorn
pull = open(sys.argv[2], "rb").read()
confirm = b'{"Response":{"RequestId":"00000000-0000-0000-0000-000000000000"}}'
async def endpoint(request):
    await request.body()
    body = pull if request.headers.get("x-tc-action") == "PullEvents" else confirm
    return Response(body, media_type="application/json")
uvicorn.run(Starlette(routes=[Route("/", endpoint, methods=["POST"])]),
            host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
"""


def _floor(pull_body: bytes, consumers: int, pairs_each: int) -> dict[str, float]:
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        body_path = Path(tmp) / "pull.json"
        body_path.write_bytes(pull_body)
        proc = subprocess.Popen([sys.executable, "-c", FLOOR_APP, str(port), str(body_path)])
        try:
            for _ in range(100):
                try:
                    http.client.HTTPConnection("127.0.0.1", port, timeout=1).connect()
                    break
                except OSError:
                    time.sleep(0.1)
            return _run_consumers(port, consumers, pairs_each)
        finally:
            proc.terminate()
            proc.wait()


def _redis(payloads: list[bytes], consumers: int) -> dict[str, float] | None:
    try:
        import redis
    except ImportError:
        return None
    r = redis.Redis()
    try:
        r.ping()
    except redis.RedisError:
        return None
    stream = f"vodflow-bench-{os.getpid()}"
    r.delete(stream)
    pipe = r.pipeline(transaction=False)
    for p in payloads:
        pipe.xadd(stream, {"body": p})
    pipe.execute()
    r.xgroup_create(stream, "g", id="0")

    def consume(name: str, out: Any) -> None:
        c = redis.Redis()
        n = 0
        first = last = 0.0
        while True:
            t = time.perf_counter()
            got = c.xreadgroup("g", name, {stream: ">"}, count=16)
            if not got or not got[0][1]:
                break
            first = first or t
            ids = [m[0] for m in got[0][1]]
            for _mid, fields in got[0][1]:
                json.loads(fields[b"body"])  # the consumer parses what it gets, as over HTTP
            c.xack(stream, "g", *ids)
            n += len(ids)
            last = time.perf_counter()
        out.put((n, 0, first, last))

    ctx = mp.get_context("fork")
    out = ctx.Queue()
    procs = [ctx.Process(target=consume, args=(f"c{i}", out)) for i in range(consumers)]
    t0 = time.perf_counter()
    for p in procs:
        p.start()
    results = [out.get(timeout=600) for _ in procs]
    for p in procs:
        p.join()
    r.delete(stream)
    events = sum(x[0] for x in results)
    elapsed = max(x[3] for x in results) - t0
    return {"events": events, "s": elapsed, "eps": events / elapsed}


def bench_drain() -> None:
    print(f"(a) drain {N_DRAIN} queued events: PullEvents(16) + ConfirmEvents, TC3-signed")
    payload = json.dumps(event_content("ProcedureStateChanged", seed_task(0)), ensure_ascii=False)
    pull_body = json.dumps(
        {
            "Response": {
                "EventSet": [{"EventHandle": "x" * 24, **json.loads(payload)}] * 16,
                "RequestId": "00000000-0000-0000-0000-000000000000",
            }
        },
        ensure_ascii=False,
    ).encode()
    print(f"    payload {len(payload.encode())} bytes/event, pull answer {len(pull_body)} bytes")
    for consumers in (1, 4):
        with tempfile.TemporaryDirectory() as tmp:
            data = Path(tmp) / "data"
            _prepare_queue(data, N_DRAIN)
            srv = ServerProcess(data, env={"VODFLOW_RATE_LIMIT": "0", "VODFLOW_PULL_WAIT_S": "0.2"})
            srv.start()
            try:
                v = _run_consumers(srv.port, consumers, None)
            finally:
                srv.stop()
        assert v["events"] >= N_DRAIN, v
        f = _floor(pull_body, consumers, N_DRAIN // 16 // consumers)
        rd = _redis([payload.encode()] * N_DRAIN, consumers)
        print(
            f"    {consumers} consumer(s): vodflow {v['eps']:,.0f} events/s "
            f"({v['rps']:,.0f} req/s, {v['s']:.2f} s); HTTP floor {f['rps']:,.0f} req/s "
            f"({f['eps']:,.0f} events/s)"
            + (f"; Redis Streams {rd['eps']:,.0f} events/s" if rd else "; Redis unavailable")
        )
        print(
            f"      ratio vodflow/floor (req/s) {v['rps'] / f['rps']:.2f} (goal >= 0.5)"
            + (f"; vodflow/Redis {v['eps'] / rd['eps']:.2f}" if rd else "")
            + (
                f"; events/s goal >= 10,000: {'met' if v['eps'] >= 10_000 else 'NOT met'}"
                if consumers == 4
                else ""
            )
        )


# ------------------------------------------------------------------ (b) push


RECEIVER_APP = """
import sys, time, json
from starlette.applications import Starlette
from starlette.responses import Response, JSONResponse
from starlette.routing import Route
import uvicorn
seen = {}
async def cb(request):
    body = await request.body()
    t = time.time()
    seen.setdefault(json.loads(body)["ProcedureStateChangeEvent"]["TaskId"], t)
    return Response(b"ok")
async def stats(request):
    return JSONResponse(seen)
uvicorn.run(Starlette(routes=[Route("/cb", cb, methods=["POST"]), Route("/stats", stats)]),
            host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
"""


def bench_push() -> None:
    print("(b) PUSH: 5,000 events to a local receiver (separate process)")
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", RECEIVER_APP, str(port)])

    def stats() -> dict[str, float]:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        c.request("GET", "/stats")
        return dict(json.loads(c.getresponse().read()))

    async def go(tmp: Path) -> None:
        async with running_services(tmp / "data") as s:
            assert s.events is not None
            await s.events.modify_config(
                APP_ID,
                mode="PUSH",
                notification_url=f"http://127.0.0.1:{port}/cb",
                sign_key="benchKey1",
            )
            # Throughput: all queued in one transaction, then relayed.
            t0 = time.perf_counter()
            await emit_many(s, 5000, per_tx=5000)
            while len(stats()) < 5000:
                await asyncio.sleep(0.05)
            dt = time.perf_counter() - t0
            print(f"    burst: 5,000 delivered in {dt:.2f} s = {5000 / dt:,.0f} deliveries/s")
            # Latency at 500/s: 5 events per transaction every 10 ms. Each transaction is
            # its own task, as the flows and requests of a server commit concurrently;
            # each event's commit time is noted right after its commit.
            committed: dict[str, float] = {}

            async def produce(first: int) -> None:
                await emit_many(s, 5, per_tx=5, start=first)
                t_commit = time.time()
                for j in range(first, first + 5):
                    committed[seed_task(j)["TaskId"]] = t_commit

            producers = []
            start = time.perf_counter()
            for i in range(0, 5000, 5):
                delay = start + i / 500 - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                producers.append(asyncio.create_task(produce(10_000 + i)))
            await asyncio.gather(*producers)
            rate = 5000 / (time.perf_counter() - start)
            while len(stats()) < 10_000:
                await asyncio.sleep(0.05)
            seen = stats()
            lat = sorted((seen[k] - t) * 1000 for k, t in committed.items())
            p50 = lat[len(lat) // 2]
            p99 = lat[int(len(lat) * 0.99)]
            print(
                f"    steady {rate:,.0f} events/s committed: commit->receipt p50 {p50:.1f} ms, "
                f"p99 {p99:.1f} ms, max {lat[-1]:.1f} ms (goal p99 <= 50 ms: "
                f"{'met' if p99 <= 50 else 'NOT met'})"
            )

    try:
        for _ in range(100):
            try:
                stats()
                break
            except OSError:
                time.sleep(0.1)
        with tempfile.TemporaryDirectory() as tmp:
            asyncio.run(go(Path(tmp)))
    finally:
        proc.terminate()
        proc.wait()


# ------------------------------------------------------------------ (c) latency


def _fill(data_dir: Path, n: int) -> None:
    """n small queued events inserted in bulk (the queue's depth is what is measured)."""

    async def go() -> None:
        services = await build_services(Settings(data_dir=data_dir))
        body = json.dumps(
            event_content("ProcedureStateChanged", {"TaskId": "t", "Status": "FINISH"})
        )
        t = time.time() - 60
        try:
            for lo in range(0, n, 50_000):
                rows = [
                    {
                        "app_id": APP_ID,
                        "event_type": "ProcedureStateChanged",
                        "body": body,
                        "mode": "PULL",
                        "create_time": t,
                        "attempts": 0,
                    }
                    for _ in range(min(50_000, n - lo))
                ]
                async with services.db.tx() as conn:
                    await events_q.add_pulls(conn, rows)
        finally:
            await services.db.close()

    asyncio.run(go())


def _latency(port: int, rounds: int) -> tuple[float, float]:
    api = Api(port)
    pulls: list[float] = []
    confirms: list[float] = []
    for _ in range(rounds):
        t = time.perf_counter()
        got = api.call("PullEvents", {})["EventSet"]
        pulls.append(time.perf_counter() - t)
        t = time.perf_counter()
        api.call("ConfirmEvents", {"EventHandles": [e["EventHandle"] for e in got]})
        confirms.append(time.perf_counter() - t)
    return statistics.median(pulls) * 1000, statistics.median(confirms) * 1000


def bench_latency() -> None:
    print("(c) PullEvents(16) latency vs queue depth (median of 55 rounds, one client)")
    found: dict[int, tuple[float, float]] = {}
    for depth in (1_000, 1_000_000):
        with tempfile.TemporaryDirectory() as tmp:
            data = Path(tmp) / "data"
            t = time.perf_counter()
            _fill(data, depth)
            fill_s = time.perf_counter() - t
            srv = ServerProcess(data, env={"VODFLOW_RATE_LIMIT": "0"}).start()
            try:
                _latency(srv.port, 5)  # warm up
                # 60 rounds x 16 < 1,000: the short queue never runs dry.
                found[depth] = _latency(srv.port, 55)
            finally:
                srv.stop()
        p, c = found[depth]
        print(
            f"    {depth:>9,} queued (filled in {fill_s:.1f} s): PullEvents {p:.2f} ms, "
            f"ConfirmEvents {c:.2f} ms"
        )
    ratio = found[1_000_000][0] / found[1_000][0]
    print(f"    ratio PullEvents 1,000,000 / 1,000: {ratio:.2f} (goal <= 1.5)")


def main() -> None:
    parts = sys.argv[1:] or ["a", "b", "c"]
    t = time.perf_counter()
    if "a" in parts:
        bench_drain()
    if "b" in parts:
        bench_push()
    if "c" in parts:
        bench_latency()
    print(f"total {time.perf_counter() - t:.0f} s")


if __name__ == "__main__":
    main()
