"""Cheap read actions and the PULL queue over HTTP, driven by wrk, beside a bare endpoint.

For each of DescribeEventsState, DescribeTaskDetail and DescribeMediaInfos (one file),
and for PullEvents(16)+ConfirmEvents, wrk drives `vodflow serve` (SQLite, real data:
a clip processed by a real flow, queued events) and a bare Starlette+uvicorn app (the
same uvicorn, same protocol stack) that answers the very bytes vodflow answered, in
alternate runs; it prints the median requests/s of each and their ratio.
Goals (issue 16): reads >= 0.5 of the bare endpoint; PullEvents+ConfirmEvents >= 0.5
of the floor, the floor not client-bound (shown by a run with more wrk threads and
connections, and by the floor process's CPU: one core, all a uvicorn process has).

Every request to vodflow is TC3-signed as the SDKs sign:
- the reads repeat one signed request: TC3 has no nonce, and vodflow's replay memory
  (api/replay.py) lets an idempotent action repeat a signature within its 5-minute
  window, as Tencent does; the request is signed afresh before each run.
- PullEvents is non-idempotent: a signature seen more than VODFLOW_REPLAY_GRACE_S
  (5 s) ago is refused. Each PullEvents therefore carries a signature of its own
  (a pool made before each run; an extra signed header `x-bench-n` makes them
  distinct), as an SDK client signing every request would.
- ConfirmEvents carries the handles of the pull it follows, unknown before the run:
  it is signed once with `X-TC-Content-SHA256: UNSIGNED-PAYLOAD` (a TC3 option the
  SDKs offer), so its body may vary.

Needs Debian's wrk (`apt-get install -y wrk`, or `make wrk`). Bounded: about 3 minutes.
Run: `.venv/bin/python -m bench.reads [--duration 5] [--rounds 3] [--events 400000]`.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.events_support import seed_task
from tests.mediagen import make_video
from tests.servers import SECRET_ID, SECRET_KEY, ServerProcess, free_port
from tests.signing import signed_headers

from vodflow.api.auth import SignedRequest, sign
from vodflow.app import build_services
from vodflow.config import Settings
from vodflow.core.events import event_content
from vodflow.store import events as events_q

APP_ID = 1250000000
SERVER_ENV = {"VODFLOW_RATE_LIMIT": "0", "VODFLOW_PULL_WAIT_S": "0.2"}

BARE_APP = """
import json, sys
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route
import uvicorn
answers = {k: open(v, "rb").read() for k, v in json.load(open(sys.argv[2])).items()}
async def endpoint(request):
    await request.body()
    return Response(answers[request.headers.get("x-tc-action")], media_type="application/json")
