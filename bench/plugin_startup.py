"""The pytest plugin's costs (`vodflow.testing`). Prints figures and ratios.

(a) Start-up to the first API call: `VodflowServer().start()` (which runs
    `vodflow serve --ephemeral --print-env` and reads its lines) plus one signed
    DescribeSubAppIds, best and median of 5; beside the goal (2 s) and the child
    process's CPU time (what the load cannot inflate). Reference: the project's own
    tests' way (tests/servers.py: `serve` then /healthz polled every 100 ms).
(b) The per-test reset: `server.new_app()` (one CreateSubAppId), mean of 50; beside
    a fresh server per test (a), the alternative it replaces.
(c) 100 task flows in a suite: one 1 s 640x360 clip uploaded, 100 ProcessMedia
    (Transcode 100010) submitted, every FINISH event read by PULL; with the test-only
    cheap media mode (VODFLOW_TEST_CHEAP_MEDIA, the plugin's default) and without.

Run: `.venv/bin/python -m bench.plugin_startup [a|b|c ...]` from the repository root.
"""

from __future__ import annotations

import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

from vodflow.testing import VodflowServer, make_clip

GOAL_S = 2.0


def _children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def bench_startup(runs: int = 5) -> float:
    walls, cpus = [], []
    for _ in range(runs):
        cpu0 = _children_cpu()
        t0 = time.perf_counter()
        server = VodflowServer().start()
        server.call("DescribeSubAppIds")
        walls.append(time.perf_counter() - t0)
        server.stop()
        cpus.append(_children_cpu() - cpu0)
    best, median = min(walls), statistics.median(walls)
    print(f"(a) start-up to first API call: best {best:.2f} s, median {median:.2f} s")
    print(f"    child CPU (start + stop) median {statistics.median(cpus):.2f} s")
    print(f"    ratio best / goal ({GOAL_S:.0f} s): {best / GOAL_S:.2f}")
    reference = _reference_startup()
    print(f"    reference (tests/servers.py start + first call): {reference:.2f} s")
    print(f"    ratio plugin / reference: {best / reference:.2f}")
    return best


def _reference_startup() -> float:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.servers import ServerProcess

    best = float("inf")
    for _ in range(3):
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            srv = ServerProcess(Path(tmp) / "data").start()
            srv.call("DescribeSubAppIds")
            best = min(best, time.perf_counter() - t0)
            srv.stop()
    return best


def bench_reset(startup_s: float, n: int = 50) -> None:
    with VodflowServer() as server:
        server.new_app("warm")
        t0 = time.perf_counter()
        for i in range(n):
            server.new_app(f"r{i}")
        mean = (time.perf_counter() - t0) / n
    print(f"(b) per-test reset (new application): {mean * 1000:.1f} ms mean of {n}")
    print(f"    a fresh server per test instead: {startup_s:.2f} s; ratio {mean / startup_s:.4f}")


def bench_flows(n: int = 100) -> None:
    """(c) with the test-only cheap media mode (the plugin's default) and without it."""
    on = _flows(n, cheap=True)
    off = _flows(n, cheap=False)
    print(f"(c) {n} flows ({FLOW_CLIP}, Transcode 100010) to their FINISH events:")
    print(f"    cheap media on {on:.1f} s, off {off:.1f} s; ratio on / off {on / off:.2f}")


FLOW_CLIP = "1 s 640x360 25 fps clip"


def _flows(n: int, *, cheap: bool) -> float:
    env = {"VODFLOW_TEST_CHEAP_MEDIA": "1" if cheap else "0"}
    with tempfile.TemporaryDirectory() as tmp, VodflowServer(env=env) as server:
        app = server.new_app("flows")
        clip = make_clip(Path(tmp) / "clip.mp4", seconds=1, width=640, height=360, fps=25)
        file_id = app.upload(clip)["FileId"]
        task = {"TranscodeTaskSet": [{"Definition": 100010}]}
        t0 = time.perf_counter()
        ids = {
            app.call("ProcessMedia", {"FileId": file_id, "MediaProcessTask": task})["TaskId"]
            for _ in range(n)
        }
        waiting = set(ids)
        while waiting:
            for event in app.events.pull_once():
                body = event.get("ProcedureStateChangeEvent") or {}
                if body.get("Status") == "FINISH":
                    waiting.discard(body.get("TaskId"))
        return time.perf_counter() - t0


def main() -> None:
    which = set(sys.argv[1:]) or {"a", "b", "c"}
    print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    startup = bench_startup() if "a" in which else 1.0
    if "b" in which:
        bench_reset(startup)
    if "c" in which:
        bench_flows()
    print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
