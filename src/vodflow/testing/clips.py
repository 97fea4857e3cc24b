"""Test clips made by FFmpeg's lavfi sources (testsrc2 + a sine tone): nothing to check in."""

from __future__ import annotations

import subprocess
from pathlib import Path


def make_clip(
    path: Path | str,
    *,
    seconds: float = 1.0,
    width: int = 160,
    height: int = 120,
    fps: int = 10,
    audio: bool = True,
) -> Path:
    """An H.264/AAC file at `path` (the container from its suffix, .mp4 by default)."""
    from vodflow.media.ffmpeg import ffmpeg_exe

    path = Path(path)
    cmd = [ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y"]
    cmd += ["-f", "lavfi", "-i", f"testsrc2=size={width}x{height}:rate={fps}:duration={seconds}"]
    if audio:
        cmd += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=44100:duration={seconds}"]
    cmd += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    if audio:
        cmd += ["-c:a", "aac", "-b:a", "64k"]
    cmd += ["-shortest", str(path)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"ffmpeg could not make {path}: {done.stderr[-2000:]}")
    return path
