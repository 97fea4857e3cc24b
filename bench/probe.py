"""Probe latency: PyAV in-process (vodflow's probe) vs spawning the ffmpeg/ffprobe binary.

Both read the same generated files (a 60 s seed clip, a 4 s clip, an M4A) and
report container, streams and durations; vodflow's probe also screens the
header and, here, skips the MD5 (md5=False) so both do the same work. Prints
the median of N runs per file and the ratio.

Run: `.venv/bin/python -m bench.probe [RUNS]` from the repository root.
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.mediagen import make_audio_only, make_seed_clip, make_video

from vodflow.media.ffmpeg import ffmpeg_exe
from vodflow.media.probe import probe


def ffprobe(path: Path) -> object:
    """ffprobe's JSON when ffprobe is installed; else `ffmpeg -i` (stream info on stderr)."""
    binary = shutil.which("ffprobe")
    if binary:
        cmd = [binary, "-v", "error", "-print_format", "json", "-show_format", "-show_streams"]
        out = subprocess.run([*cmd, str(path)], capture_output=True, check=True, timeout=60)
        return json.loads(out.stdout)
    done = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-i", str(path)], capture_output=True, timeout=60
    )
    return done.stderr


def median_ms(fn: Callable[[Path], object], path: Path, runs: int) -> float:
    fn(path)  # warm the page cache and imports
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn(path)
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    with tempfile.TemporaryDirectory(prefix="vodflow-bench-probe-") as tmp:
        root = Path(tmp)
        files = {
            "seed 60 s 640x480": make_seed_clip(root / "seed.mp4"),
            "clip 4 s 320x240": make_video(root / "clip.mp4", duration=4.0),
            "audio 3 s m4a": make_audio_only(root / "a.m4a"),
        }
        tool = "ffprobe" if shutil.which("ffprobe") else f"{ffmpeg_exe()} -i"
        print(f"median of {runs} runs; binary: {tool}")
        for label, path in files.items():
            pyav = median_ms(lambda p: probe(p, md5=False), path, runs)
            binary = median_ms(ffprobe, path, runs)
            with_md5 = median_ms(probe, path, max(3, runs // 4))
            print(
                f"{label:20s} PyAV {pyav:7.2f} ms   binary {binary:7.2f} ms   "
                f"binary/PyAV {binary / pyav:5.1f}x   (PyAV with MD5 {with_md5:7.2f} ms)"
            )


if __name__ == "__main__":
    main()
