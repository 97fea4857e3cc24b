"""Output (muxer) options of a transcode rendition: a file, or an HLS playlist and segments.

Split out of ``media.ops.transcode_command`` (which builds the graph and the encoders); these
only turn a container choice into FFmpeg's output arguments.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

SEGMENT_EXT: Final = {"ts": "ts", "fmp4": "m4s"}


def muxer_flags(muxer: str, ext: str) -> list[tuple[str, str]]:
    if muxer in ("mp4", "ipod"):
        return [("movflags", "+faststart")] + ([("brand", "M4A ")] if ext == "m4a" else [])
    return []


def container_options(
    name: str,
    muxer: str,
    ext: str,
    work_dir: Path,
    *,
    segment_duration: float,
    segment_type: str,
) -> list[str]:
    """Write ``<name>.<ext>`` in ``work_dir``; for HLS, segments in ``<name>/``."""
    target = work_dir / f"{name}.{ext}"
    if muxer == "hls":
        segments = work_dir / name
        segments.mkdir(parents=True, exist_ok=True)
        return [
            "-f",
            "hls",
            "-hls_time",
            f"{segment_duration:g}",
            "-hls_playlist_type",
            "vod",
            "-hls_list_size",
            "0",
            *_segment_options(segment_type, name),
            "-hls_base_url",
            f"{name}/",
            "-hls_segment_filename",
            str(segments / f"{name}_%05d.{SEGMENT_EXT[segment_type]}"),
            str(target),
        ]
    opts = ["-f", muxer]
    for flag, value in muxer_flags(muxer, ext):
        opts += [f"-{flag}", value]
    return [*opts, str(target)]


def _segment_options(segment_type: str, name: str) -> list[str]:
    """MPEG-TS segments, or fMP4 ones after an init segment (``#EXT-X-MAP``, version 7)."""
    if segment_type == "fmp4":
        # Named relative to the playlist: the init segment sits beside the segments.
        return ["-hls_segment_type", "fmp4", "-hls_fmp4_init_filename", f"{name}/{name}_init.mp4"]
    return ["-hls_segment_type", "mpegts"]
