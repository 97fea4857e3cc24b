"""Adaptive streaming: several HLS renditions under one master playlist.

The renditions are encoded by :func:`transcode.encode_renditions`, i.e. from
one decode in one ffmpeg run. The master playlist is written here rather than
by ffmpeg's ``-master_pl_name`` so that its ``BANDWIDTH`` (the peak segment
bit rate) and ``AVERAGE-BANDWIDTH`` are measured on the segments actually
written, like every other number the media layer reports.

Layout in ``out_dir``::

    <name>.m3u8              master
    <name>/<rendition>.m3u8  variant playlists
    <name>/<rendition>/*.ts  their segments
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import av.error

from vodflow.media.ffmpeg import PROTOCOL_WHITELIST, ProgressCallback
from vodflow.media.ops._common import Staging, check_name, unsupported
from vodflow.media.ops.transcode import TranscodeResult, encode_renditions
from vodflow.media.ops.transcode_plan import TranscodeSpec
from vodflow.media.probe import MediaProbe, file_md5, playlist_uris

_H264_PROFILES = {"Baseline": 0x42, "Constrained Baseline": 0x42, "Main": 0x4D, "High": 0x64}
_AUDIO_CODECS = {"aac": "mp4a.40.2", "mp3": "mp4a.40.34"}


@dataclass(frozen=True, slots=True)
class AdaptiveStreamingSpec:
    """Renditions (their container is forced to HLS) and the shared segment duration."""

    renditions: Sequence[TranscodeSpec]
    segment_duration: float = 10.0
    name: str = "adaptive"


@dataclass(frozen=True, slots=True)
class AdaptiveStreamingResult:
    """``path`` is the master playlist; ``size`` counts every file written."""

    path: Path
    files: tuple[Path, ...]
    size: int
    md5: str
    renditions: tuple[TranscodeResult, ...]


async def adaptive_streaming(
    input_path: str | os.PathLike[str],
    spec: AdaptiveStreamingSpec,
    out_dir: str | os.PathLike[str],
    *,
    on_progress: ProgressCallback | None = None,
    threads: int | None = None,
    duration: float | None = None,
    source_probe: MediaProbe | None = None,
    timeout: float | None = None,
) -> AdaptiveStreamingResult:
    """Encode every rendition as HLS from one decode and write a master playlist over them.

    Raises what :func:`transcode_many` raises.
    """
    if not spec.renditions:
        raise unsupported("adaptive streaming needs at least one rendition")
    check_name(spec.name)
    names = [r.name for r in spec.renditions]
    if len(set(names)) != len(names):
        names = [f"v{i}" for i in range(len(spec.renditions))]
    renditions = [
        dataclasses.replace(r, container="hls", segment_duration=spec.segment_duration, name=n)
        for r, n in zip(spec.renditions, names, strict=True)
    ]
    master_name = f"{spec.name}.m3u8"
    with Staging(out_dir) as staging:
        work = staging.dir / spec.name
        work.mkdir()
        results, _ = await encode_renditions(
            input_path,
            renditions,
            work,
            final_dir=staging.out_dir / spec.name,
            on_progress=on_progress,
            threads=threads,
            duration=duration,
            timeout=timeout,
            source_probe=source_probe,
        )
        staged = [work / r.path.relative_to(staging.out_dir / spec.name) for r in results]
        text = await asyncio.to_thread(master_playlist, spec.name, staged, results)
        master = staging.dir / master_name
        master.write_text(text, encoding="utf-8")
        md5 = await asyncio.to_thread(file_md5, master)
        master_size = master.stat().st_size
        staging.commit([spec.name, master_name])
    final_master = staging.out_dir / master_name
    return AdaptiveStreamingResult(
        path=final_master,
        files=(final_master, *(f for r in results for f in r.files)),
        size=master_size + sum(r.size for r in results),
        md5=md5,
        renditions=tuple(results),
    )


def master_playlist(prefix: str, variants: list[Path], results: list[TranscodeResult]) -> str:
    """The master playlist text; variant URIs are relative to the master's directory."""
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for playlist, result in zip(variants, results, strict=True):
        # HLS bandwidths count every byte sent (container overhead too), unlike
        # Tencent's Bitrate, which is the sum of the streams' rates.
        average = int(result.size * 8 / result.duration) if result.duration > 0 else result.bitrate
        peak = max(segment_bitrates(playlist), default=average)
        attrs = [f"BANDWIDTH={max(peak, average)}", f"AVERAGE-BANDWIDTH={average}"]
        if result.width and result.height:
            attrs.append(f"RESOLUTION={result.width}x{result.height}")
        codecs = _codecs(playlist)
        if codecs:
            attrs.append(f'CODECS="{codecs}"')
        if result.video_streams and result.video_streams[0].fps:
            attrs.append(f"FRAME-RATE={result.video_streams[0].fps:.3f}")
        lines += ["#EXT-X-STREAM-INF:" + ",".join(attrs), f"{prefix}/{playlist.name}"]
    return "\n".join(lines) + "\n"


def segment_bitrates(playlist: Path) -> list[int]:
    """Bits per second of each segment: its size over its ``#EXTINF`` duration."""
    rates: list[int] = []
    seconds: float | None = None
    for line in playlist.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line.startswith("#EXTINF:"):
            seconds = float(line[len("#EXTINF:") :].split(",")[0])
        elif line and not line.startswith("#") and seconds:
            rates.append(int((playlist.parent / line).stat().st_size * 8 / seconds))
            seconds = None
    return rates


def _codecs(playlist: Path) -> str:
    """RFC 6381 codec strings from the first segment, or "" if one is not known.

    HLS clients may pick variants by codec; a wrong CODECS is worse than none,
    so anything not confidently identified drops the attribute.
    """
    uris = playlist_uris(playlist)
    if not uris:
        return ""
    # The first URI is the first segment, or an fMP4 playlist's init segment.
    options = {"protocol_whitelist": PROTOCOL_WHITELIST, "format_whitelist": "mpegts,mov"}
    container: Any
    try:
        with av.open(str(playlist.parent / uris[0]), options=options) as container:
            parts: list[str] = []
            for stream in container.streams.video:
                ctx = stream.codec_context
                profile = _H264_PROFILES.get(str(ctx.profile or ""))
                if ctx.name != "h264" or profile is None or not ctx.level or ctx.level < 0:
                    return ""
                constraints = 0xE0 if ctx.profile == "Constrained Baseline" else 0
                parts.append(f"avc1.{profile:02x}{constraints:02x}{ctx.level:02x}")
            for stream in container.streams.audio:
                name = stream.codec_context.codec.canonical_name
                if name not in _AUDIO_CODECS:
                    return ""
                parts.append(_AUDIO_CODECS[name])
            return ",".join(parts)
    except av.error.FFmpegError:
        return ""