uvicorn.run(Starlette(routes=[Route("/", endpoint, methods=["POST"])]),
            host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
"""

# Counts what came back, per wrk thread; `done` prints the sums for the bench to read.
LUA_COMMON = """
local threads = {}
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
  table.insert(threads, thread)
end
errors, empties, events = 0, 0, 0
function done(summary, latency, requests)
  local e, m, n = 0, 0, 0
  for _, t in ipairs(threads) do
    e = e + t:get("errors"); m = m + t:get("empties"); n = n + t:get("events")
  end
  io.write(string.format("BENCH errors=%d empties=%d events=%d nthreads=%d\\n", e, m, n, #threads))
end
"""

LUA_READ = """
function response(status, headers, body)
  if status ~= 200 or body:find('"Error"', 1, true) then errors = errors + 1 end
end
"""

# PullEvents with a signature of its own each time; the handles it gets are confirmed
# by this thread's next request (on whichever of its connections is free first).
LUA_PULL = """
local pool = dofile(POOL)
local pending = {}
local i = 0
local pull_headers = {["Content-Type"] = "application/json", ["X-TC-Action"] = "PullEvents",
  ["X-TC-Version"] = "2018-07-17", ["X-TC-Timestamp"] = TIMESTAMP}
function init(args)
  i = id
end
function request()
  local body = table.remove(pending)
  if body then
    return wrk.format("POST", "/", CONFIRM_HEADERS, body)
  end
  local e = pool[i]
  if e == nil then errors = errors + 1; e = pool[#pool] end
  i = i + NTHREADS
  pull_headers["Authorization"] = e[1]
  pull_headers["X-Bench-N"] = e[2]
  return wrk.format("POST", "/", pull_headers, "{}")
end
function response(status, headers, body)
  if status ~= 200 or body:find('"Error"', 1, true) then
    errors = errors + 1
    if errors <= 3 then io.write("ERROR " .. status .. " " .. body:sub(1, 400) .. "\\n") end
    return
  end
  if body:find('"EventSet"', 1, true) then
    local hs = {}
    for h in body:gmatch('"EventHandle":"([^"]+)"') do hs[#hs + 1] = '"' .. h .. '"' end
    if #hs == 0 then
      empties = empties + 1
    else
      events = events + #hs
      pending[#pending + 1] = '{"EventHandles":[' .. table.concat(hs, ",") .. ']}'
    end
  end
end
"""


def _lua_str(s: str) -> str:
    return json.dumps(s)  # a JSON string of ASCII text is a valid Lua string literal


def _lua_headers(headers: dict[str, str]) -> str:
    items = ", ".join(
        f"[{_lua_str(k)}] = {_lua_str(v)}" for k, v in headers.items() if k.lower() != "host"
    )
    return "{" + items + "}"


# ------------------------------------------------------------------ data


def _seed(data_dir: Path, work: Path, queued: int) -> None:
    """A processed clip (its media and the task of a real flow), and `queued` events."""
    clip = make_video(work / "clip.mp4", duration=2.0, width=320, height=240)
    srv = ServerProcess(data_dir, env=SERVER_ENV).start()
    try:
        file_id = _add_clip(srv, clip)
        task_id = _api(
            srv.port,
            "ProcessMedia",
            {
                "FileId": file_id,
                "MediaProcessTask": {
                    "SnapshotByTimeOffsetTaskSet": [
                        {"Definition": 10, "ExtTimeOffsetSet": ["0s", "1s"]}
                    ],
                    "CoverBySnapshotTaskSet": [
                        {"Definition": 10, "PositionType": "Time", "PositionValue": 1}
                    ],
                },
            },
        )["TaskId"]
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            detail = _api(srv.port, "DescribeTaskDetail", {"TaskId": task_id})
            if detail["Status"] == "FINISH":
                break
            time.sleep(0.5)
        else:
            raise RuntimeError(f"the flow did not finish: {detail}")
    finally:
        srv.stop()
    (work / "ids.json").write_text(json.dumps({"file_id": file_id, "task_id": task_id}))
    _queue_events(data_dir, queued)


def _add_clip(srv: ServerProcess, clip: Path) -> str:
    async def go() -> str:
        services = await build_services(srv.settings())
        try:
            record = await services.library.add_media(
                APP_ID, clip, name="bench clip", media_type="mp4", copy=True
            )
            return record.file_id
        finally:
            await services.db.close()

    return asyncio.run(go())


def _queue_events(data_dir: Path, n: int) -> None:
    """`n` PULL events as core.events.emit writes them, many per statement (fast)."""

    async def go() -> None:
        settings = Settings(data_dir=data_dir, secret_id=SECRET_ID, secret_key=SECRET_KEY)
        services = await build_services(settings)
        try:
            done = 0
            while done < n:
                t = time.time()
                rows = [
                    {
                        "app_id": APP_ID,
                        "event_type": "ProcedureStateChanged",
                        "body": json.dumps(
                            event_content("ProcedureStateChanged", seed_task(i)),
                            ensure_ascii=False,
                            separators=(",", ":"),
                        ),
                        "mode": "PULL",
                        "create_time": t,
                        "attempts": 0,
                    }
                    for i in range(done, min(n, done + 20_000))
                ]
                async with services.db.tx() as conn:
                    await events_q.add_pulls(conn, rows)
                done += len(rows)
        finally:
            await services.db.close()

    asyncio.run(go())


# ------------------------------------------------------------------ HTTP


def _raw(port: int, action: str, params: dict[str, Any]) -> bytes:
    body = json.dumps(params).encode()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("POST", "/", body, signed_headers(action, body, f"127.0.0.1:{port}"))
    return conn.getresponse().read()


def _api(port: int, action: str, params: dict[str, Any]) -> dict[str, Any]:
    answer: dict[str, Any] = json.loads(_raw(port, action, params))["Response"]
    if "Error" in answer:
        raise RuntimeError(f"{action}: {answer['Error']}")
    return answer


def _wait_listening(port: int) -> None:
    for _ in range(300):
        try:
            http.client.HTTPConnection("127.0.0.1", port, timeout=1).connect()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


class Bare:
    """The reference: bare Starlette+uvicorn answering the given bytes per X-TC-Action."""

    def __init__(self, answers: dict[str, bytes], work: Path) -> None:
        files = {}
        for action, body in answers.items():
            path = work / f"bare-{action}.json"
            path.write_bytes(body)
            files[action] = str(path)
        (work / "bare.json").write_text(json.dumps(files))
        self.port = free_port()
        self.proc = subprocess.Popen(
            [sys.executable, "-c", BARE_APP, str(self.port), str(work / "bare.json")]
        )
        _wait_listening(self.port)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait()


def _cpu_s(pid: int) -> float:
    """User+system CPU seconds of a process (and its reaped children) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(f) for f in fields[11:15])
    return ticks / os.sysconf("SC_CLK_TCK")


def _wrk(
    port: int, script: str, duration: int, threads: int, conns: int, pid: int
) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
    cpu0, t0 = _cpu_s(pid), time.monotonic()
    proc = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{conns}", f"-d{duration}s", "-s", f.name,
         f"http://127.0.0.1:{port}/"],
        capture_output=True, text=True, timeout=duration + 60,
    )  # fmt: skip
    if proc.returncode != 0:
        raise RuntimeError(f"wrk failed:\n{proc.stdout}\n{proc.stderr}")
    out = proc.stdout
    cores = (_cpu_s(pid) - cpu0) / (time.monotonic() - t0)
    os.unlink(f.name)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    counts = re.search(r"BENCH errors=(\d+) empties=(\d+) events=(\d+)", out)
    if rps is None or counts is None:
        raise RuntimeError(f"wrk said:\n{out}")
    errors, empties, events = (int(x) for x in counts.groups())
    if errors:
        raise RuntimeError(f"{errors} error answers during the run:\n{out}")
    return {"rps": float(rps[1]), "empties": empties, "events": events, "cores": cores}


# ------------------------------------------------------------------ scripts


def _read_script(action: str, params: dict[str, Any], port: int) -> str:
    body = json.dumps(params)
    headers = signed_headers(action, body.encode(), f"127.0.0.1:{port}")
    return (
        f'wrk.method = "POST"\nwrk.body = {_lua_str(body)}\n'
        + "".join(
            f"wrk.headers[{_lua_str(k)}] = {_lua_str(v)}\n"
            for k, v in headers.items()
            if k != "Host"
        )
        + LUA_COMMON
        + LUA_READ
    )


def _auth(sig_headers: str, signature: str, ts: int) -> str:
    date = time.strftime("%Y-%m-%d", time.gmtime(ts))
    return (
        f"TC3-HMAC-SHA256 Credential={SECRET_ID}/{date}/vod/tc3_request, "
        f"SignedHeaders={sig_headers}, Signature={signature}"
    )


def _pull_script(port: int, work: Path, pool_size: int, threads: int) -> str:
    """The pull+confirm script with a fresh pool of distinct PullEvents signatures."""
    host = f"127.0.0.1:{port}"
    ts = int(time.time())
    lines = ["return {"]
    for n in range(pool_size):
        headers = {"content-type": "application/json", "host": host, "x-bench-n": str(n)}
        req = SignedRequest("POST", "/", "", headers, b"{}")
        sig = sign(SECRET_KEY, req, ["content-type", "host", "x-bench-n"], str(ts))
        lines.append(f'{{"{_auth("content-type;host;x-bench-n", sig, ts)}", "{n}"}},')
    lines.append("}")
    pool = work / "pool.lua"
    pool.write_text("\n".join(lines))
    confirm = {"content-type": "application/json", "host": host,
               "x-tc-content-sha256": "UNSIGNED-PAYLOAD"}  # fmt: skip
    sig = sign(SECRET_KEY, SignedRequest("POST", "/", "", confirm, b""), ["content-type", "host"],
               str(ts))  # fmt: skip
    confirm_headers = {
        "Content-Type": "application/json",
        "X-TC-Action": "ConfirmEvents",
        "X-TC-Version": "2018-07-17",
        "X-TC-Timestamp": str(ts),
        "X-TC-Content-SHA256": "UNSIGNED-PAYLOAD",
        "Authorization": _auth("content-type;host", sig, ts),
    }
    return (
        f"POOL = {_lua_str(str(pool))}\nTIMESTAMP = {_lua_str(str(ts))}\nNTHREADS = {threads}\n"
        f"CONFIRM_HEADERS = {_lua_headers(confirm_headers)}\n" + LUA_COMMON + LUA_PULL
    )


# ------------------------------------------------------------------ benches


def _report(name: str, size: int, v: list[dict[str, float]], b: list[dict[str, float]]) -> None:
    """req/s of both sides and their ratio (the goal's figure), and the server CPU per
    request of each (what a request costs whatever share of the cores the machine's
    load leaves a process)."""
    mv = statistics.median(x["rps"] for x in v)
    mb = statistics.median(x["rps"] for x in b)
    cv = statistics.median(x["cores"] / x["rps"] * 1e6 for x in v)
    cb = statistics.median(x["cores"] / x["rps"] * 1e6 for x in b)
    ratio = mv / mb
    print(
        f"  {name:<26} {size:>6} B  vodflow {mv:>7,.0f} req/s  bare {mb:>7,.0f} req/s  "
        f"ratio {ratio:.2f} (goal >= 0.5: {'met' if ratio >= 0.5 else 'NOT met'})"
    )
    print(
        f"  {'':<35} server CPU per request: vodflow {cv:,.0f} us, bare {cb:,.0f} us "
        f"(bare/vodflow {cb / cv:.2f}); cores used {statistics.median(x['cores'] for x in v):.2f}"
        f" / {statistics.median(x['cores'] for x in b):.2f}"
    )


def bench_reads(work: Path, duration: int, rounds: int, threads: int, conns: int) -> None:
    data = work / "reads"
    _seed(data, work, 200)
    ids = json.loads((work / "ids.json").read_text())
    actions: dict[str, dict[str, Any]] = {
        "DescribeEventsState": {},
        "DescribeTaskDetail": {"TaskId": ids["task_id"]},
        "DescribeMediaInfos": {"FileIds": [ids["file_id"]]},
    }
    srv = ServerProcess(data, env=SERVER_ENV).start()
    bare = None
    try:
        answers = {a: _raw(srv.port, a, p) for a, p in actions.items()}
        for a, body in answers.items():
            if b'"Error"' in body:
                raise RuntimeError(f"{a}: {body[:300]!r}")
        bare = Bare(answers, work)
        assert srv.proc is not None
        runs: dict[str, tuple[list[dict[str, float]], list[dict[str, float]]]] = {
            a: ([], []) for a in actions
        }
        for r in range(rounds):
            for action, params in actions.items():
                sides = [("v", srv.port, srv.proc.pid), ("b", bare.port, bare.proc.pid)]
                for side, port, pid in sides if r % 2 == 0 else sides[::-1]:
                    got = _wrk(
                        port, _read_script(action, params, srv.port), duration, threads, conns, pid
                    )
                    runs[action][0 if side == "v" else 1].append(got)
        print(
            f"reads: wrk -t{threads} -c{conns} -d{duration}s, {rounds} alternated rounds, medians"
        )
        for action in actions:
            _report(action, len(answers[action]), *runs[action])
    finally:
        if bare is not None:
            bare.stop()
        srv.stop()


def bench_pull(work: Path, duration: int, rounds: int, n_events: int, conns: int) -> None:
    data = work / "pull"
    _queue_events(data, n_events)
    srv = ServerProcess(data, env=SERVER_ENV).start()
    bare = None
    threads = 1
    try:
        pulled = _raw(srv.port, "PullEvents", {})
        handles = [e["EventHandle"] for e in json.loads(pulled)["Response"]["EventSet"]]
        assert len(handles) == 16, pulled[:300]
        confirmed = _raw(srv.port, "ConfirmEvents", {"EventHandles": handles})
        assert b'"Error"' not in confirmed, confirmed
        bare = Bare({"PullEvents": pulled, "ConfirmEvents": confirmed}, work)
        assert srv.proc is not None
        pool = int(duration * 6000)  # more PullEvents than the server can answer in a run
        v: list[dict[str, float]] = []
        b: list[dict[str, float]] = []
        for r in range(rounds):
            sides = [("v", srv.port, srv.proc.pid), ("b", bare.port, bare.proc.pid)]
            for side, port, pid in sides if r % 2 == 0 else sides[::-1]:
                script = _pull_script(srv.port, work, pool, threads)
                (v if side == "v" else b).append(_wrk(port, script, duration, threads, conns, pid))
        empties = sum(int(x["empties"]) for x in v)
        floor = statistics.median(x["rps"] for x in b)
        # The floor with more client: more wrk threads and connections.
        more = _wrk(bare.port, _pull_script(srv.port, work, pool * 2, 2), duration, 2, 64,
                    bare.proc.pid)  # fmt: skip
        left = _api(srv.port, "DescribeEventsState", {})["CountOfEventsToPull"]
        print(
            f"PullEvents(16)+ConfirmEvents: wrk -t{threads} -c{conns} -d{duration}s, "
            f"{rounds} alternated rounds, medians; pull answer {len(pulled):,} B"
        )
        _report("PullEvents+ConfirmEvents", len(pulled), v, b)
        print(
            f"    floor with wrk -t2 -c64: {more['rps']:,.0f} req/s "
            f"({more['rps'] / floor:.2f}x the -t{threads} -c{conns} floor), floor CPU "
            f"{more['cores']:.2f} cores (one uvicorn process: 1.00 at most); more client "
            "giving no more means the floor is bound by its server, not by wrk"
        )
        print(f"    events left queued: {left:,}; empty pulls during vodflow runs: {empties}")
        if empties:
            print("    WARNING: the queue ran dry during a run; raise --events")
    finally:
        if bare is not None:
            bare.stop()
        srv.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--events", type=int, default=400_000)
    parser.add_argument("parts", nargs="*", default=["reads", "pull"])
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: install Debian's wrk (`apt-get install -y wrk`, or `make wrk`)")
    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if "reads" in args.parts:
            bench_reads(work, args.duration, args.rounds, args.threads, args.connections)
        if "pull" in args.parts:
            bench_pull(work, args.duration, args.rounds, args.events, args.connections)
    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")


if __name__ == "__main__":
    main()
