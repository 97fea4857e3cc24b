"""Thousands of held PullEvents on one `vodflow serve` (issue 16, goal 4). Prints ratios.

Side by side in one run, with the same client and the same uvicorn (h11, same
connection limits):
- vodflow: `vodflow serve` on its embedded SQLite (or PostgreSQL with `--pg`);
- bare: a Starlette endpoint that holds each request on an asyncio.Event and answers
  the first held one when a trigger request comes (the least any server can do).

The client is raw asyncio sockets in CLIENTS separate processes, HTTP/1.1 keep-alive,
every request TC3-signed like the SDK (each with a body of its own: PullEvents is
guarded against replays). Each connection asks again as soon as it is answered.
Measured, per side:
- errors: answers with an Error, closed connections, anything but HTTP 200;
- wake-up: N held, an event is produced (vodflow: DeleteMedia with the delete event
  switch on, a commit; bare: the trigger request) and the time from sending that
  request to the first held connection receiving the event (median of ROUNDS);
  (vodflow's trigger is a real transaction, DeleteMedia's, whose own time is part of
  this figure; the trigger's answer time is printed beside it, and the event's arrival
  relative to that answer);
- from the commit (vodflow): to the first receipt, at most from the event row's
  create_time (the server's clock read just before its INSERT; the commit follows)
  and, on PostgreSQL, at least from this bench's own LISTEN hearing the commit's
  NOTIFY (sent only once committed); the bare side's comparable figure is its
  trigger-to-receipt time (it has no commit);
- CPU of the server process over WINDOW_S with N held (two wait periods: every held
  request times out and is asked again, as a real consumer does), from /proc/PID/stat,
  also per request asked again (the sides' re-asks need not fall alike in the window);
- memory: (RSS with N held - RSS before) / N.

Goal: zero errors, wake-up <= 2x and CPU <= 2x the bare endpoint's.

Run: `.venv/bin/python -m bench.held_polls [N] [--pg] [--src OTHER/src]` from the
repository root (`--src` runs vodflow from another checkout, e.g. the previous version)
(default 10,000; the descriptor limit must allow N + 200 in the server and N/CLIENTS
per client process).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import multiprocessing as mp
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from math import nan
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg
import httpx
from tests.flows_support import add_media
from tests.mediagen import make_video
from tests.servers import ServerProcess, free_port
from tests.signing import signed_headers

CLIENTS = 2
WAIT_S = float(
    os.environ.get("HELD_WAIT_S", "20")
)  # how long a PullEvents is held with nothing to deliver (both sides)
WINDOW_S = 2 * WAIT_S  # two wait periods: the re-asks of both sides fall inside
ROUNDS = int(os.environ.get("HELD_ROUNDS", "7"))
RAMP_PER_S = 2000  # new connections per second per client process


# ------------------------------------------------------------------ the client


def _request(action: str, host: str, i: int, k: int) -> bytes:
    """A signed request whose body is its own: (i, k) written in JSON whitespace."""
    pad, x = b"", i * 100_000 + k
    while x:
        x, d = divmod(x, 4)
        pad += b" \t\r\n"[d : d + 1]
    body = b"{" + pad + b"}"
    headers = signed_headers(action, body, host)
    head = f"POST / HTTP/1.1\r\nContent-Length: {len(body)}\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    return head.encode() + b"\r\n" + body


async def _read_answer(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        if line.lower().startswith("content-length:"):
            length = int(line.split(":", 1)[1])
    return status, await reader.readexactly(length)


async def _hold_all(port: int, first: int, n: int, stats: Any, received: Any, stop: Any) -> None:
    host = f"127.0.0.1:{port}"

    async def one(i: int) -> None:
        k = 0
        while not stop.is_set():
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                with stats.get_lock():
                    stats[1] += 1
                await asyncio.sleep(1)
                continue
            try:
                while not stop.is_set():
                    k += 1
                    writer.write(_request("PullEvents", host, i, k))
                    with stats.get_lock():
                        stats[0] += 1  # sent, not answered: held
                    status, body = await _read_answer(reader)
                    t, wall = time.monotonic(), time.time()
                    with stats.get_lock():
                        stats[0] -= 1
                        stats[2] += 1
                    if status != 200 or b'"Error"' in body:
                        with stats.get_lock():
                            stats[1] += 1
                        print(f"error answer: {status} {body[:300]!r}", file=sys.stderr)
                    elif b'"EventHandle"' in body:
                        with received.get_lock():
                            if received[0] == 0:
                                received[0], received[1] = t, wall
            except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                if not stop.is_set():
                    with stats.get_lock():
                        stats[1] += 1
                    print(f"connection lost: {exc!r}", file=sys.stderr)
            finally:
                writer.close()

    tasks = []
    for j in range(n):
        tasks.append(asyncio.create_task(one(first + j)))
        if j % 100 == 99:
            await asyncio.sleep(100 / RAMP_PER_S)
    while not stop.is_set():
        await asyncio.sleep(0.2)
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def _client(port: int, first: int, n: int, stats: Any, received: Any, stop: Any) -> None:
    import resource

    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    asyncio.run(_hold_all(port, first, n, stats, received, stop))


# ------------------------------------------------------------------ the bare endpoint

BARE_APP = """
import asyncio, collections, sys
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route
import uvicorn
WAIT_S = float(sys.argv[2])
EMPTY = b'{"Response":{"EventSet":[],"RequestId":"00000000-0000-0000-0000-000000000000"}}'
EVENT = (b'{"Response":{"EventSet":[{"EventHandle":"x","EventType":"FileDeleted"}],'
         b'"RequestId":"00000000-0000-0000-0000-000000000000"}}')
