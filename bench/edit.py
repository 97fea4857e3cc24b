"""EditMedia benchmark: three clips joined by vodflow against the same FFmpeg run by hand.

(d) EditMedia of three clips (sources of different sizes, rates and audio layouts),
    from the EditMedia call to the client holding its EditMediaComplete event (a held
    PullEvents), against the very FFmpeg command vodflow runs for it (captured from
    the media op and re-run directly); goal <= 1.05.

Run: `.venv/bin/python -m bench.edit` from the repository root.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.flows_support import add_media
from tests.mediagen import make_video
from tests.servers import ServerProcess

from vodflow.media import ffmpeg as ffmpeg_mod
from vodflow.media.ops.edit import Clip, EditSpec, edit_media

CUTS = [(2.0, 8.0), (1.0, 7.0), (0.0, 6.0)]


def ffmpeg_command(sources: list[Path], out: Path) -> list[str]:
    """The exact FFmpeg command vodflow runs for the edit (captured, not rebuilt)."""
    captured: list[list[str]] = []
    real = asyncio.create_subprocess_exec

    async def capture(*cmd: str, **kw: Any) -> Any:
        captured.append(list(cmd))
        return await real(*cmd, **kw)

    clips = [Clip(str(p), s, e) for p, (s, e) in zip(sources, CUTS, strict=True)]
    ffmpeg_mod.asyncio.create_subprocess_exec = capture  # type: ignore[attr-defined]
    try:
        asyncio.run(edit_media(clips, EditSpec(), out, threads=os.cpu_count()))
    finally:
        ffmpeg_mod.asyncio.create_subprocess_exec = real  # type: ignore[attr-defined]
    cmd = ffmpeg_mod.unwrapped(captured[-1])
    cmd[-1] = str(out / Path(cmd[-1]).name)  # the staging dir it named is gone
    return cmd


def run_direct(cmd: list[str]) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - t


def timed_edit(server: ServerProcess, file_ids: list[str]) -> float:
    t = time.perf_counter()
    infos = [
        {"FileId": f, "StartTimeOffset": s, "EndTimeOffset": e}
        for f, (s, e) in zip(file_ids, CUTS, strict=True)
    ]
    task_id = server.call("EditMedia", {"InputType": "File", "FileInfos": infos})["TaskId"]
    while True:
        events = server.call("PullEvents", {})["EventSet"]
        if events:
            server.call("ConfirmEvents", {"EventHandles": [e["EventHandle"] for e in events]})
        for event in events:
            task = event.get("EditMediaCompleteEvent") or {}
            if task.get("TaskId") == task_id:
                assert task["ErrCode"] == 0, task
                return time.perf_counter() - t


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        sources = [
            make_video(tmp / "a.mp4", duration=10, width=640, height=360, fps=25),
            make_video(tmp / "b.mp4", duration=10, width=480, height=360, fps=30, audio=False),
            make_video(tmp / "c.mp4", duration=10, width=320, height=240, arate=44100, achannels=1),
        ]
        server = ServerProcess(tmp / "data").start()
        try:
            ids = [add_media(server, p) for p in sources]
            timed_edit(server, ids)  # warm-up
            cmd = ffmpeg_command(sources, tmp / "direct")
            direct, api = float("inf"), float("inf")
            for _ in range(3):
                direct = min(direct, run_direct(cmd))
                api = min(api, timed_edit(server, ids))
            print(
                f"(d) EditMedia of three clips: direct ffmpeg {direct:.2f} s, vodflow "
                f"{api:.2f} s, ratio {api / direct:.3f} (goal <= 1.05)"
            )
        finally:
            server.stop()


if __name__ == "__main__":
    main()
