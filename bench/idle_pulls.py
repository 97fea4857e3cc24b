"""Idle cost of held long polls (issue 12, item 20): database transactions per second
while N PullEvents are held on one application with nothing to deliver.

A `vodflow serve` on PostgreSQL (its own database) holds N PullEvents (VODFLOW_PULL_WAIT_S
60: clients re-ask whenever one returns); after a settling period, the database's own
counters (pg_stat_database xact_commit + xact_rollback) are read twice, WINDOW_S apart.
The same run with an idle server (0 pulls) gives the floor of the background loops.

Run: `.venv/bin/python -m bench.idle_pulls [N] [--src OTHER/src]` from the repository root;
`--src` runs the server from another checkout (e.g. the previous version) for comparison.
Needs PostgreSQL (tests/scale/services.py).
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg
import httpx
from tests.scale import services as svc
from tests.servers import ServerProcess
from tests.signing import signed_headers

SETTLE_S = 15.0
WINDOW_S = 30.0


async def xacts(db_name: str) -> int:
    conn = await asyncpg.connect(
        host=svc.PG_HOST, port=svc.PG_PORT, user=svc.PG_USER, database=svc.PG_ADMIN_DB
    )
    try:
        row = await conn.fetchrow(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = $1",
            db_name,
        )
        return int(row[0])
    finally:
        await conn.close()


async def hold(server: ServerProcess, n: int, stop: asyncio.Event) -> None:
    limits = httpx.Limits(max_connections=n + 10, max_keepalive_connections=n + 10)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:

        async def one(i: int) -> None:
            k = 0
            while not stop.is_set():
                k += 1
                body = b"{}" + b" " * (i * 1000 + k % 1000)  # a signature of its own
                headers = signed_headers("PullEvents", body, server.host)
                try:
                    await client.post(server.url + "/", content=body, headers=headers)
                except httpx.HTTPError:
                    await asyncio.sleep(0.5)

        tasks = [asyncio.create_task(one(i)) for i in range(n)]
        await stop.wait()
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def measure(n: int, src: str | None) -> float:
    svc.require_services()
    name = svc.create_database()
    env = {
        "VODFLOW_DATABASE_URL": svc.database_url(name),
        "VODFLOW_PULL_WAIT_S": "60",
        "VODFLOW_RATE_LIMIT": "0",
    }
    if src:
        env["PYTHONPATH"] = src
    try:
        with tempfile.TemporaryDirectory() as tmp:
            server = ServerProcess(Path(tmp) / "data", env=env).start()
            try:
                return asyncio.run(window(server, n, name))
            finally:
                server.stop()
    finally:
        svc.drop_database(name)


async def window(server: ServerProcess, n: int, name: str) -> float:
    stop = asyncio.Event()
    holder = asyncio.create_task(hold(server, n, stop))
    try:
        await asyncio.sleep(SETTLE_S)
        a, t0 = await xacts(name), time.monotonic()
        await asyncio.sleep(WINDOW_S)
        b, t1 = await xacts(name), time.monotonic()
    finally:
        stop.set()
        await holder
    return (b - a) / (t1 - t0)


def main() -> None:
    args = sys.argv[1:]
    src = None
    if "--src" in args:
        i = args.index("--src")
        src = os.path.abspath(args[i + 1])
        del args[i : i + 2]
    n = int(args[0]) if args else 500
    idle = measure(0, src)
    held = measure(n, src)
    print(f"server code: {src or 'this checkout'}")
    print(f"idle server:          {idle:8.1f} transactions/s")
    print(f"{n} held PullEvents: {held:8.1f} transactions/s ({held - idle:+.1f})")


if __name__ == "__main__":
    main()
