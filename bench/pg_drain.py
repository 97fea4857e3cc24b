"""PULL drain on PostgreSQL: vodflow over HTTP against raw asyncpg running the same
statements (issue 16, goal 3: vodflow >= 0.6 of raw asyncpg with 1 and 4 consumers).

One database is filled once with N_EVENTS events through vodflow's own outbox (the
seed's ProcedureStateChanged bodies, about 1.4 KB each) and never analyzed; every run
drains a fresh copy of it (CREATE DATABASE ... TEMPLATE), so each run starts from the
same rows and the same absence of statistics. Per consumer count, alternated:

- vodflow: `vodflow serve` on the copy; each consumer is a process looping
  PullEvents(16) + ConfirmEvents over keep-alive HTTP/1.1, every request TC3-signed
  like the SDK, until the queue is empty.
- raw asyncpg: each consumer is a process with one asyncpg connection looping the
  queue's own claim and confirm statements (imported from vodflow.store.pg_queue, the
  very texts vodflow sends) until the queue is empty.

- vodflow on SQLite: the same server and client on an embedded data dir holding the
  same events (a copy per run): what the same request path does without PostgreSQL.
- HTTP floor: the same client against bench/events.py's bare Starlette endpoint (same
  uvicorn) answering a 16-event PullEvents answer of these events and an empty
  ConfirmEvents: what HTTP alone allows on this machine at this moment.

Rates are events over the time from the first claim to the last confirmation. Each
run also prints the CPU its parts used (cores = CPU seconds / wall seconds): the
consumer processes, the vodflow server process, and the PostgreSQL backends of the
run's database; a client using a small part of a core while the server side uses the
rest shows the client is not what limits the rate.

Run: `.venv/bin/python -m bench.pg_drain [ROUNDS]` from the repository root (needs
PostgreSQL; about 6 minutes with 3 rounds on a loaded machine).
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg
from bench.events import FLOOR_APP
from tests.events_support import emit_many
from tests.scale import services as svc
from tests.servers import ServerProcess, free_port
from tests.signing import signed_headers

from vodflow.app import build_services
from vodflow.config import Settings
from vodflow.notify.handles import make_handle, new_token
from vodflow.store.db import asyncpg_dsn
from vodflow.store.pg_queue import CLAIM, CONFIRM

N_EVENTS = 10_000
CONSUMERS = (1, 4)
APP_ID = 1250000000
VISIBILITY_S = 30.0
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


async def _admin_fetch(database: str, sql: str) -> list[Any]:
    conn = await asyncpg.connect(
        host=svc.PG_HOST, port=svc.PG_PORT, user=svc.PG_USER, database=database
    )
    try:
        return list(await conn.fetch(sql))
    finally:
        await conn.close()


def backend_cpu(database: str) -> float:
    """CPU seconds of the PostgreSQL backends now connected to `database`."""
    rows = asyncio.run(
        _admin_fetch(
            svc.PG_ADMIN_DB,
            f"SELECT pid FROM pg_stat_activity WHERE datname = '{database}'",
        )
    )
    return sum(cpu_seconds(r["pid"]) for r in rows)


# ------------------------------------------------------------------ the queue


def fill_template(tmp: Path) -> str:
    """A database holding N_EVENTS queued PULL events, autovacuum (and so ANALYZE) off."""
    name = svc.create_database()
    url = svc.database_url(name)

    async def go() -> None:
        services = await build_services(Settings(data_dir=tmp / "template", database_url=url))
        try:
            async with services.db.tx() as conn:
                await conn.exec_driver_sql("ALTER TABLE events SET (autovacuum_enabled = false)")
            await emit_many(services, N_EVENTS, per_tx=2000)
        finally:
            await services.db.close()

    asyncio.run(go())
    return name


# ------------------------------------------------------------------ consumers


HANDLE = re.compile(rb'"EventHandle":"([^"]+)"')
LENGTH = re.compile(rb"(?i)\r\ncontent-length: *(\d+)")


class LeanApi:
    """Keep-alive HTTP/1.1 on a bare socket, every request TC3-signed like the SDK.

    What bench/events.py's http.client + json client spends per request (about
    600 µs of its CPU here: header parsing, json of a 25 KB answer) would be
    charged to vodflow on two shared cores; this one reads the answer's length and
    finds the handles with a regular expression, as lean as the raw asyncpg client.
    """

    def __init__(self, port: int) -> None:
        self.host = f"127.0.0.1:{port}"
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def call(self, action: str, body: bytes) -> bytes:
        head = "".join(f"{k}: {v}\r\n" for k, v in signed_headers(action, body, self.host).items())
        self.sock.sendall(
            f"POST / HTTP/1.1\r\n{head}Content-Length: {len(body)}\r\n\r\n".encode() + body
        )
        while (end := self.buf.find(b"\r\n\r\n")) < 0:
            self.buf += self._recv()
        found = LENGTH.search(self.buf, 0, end + 2)
        assert found is not None, self.buf[:end]
        stop = end + 4 + int(found.group(1))
        while len(self.buf) < stop:
            self.buf += self._recv()
        answer, self.buf = self.buf[end + 4 : stop], self.buf[stop:]
        if b'"Error"' in answer[:200]:
            raise RuntimeError(f"{action}: {answer[:300]!r}")
        return answer

    def _recv(self) -> bytes:
        data = self.sock.recv(262144)
        if not data:
            raise ConnectionError("the server closed the connection")
        return data


def _http_consumer(port: int, pairs: int | None, out: Any) -> None:
    """Pull + confirm until the queue is empty, or `pairs` times (the floor never empties)."""
    api = LeanApi(port)
    events = requests = 0
    first = last = 0.0
    cpu0 = time.process_time()
    while pairs is None or requests < 2 * pairs:
        t = time.perf_counter()
        handles = HANDLE.findall(api.call("PullEvents", b"{}"))
        requests += 1
        if not handles:
            break
        first = first or t
        api.call("ConfirmEvents", b'{"EventHandles":["' + b'","'.join(handles) + b'"]}')
        requests += 1
        events += len(handles)
        last = time.perf_counter()
    out.put((events, requests, first, last, time.process_time() - cpu0, 0.0))


def _raw_consumer(dsn: str, out: Any) -> None:
    async def go() -> tuple[int, int, float, float, float, float]:
        conn = await asyncpg.connect(dsn)
        backend = conn.get_server_pid()
        claim = await conn.prepare(CLAIM)
        confirm = await conn.prepare(CONFIRM)
        events = requests = 0
        first = last = 0.0
        cpu0 = time.process_time()
        while True:
            t = time.perf_counter()
            token = new_token()
            at = time.time()
            rows = await claim.fetch(at + VISIBILITY_S, token, APP_ID, at, 16)
            requests += 1
            if not rows:
                break
            first = first or t
            done = await confirm.fetch(time.time(), APP_ID, token, [r[0] for r in rows])
            assert len(done) == len(rows)
            requests += 1
            events += len(rows)
            last = time.perf_counter()
        cpu = time.process_time() - cpu0
        pg_cpu = cpu_seconds(backend)
        await conn.close()
        return events, requests, first, last, cpu, pg_cpu

    out.put(asyncio.run(go()))


def _run(target: Any, args: tuple[Any, ...], consumers: int) -> dict[str, float]:
    ctx = mp.get_context("fork")
    out = ctx.Queue()
    procs = [ctx.Process(target=target, args=(*args, out)) for _ in range(consumers)]
    for p in procs:
        p.start()
    results = [out.get(timeout=600) for _ in procs]
    for p in procs:
        p.join()
    start = min(r[2] for r in results if r[2])
    wall = max(r[3] for r in results) - start
    events = sum(r[0] for r in results)
    return {
        "events": events,
        "requests": sum(r[1] for r in results),
        "wall": wall,
        "eps": events / wall,
        "client_cpu": sum(r[4] for r in results),
        "pg_cpu": sum(r[5] for r in results),
    }


def run_raw(template: str, consumers: int) -> dict[str, float]:
    name = svc.create_database(template)
    try:
        result = _run(_raw_consumer, (asyncpg_dsn(svc.database_url(name)),), consumers)
    finally:
        svc.drop_database(name)
    result["server_cpu"] = 0.0
    return result


def run_vodflow(template: str, consumers: int, tmp: Path) -> dict[str, float]:
    name = svc.create_database(template)
    env = {"VODFLOW_DATABASE_URL": svc.database_url(name)}
    try:
        return _serve_and_drain(tmp / name, env, consumers, name)
    finally:
        svc.drop_database(name)


def run_sqlite(template: Path, consumers: int, tmp: Path) -> dict[str, float]:
    data = tmp / f"lite-{time.monotonic_ns()}"
    shutil.copytree(template, data)
    try:
        return _serve_and_drain(data, {}, consumers, None)
    finally:
        shutil.rmtree(data, ignore_errors=True)


def _serve_and_drain(
    data: Path, env: dict[str, str], consumers: int, database: str | None
) -> dict[str, float]:
    env = {
        "VODFLOW_RATE_LIMIT": "0",
        "VODFLOW_PULL_WAIT_S": "0.2",
        "VODFLOW_PULL_VISIBILITY_S": str(VISIBILITY_S),
        **env,
    }
    srv = ServerProcess(data, env=env).start()
    try:
        assert srv.proc is not None
        server0 = cpu_seconds(srv.proc.pid)
        pg0 = backend_cpu(database) if database else 0.0
        result = _run(_http_consumer, (srv.port, None), consumers)
        result["server_cpu"] = cpu_seconds(srv.proc.pid) - server0
        # The backends of the queue's pool opened on the first pull: their CPU
        # since then, less what the others had at the start.
        result["pg_cpu"] = backend_cpu(database) - pg0 if database else 0.0
    finally:
        srv.stop()
    return result


def fill_sqlite(tmp: Path) -> Path:
    """A data dir of `vodflow serve` on SQLite holding the same N_EVENTS events."""
    data = tmp / "lite-template"

    async def go() -> None:
        services = await build_services(Settings(data_dir=data))
        try:
            await emit_many(services, N_EVENTS, per_tx=2000)
        finally:
            await services.db.close()

    asyncio.run(go())
    return data


def pull_answer(template: str) -> bytes:
    """A PullEvents answer of 16 of the queued events, as vodflow shapes it."""
    rows = asyncio.run(_admin_fetch(template, "SELECT id, body FROM events ORDER BY id LIMIT 16"))
    items = ",".join(
        f'{{"EventHandle":"{make_handle(new_token(), r["id"])}",{r["body"][1:]}' for r in rows
    )
    request_id = "00000000-0000-0000-0000-000000000000"
    return f'{{"Response":{{"EventSet":[{items}],"RequestId":"{request_id}"}}}}'.encode()


def run_floor(answer: bytes, consumers: int, tmp: Path) -> dict[str, float]:
    """The same client against a bare Starlette endpoint (same uvicorn) answering the
    same bytes: what the HTTP stack alone allows on this machine now."""
    port = free_port()
    body_path = tmp / "pull.json"
    body_path.write_bytes(answer)
    proc = subprocess.Popen([sys.executable, "-c", FLOOR_APP, str(port), str(body_path)])
    try:
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        server0 = cpu_seconds(proc.pid)
        pairs = -(-N_EVENTS // 16 // consumers)
        result = _run(_http_consumer, (port, pairs), consumers)
        result["server_cpu"] = cpu_seconds(proc.pid) - server0
        result["pg_cpu"] = 0.0
        return result
    finally:
        proc.terminate()
        proc.wait()


# ------------------------------------------------------------------ report


def describe(side: str, r: dict[str, float]) -> str:
    wall = r["wall"]
    return (
        f"{side:>7}: {r['eps']:>7,.0f} events/s, {r['requests'] / wall:>6,.0f} req/s; cores: "
        f"clients {r['client_cpu'] / wall:.2f}, server {r['server_cpu'] / wall:.2f}, "
        f"PostgreSQL {r['pg_cpu'] / wall:.2f}; "
        f"client CPU {r['client_cpu'] / r['requests'] * 1e6:,.0f} µs/request"
    )


def cpu_per_event(r: dict[str, float]) -> float:
    return (r["client_cpu"] + r["server_cpu"] + r["pg_cpu"]) / r["events"] * 1e6


SIDES = ("raw", "vodflow", "sqlite", "floor")
LABELS = {
    "raw": "raw asyncpg, the same statements",
    "vodflow": "vodflow on PostgreSQL",
    "sqlite": "vodflow on SQLite",
    "floor": "HTTP floor (bare endpoint)",
}


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    svc.require_services = lambda: None  # a benchmark fails loudly instead of skipping
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    print(f"load average: {load()}")
    print(f"PULL drain of {N_EVENTS:,} events, {rounds} alternated rounds")
    rates: dict[tuple[str, int], list[float]] = {}
    costs: dict[tuple[str, int], list[float]] = {}
    ratios: dict[int, list[float]] = {c: [] for c in CONSUMERS}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        template = fill_template(tmp)
        lite = fill_sqlite(tmp)
        answer = pull_answer(template)
        try:
            for rnd in range(rounds):
                for consumers in CONSUMERS:
                    got = {
                        "raw": run_raw(template, consumers),
                        "vodflow": run_vodflow(template, consumers, tmp),
                        "sqlite": run_sqlite(lite, consumers, tmp),
                        "floor": run_floor(answer, consumers, tmp),
                    }
                    for side in ("raw", "vodflow", "sqlite"):
                        assert got[side]["events"] == N_EVENTS, (side, got[side])
                    ratio = got["vodflow"]["eps"] / got["raw"]["eps"]
                    ratios[consumers].append(ratio)
                    print(f"round {rnd + 1}, {consumers} consumer(s): vodflow/raw {ratio:.2f}")
                    for side in SIDES:
                        rates.setdefault((side, consumers), []).append(got[side]["eps"])
                        costs.setdefault((side, consumers), []).append(cpu_per_event(got[side]))
                        print("    " + describe(side, got[side]))
        finally:
            svc.drop_database(template)
    print("medians (events/s):")
    for consumers in CONSUMERS:
        med = {side: statistics.median(rates[(side, consumers)]) for side in SIDES}
        print(f"  {consumers} consumer(s):")
        for side in SIDES:
            print(f"    {LABELS[side]:<34} {med[side]:>8,.0f}")
        print(
            f"    vodflow/raw asyncpg {statistics.median(ratios[consumers]):.2f} (goal >= 0.6; "
            f"rounds {', '.join(f'{x:.2f}' for x in ratios[consumers])}); "
            f"PostgreSQL/SQLite {med['vodflow'] / med['sqlite']:.2f}; "
            f"floor/raw {med['floor'] / med['raw']:.2f}"
        )
        cost = {side: statistics.median(costs[(side, consumers)]) for side in SIDES}
        print(
            "    CPU per event, all parts (clients + server + PostgreSQL backends): "
            + ", ".join(f"{side} {cost[side]:.0f} µs" for side in SIDES)
            + f"; raw/vodflow {cost['raw'] / cost['vodflow']:.2f} (the ratio when every "
            "part is CPU-bound on the same cores, as on a loaded machine)"
        )
    print(f"load average: {load()}")


if __name__ == "__main__":
    main()
