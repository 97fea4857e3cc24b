"""Tiny flows (issue 16, goal 5): where a flow's own cost shows, not FFmpeg's. Prints ratios.

50 flows of one CoverBySnapshot (template 10, at 0.5 s) on 50 one-second clips,
submitted at once to a `vodflow serve` (embedded: its executor runs as many jobs at
once as the machine has cores, 2 here), against the same 50 FFmpeg commands (the
very command vodflow runs, captured, not rebuilt) run directly with the same
parallelism. A flow's end is the moment the client holds its FINISH event, learnt
from a PullEvents long poll (as in bench/flows.py). Also: vodflow's own CPU per flow
(the server process's user+system time, its FFmpeg children excluded).

The client runs on the same 2 cores as FFmpeg and the server, and the direct run has
none, so each round runs the flows twice: with a lean client (the same TC3-signed
requests over one keep-alive http.client connection) and with the official SDK
(about 1.5 ms of CPU per call). Both print; the lean one is vodflow's own figure.

Run: `.venv/bin/python -m bench.tiny_flows [FLOWS]` from the repository root.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.flows_support import add_media
from tests.mediagen import make_video
from tests.servers import ServerProcess
from tests.signing import signed_json

from vodflow.core.presets import preset
from vodflow.core.subtask_specs import cover_spec
from vodflow.media import ffmpeg as ffmpeg_mod
from vodflow.media.ops import cover_by_snapshot

FLOWS = 50
DEFINITION = 10
ITEM = {"Definition": DEFINITION, "PositionType": "Time", "PositionValue": 0.5}
PARALLEL = os.cpu_count() or 1
ROUNDS = 3


def cover_command(src: Path, out: Path) -> list[str]:
    """The exact FFmpeg command vodflow runs for this cover (captured from the op)."""
    captured: list[list[str]] = []
    real = asyncio.create_subprocess_exec

    async def capture(*cmd: str, **kw: Any) -> Any:
        captured.append(list(cmd))
        return await real(*cmd, **kw)

    out.mkdir(parents=True, exist_ok=True)
    spec = cover_spec(preset("SnapshotByTimeOffset", DEFINITION) or {}, ITEM, "cover")
    ffmpeg_mod.asyncio.create_subprocess_exec = capture  # type: ignore[attr-defined]
    try:
        asyncio.run(cover_by_snapshot(src, spec, out, threads=1))
    finally:
        ffmpeg_mod.asyncio.create_subprocess_exec = real  # type: ignore[attr-defined]
    return ffmpeg_mod.unwrapped(captured[-1])


def run_direct(cmds: list[list[str]]) -> float:
    t = time.perf_counter()
    with ThreadPoolExecutor(PARALLEL) as pool:
        for r in pool.map(lambda c: subprocess.run(c, capture_output=True), cmds):
            r.check_returncode()
    return time.perf_counter() - t


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class SdkClient:
    """The official SDK's client, made once: an application keeps its client (and its
    keep-alive connection) rather than connecting anew for every call."""

    name = "the SDK as client"

    def __init__(self, server: ServerProcess) -> None:
        self.sdk = server.common()

    def call(self, action: str, params: dict[str, Any]) -> dict[str, Any]:
        return self.sdk.call_json(action, params)["Response"]  # type: ignore[no-any-return]


class LeanClient:
    """The same TC3-signed requests over one keep-alive connection (http.client), at a
    fraction of the SDK's CPU: the client shares the machine's 2 cores with FFmpeg and
    the server, and the direct run it is compared with has no client at all."""

    name = "a lean client"

    def __init__(self, server: ServerProcess) -> None:
        self.host = server.host
        self.conn = http.client.HTTPConnection(self.host, timeout=60)

    def call(self, action: str, params: dict[str, Any]) -> dict[str, Any]:
        body, headers = signed_json(action, params, self.host)
        self.conn.request("POST", "/", body, headers)
        answer: dict[str, Any] = json.loads(self.conn.getresponse().read())["Response"]
        if "Error" in answer:
            raise RuntimeError(f"{action}: {answer['Error']}")
        return answer


Client = SdkClient | LeanClient


def run_flows(
    server: ServerProcess, files: list[str], client: Client | None = None
) -> tuple[float, float]:
    """Wall time of the flows and the server's own CPU seconds over them."""
    assert server.proc is not None
    mpt = {"CoverBySnapshotTaskSet": [ITEM]}
    client = client or SdkClient(server)
    c0, t = cpu_s(server.proc.pid), time.perf_counter()
    ids = [
        str(client.call("ProcessMedia", {"FileId": f, "MediaProcessTask": mpt})["TaskId"])
        for f in files
    ]
    wait_finished_covers(client, ids)
    return time.perf_counter() - t, cpu_s(server.proc.pid) - c0


def wait_finished_covers(client: Client, task_ids: list[str]) -> None:
    waiting = set(task_ids)
    while waiting:
        events = client.call("PullEvents", {})["EventSet"]
        if events:
            client.call("ConfirmEvents", {"EventHandles": [e["EventHandle"] for e in events]})
        for event in events:
            task = event.get("ProcedureStateChangeEvent") or {}
            if task.get("TaskId") in waiting:
                assert task["Status"] == "FINISH", task
                results = task["MediaProcessResultSet"]
                failed = [r for r in results if r["CoverBySnapshotTask"]["ErrCode"]]
                assert not failed, failed
                waiting.discard(task["TaskId"])


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else FLOWS
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        clips = [
            make_video(tmp / f"clip{i}.mp4", duration=1, width=320, height=180, fps=25)
            for i in range(n)
        ]
        base = cover_command(clips[0], tmp / "probe")
        src_at = base.index(str(clips[0]))
        cmds = []
        for i, clip in enumerate(clips):
            cmd = list(base)
            cmd[src_at] = str(clip)
            cmd[-1] = str(tmp / "direct" / f"cover{i}.jpg")
            cmds.append(cmd)
        (tmp / "direct").mkdir()
        server = ServerProcess(tmp / "data", env={"VODFLOW_RATE_LIMIT": "0"}).start()
        kinds: list[type[LeanClient] | type[SdkClient]] = [LeanClient, SdkClient]
        best: dict[str, tuple[float, float, float]] = {}  # wall, server CPU, client CPU
        try:
            media = [
                [add_media(server, c, name=f"r{r}c{i}") for i, c in enumerate(clips)]
                for r in range(1 + ROUNDS * len(kinds))
            ]
            run_flows(server, media.pop()[:4])  # warm-up (imports, page cache)
            # Alternated, best of ROUNDS each: the machine is shared, its load drifts.
            direct = float("inf")
            for _ in range(ROUNDS):
                direct = min(direct, run_direct(cmds))
                for kind in kinds:
                    c0 = time.process_time()
                    wall, used = run_flows(server, media.pop(), kind(server))
                    if wall < best.get(kind.name, (float("inf"),))[0]:
                        best[kind.name] = (wall, used, time.process_time() - c0)
        finally:
            server.stop()
    print(f"{n} one-snapshot flows, {PARALLEL} at a time; direct ffmpeg {direct:.2f} s")
    for name, (wall, cpu, client_cpu) in best.items():
        print(
            f"  with {name}: vodflow {wall:.2f} s, ratio {wall / direct:.2f} (goal <= 1.5); "
            f"vodflow's own CPU {cpu / n * 1000:.1f} ms per flow (server process, FFmpeg "
            f"excluded), the client's {client_cpu / n * 1000:.1f} ms"
        )


if __name__ == "__main__":
    main()
