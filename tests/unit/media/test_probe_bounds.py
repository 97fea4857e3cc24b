"""Resource amplification at probe time (issue 12 item 16)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.mediagen import ffmpeg, make_png, make_video
from vodflow.media.errors import CONTENT_MALFORMED, ProbeError
from vodflow.media.probe import MIN_BYTES_PER_SECOND, probe


def make_hour_long_slideshow(path: Path) -> Path:
    """Two 64x64 frames 30 minutes apart: ~1.5 KB that claims one hour."""
    ffmpeg(
        "-f", "lavfi", "-i", "color=c=black:s=64x64:r=1/1800", "-frames:v", "2",
        "-c:v", "libx264", "-r", "1/1800", "-video_track_timescale", "1000", str(path),
    )  # fmt: skip
    return path


def test_a_tiny_file_claiming_an_hour_is_refused(tmp_path: Path) -> None:
    clip = make_hour_long_slideshow(tmp_path / "hour.mp4")
    size = clip.stat().st_size
    assert size < 3600 * MIN_BYTES_PER_SECOND
    with pytest.raises(ProbeError) as info:
        probe(clip)
    assert info.value.code == CONTENT_MALFORMED
    assert "implausible" in info.value.message and str(size) in info.value.message


def test_small_honest_files_still_pass(tmp_path: Path) -> None:
    clip = make_video(tmp_path / "short.mp4", duration=1, width=64, height=48)
    media = probe(clip)
    assert media.duration == pytest.approx(1.0, abs=0.1)
    assert media.size >= media.duration * MIN_BYTES_PER_SECOND


SIX_AT_ONCE = """
import resource, sys
from concurrent.futures import ThreadPoolExecutor
from vodflow.media.probe import probe
paths = sys.argv[1:]
with ThreadPoolExecutor(len(paths)) as pool:
    sizes = {(p.width, p.height, p.rotate, p.is_image) for p in pool.map(probe, paths)}
print(sizes, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
"""


@pytest.mark.slow
def test_six_large_pictures_probed_at_once_cost_two_decodes(tmp_path: Path) -> None:
    """An 8192x8192 PNG of ~200 KB decodes to 256 MiB; six probed together used to
    peak at ~1.7 GB. At most two large pictures are decoded at once per process."""
    first = make_png(tmp_path / "big0.png", width=8192, height=8192)
    paths = [first] + [shutil.copy(first, tmp_path / f"big{i}.png") for i in range(1, 6)]
    done = subprocess.run(
        [sys.executable, "-c", SIX_AT_ONCE, *map(str, paths)],
        capture_output=True, text=True, check=True, timeout=600,
    )  # fmt: skip
    sizes, peak_mb = done.stdout.rsplit(" ", 1)
    assert sizes.strip() == "{(8192, 8192, 0, True)}"
    one_decode_mb = 8192 * 8192 * 4 // 2**20  # 256
    assert int(peak_mb) < 3 * one_decode_mb, done.stdout