DONE = b'{"Response":{"RequestId":"00000000-0000-0000-0000-000000000000"}}'
held = collections.OrderedDict()
async def endpoint(request):
    await request.body()
    if request.headers.get("x-tc-action") != "PullEvents":
        for ev in held:  # the oldest held request gets the event
            if not ev.is_set():
                ev.set()
                break
        return Response(DONE, media_type="application/json")
    ev = asyncio.Event()
    held[ev] = None
    try:
        await asyncio.wait_for(ev.wait(), WAIT_S)
    except TimeoutError:
        pass
    finally:
        held.pop(ev, None)
    # Set even if the timeout came first (woken while timing out): the event is its.
    return Response(EVENT if ev.is_set() else EMPTY, media_type="application/json")
async def count(request):
    return Response(str(len(held)))
app = Starlette(routes=[Route("/", endpoint, methods=["POST"]), Route("/held", count)])
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning",
            access_log=False, http="h11", limit_concurrency=int(sys.argv[3]) + 16,
            timeout_keep_alive=5)
"""


class Side:
    name: str
    port: int
    pid: int

    def held(self) -> int:
        raise NotImplementedError

    def trigger(self, k: int) -> None:
        raise NotImplementedError

    def committed(self) -> tuple[float, float | None] | None:
        """When the last trigger's event was committed, as (after, before) in wall-clock
        time: it was committed after `after` and, if known, before `before`; None if
        the side commits nothing (bare)."""
        return None

    def stop(self) -> None:
        raise NotImplementedError


class Bare(Side):
    name = "bare"

    def __init__(self, n: int) -> None:
        self.port = free_port()
        self.proc = subprocess.Popen(
            [sys.executable, "-c", BARE_APP, str(self.port), str(WAIT_S), str(n + 200)],
            preexec_fn=_raise_fd_limit,
        )
        self.pid = self.proc.pid
        self.http = httpx.Client(timeout=60)
        for _ in range(200):
            try:
                self.http.get(f"http://127.0.0.1:{self.port}/held")
                break
            except httpx.HTTPError:
                time.sleep(0.1)

    def held(self) -> int:
        return int(self.http.get(f"http://127.0.0.1:{self.port}/held").text)

    def trigger(self, k: int) -> None:
        body = b'{"FileId": "%d"}' % k
        host = f"127.0.0.1:{self.port}"
        self.http.post(
            f"http://{host}/", content=body, headers=signed_headers("DeleteMedia", body, host)
        )

    def stop(self) -> None:
        self.http.close()
        self.proc.terminate()
        self.proc.wait()


class Vodflow(Side):
    name = "vodflow"

    def __init__(self, n: int, tmp: Path, env: dict[str, str]) -> None:
        self.server = ServerProcess(
            tmp / "data",
            env={
                **env,
                "VODFLOW_PULL_WAIT_S": str(WAIT_S),
                "VODFLOW_RATE_LIMIT": "0",
                "VODFLOW_MAX_CONNECTIONS": str(n + 200),
            },
            preexec=_raise_fd_limit,
        ).start()
        self.port = self.server.port
        assert self.server.proc is not None
        self.pid = self.server.proc.pid
        self.server.call(
            "ModifyEventConfig", {"Mode": "PULL", "DeleteMediaCompleteEventSwitch": "ON"}
        )
        clip = make_video(tmp / "clip.mp4", duration=1, width=160, height=90, fps=10)
        self.files = [add_media(self.server, clip, name=f"c{i}") for i in range(ROUNDS + 1)]
        self.http = httpx.Client(timeout=120)
        self.database_url = env.get("VODFLOW_DATABASE_URL")
        self.heard = Heard(self.database_url) if self.database_url else None

    def held(self) -> int:
        text = self.http.get(f"{self.server.url}/metrics").text
        for line in text.splitlines():
            if line.startswith("vodflow_pulls_held "):
                return int(float(line.split()[1]))
        return 0

    def trigger(self, k: int) -> None:
        if self.heard is not None:
            self.heard.times.clear()
        body = json.dumps({"FileId": self.files[k]}).encode()
        headers = signed_headers("DeleteMedia", body, self.server.host)
        answer = self.http.post(self.server.url + "/", content=body, headers=headers).json()
        assert "Error" not in answer["Response"], answer

    def committed(self) -> tuple[float, float | None]:
        """After: the event row's create_time, the server's clock read just before its
        INSERT (then, on PostgreSQL, the INSERT's and the COMMIT's round trips). Before
        (PostgreSQL): this bench's own LISTEN hearing the commit's NOTIFY."""
        sql = "SELECT max(create_time) FROM events WHERE event_type = 'FileDeleted'"
        if self.heard is None:
            db = self.server.data_dir / "vodflow.db"
            with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
                return float(conn.execute(sql).fetchone()[0]), None
        return float(self.heard.run(self.heard.conn.fetchval(sql))), self.heard.first()

    def stop(self) -> None:
        self.http.close()
        if self.heard is not None:
            self.heard.run(self.heard.conn.close())
            self.heard.loop.call_soon_threadsafe(self.heard.loop.stop)
        self.server.stop()


class Heard:
    """A LISTEN of vodflow's wake-up channel on a thread of this process: when each
    notice came (wall clock). PostgreSQL sends a notice only once its transaction commits."""

    def __init__(self, database_url: str) -> None:
        from vodflow.notify.pg_wakeup import CHANNEL
        from vodflow.store.db import asyncpg_dsn

        self.times: list[float] = []
        self.loop = asyncio.new_event_loop()
        self.conn = self.loop.run_until_complete(asyncpg.connect(asyncpg_dsn(database_url)))
        self.loop.run_until_complete(
            self.conn.add_listener(CHANNEL, lambda *_: self.times.append(time.time()))
        )
        threading.Thread(target=self.loop.run_forever, daemon=True).start()

    def run(self, step: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(step, self.loop).result(30)

    def first(self) -> float | None:
        _until(lambda: bool(self.times), "the commit's NOTIFY", 0.0005)
        return self.times[0]


def _raise_fd_limit() -> None:
    import resource

    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def _until(done: Callable[[], bool], what: str, every: float = 0.2) -> None:
    deadline = time.monotonic() + 300
    while not done():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(every)


def measure(side: Side, n: int) -> dict[str, float]:
    ctx = mp.get_context("spawn")
    stats = ctx.Array("q", 3)  # [held now, errors, answered]
    received = ctx.Array("d", 2)  # the first event's receipt: [monotonic, wall clock]
    stop = ctx.Event()
    rss0 = rss_bytes(side.pid)
    each = n // CLIENTS
    procs = [
        ctx.Process(target=_client, args=(side.port, c * each, each, stats, received, stop))
        for c in range(CLIENTS)
    ]
    for p in procs:
        p.start()
    try:
        _until(lambda: side.held() >= n, f"{side.name}: {n} pulls held")
        time.sleep(2)
        rss = rss_bytes(side.pid)
        c0, t0, a0 = cpu_s(side.pid), time.monotonic(), stats[2]
        time.sleep(WINDOW_S)
        cores = (cpu_s(side.pid) - c0) / (time.monotonic() - t0)
        asked_again = stats[2] - a0
        wakes: list[float] = []
        answered: list[float] = []
        after: list[float] = []  # the event's arrival after the trigger's own answer
        from_written: list[float] = []  # from the event row's write (commit is later)
        from_heard: list[float] = []  # from the commit's NOTIFY heard here (commit is earlier)
        for k in range(ROUNDS):
            _until(lambda: side.held() >= n - 5, f"{side.name}: pulls held again")
            time.sleep(0.5)
            received[0] = received[1] = 0.0
            t = time.monotonic()
            side.trigger(k)
            answered.append(time.monotonic() - t)
            _until(lambda: received[0] != 0.0, f"{side.name}: the event received", 0.0005)
            wakes.append(received[0] - t)
            after.append(received[0] - t - answered[-1])
            commit = side.committed()
            if commit is not None:
                from_written.append(received[1] - commit[0])
                if commit[1] is not None:
                    from_heard.append(received[1] - commit[1])
        return {
            "errors": float(stats[1]),
            "wake_ms": statistics.median(wakes) * 1000,
            "wake_max_ms": max(wakes) * 1000,
            "trigger_ms": statistics.median(answered) * 1000,
            "asked_again": float(asked_again),
            "after_ms": statistics.median(after) * 1000,
            "written_ms": statistics.median(from_written) * 1000 if from_written else nan,
            "heard_ms": statistics.median(from_heard) * 1000 if from_heard else nan,
            "cores": cores,
            "kb_per_held": (rss - rss0) / n / 1024,
        }
    finally:
        stop.set()
        for p in procs:
            p.join(30)
            if p.is_alive():
                p.terminate()


def main() -> None:
    args = sys.argv[1:]
    pg = "--pg" in args
    args = [a for a in args if a != "--pg"]
    src = None
    if "--src" in args:  # run vodflow from another checkout (e.g. the previous version)
        i = args.index("--src")
        src = os.path.abspath(args[i + 1])
        del args[i : i + 2]
    n = int(args[0]) if args else 10_000
    with tempfile.TemporaryDirectory() as tmp_dir:
        env: dict[str, str] = {"PYTHONPATH": src} if src else {}
        name = None
        if pg:
            from tests.scale import services as svc

            svc.require_services()
            name = svc.create_database()
            env["VODFLOW_DATABASE_URL"] = svc.database_url(name)
        results: dict[str, dict[str, float]] = {}
        try:
            for make in (lambda: Bare(n), lambda: Vodflow(n, Path(tmp_dir), env)):
                side = make()
                try:
                    results[side.name] = measure(side, n)
                finally:
                    side.stop()
        finally:
            if name:
                svc.drop_database(name)
    store = "PostgreSQL" if pg else "SQLite"
    print(f"{n} held PullEvents (wait {WAIT_S:.0f} s, {CLIENTS} client processes), {store}")
    print(f"  vodflow code: {src or 'this checkout'}")
    for side_name, r in results.items():
        print(
            f"  {side_name:8s} errors {r['errors']:.0f}, wake-up p50 {r['wake_ms']:.1f} ms "
            f"(max {r['wake_max_ms']:.1f}; the trigger answered in {r['trigger_ms']:.1f}, "
            f"the event {r['after_ms']:+.1f} after that), CPU {r['cores']:.3f} cores, "
            f"{r['kb_per_held']:.1f} KB RSS per held request, "
            f"{r['asked_again']:.0f} timed out and asked again in the CPU window "
            f"({r['cores'] * WINDOW_S / max(1.0, r['asked_again']) * 1000:.2f} ms CPU each)"
        )
    v, b = results["vodflow"], results["bare"]
    heard = "" if v["heard_ms"] != v["heard_ms"] else f", at least {v['heard_ms']:.1f} (from "
    heard += "its NOTIFY heard by this bench, after the commit)" if heard else ""
    print(
        f"  vodflow's event committed -> its first waiter: at most {v['written_ms']:.1f} ms "
        f"p50 (from the event row's create_time, written before the commit){heard}; "
        f"the bare endpoint's comparable figure is its trigger -> receipt, {b['wake_ms']:.1f}"
    )
    print(
        f"  ratios: wake-up {v['wake_ms'] / b['wake_ms']:.2f}x from the trigger, "
        f"{v['written_ms'] / b['wake_ms']:.2f}x from the commit (at most), "
        f"CPU {v['cores'] / b['cores']:.2f}x (goals: 0 errors, <= 2x each)"
    )


if __name__ == "__main__":
    main()
