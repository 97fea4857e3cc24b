"""Transcoding: one decode, any number of renditions, every result measured.

:func:`transcode_many` builds a single ffmpeg run: the source video is
decoded once, ``split`` into one branch per rendition (scaled, padded,
re-timed per spec) and each branch feeds its own encoder and output file.
Encoding N renditions therefore costs N encodes but one decode, which is
what matters when a procedure asks for several definitions at once.
:func:`transcode` is the one-rendition case.

Outputs: ``<name>.<ext>`` for files; for HLS ``<name>.m3u8`` plus its
segments in ``<name>/``. Results report what was measured on those files.

This module runs and measures; the specs and their validation are in
``media.ops.transcode_plan``, the ffmpeg command line in ``media.ops.transcode_command``.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from vodflow.media.errors import FFmpegError
from vodflow.media.ffmpeg import ProgressCallback, run_ffmpeg, timeout_for
from vodflow.media.ops._common import (
    Staging,
    measure,
    measure_playlist,
    op_error,
    read_source,
    unsupported,
)
from vodflow.media.ops.headtail import HeadTail, prepare
from vodflow.media.ops.transcode_command import ffmpeg_args
from vodflow.media.ops.transcode_plan import Plan, TranscodeSpec, clip_window, plan_rendition
from vodflow.media.probe import AudioStreamInfo, MediaProbe, VideoStreamInfo, playlist_uris


@dataclass(frozen=True, slots=True)
class TranscodeResult:
    """A measured rendition. ``path`` is the file, or the playlist for HLS.

    ``files`` lists everything written (playlist first, then segments) so a
    caller can upload it; ``size`` is their total.
    """

    path: Path
    files: tuple[Path, ...]
    container: str
    size: int
    md5: str
    bitrate: int
    width: int
    height: int
    duration: float
    video_streams: tuple[VideoStreamInfo, ...]
    audio_streams: tuple[AudioStreamInfo, ...]


async def transcode(
    input_path: str | os.PathLike[str],
    spec: TranscodeSpec,
    out_dir: str | os.PathLike[str],
    *,
    on_progress: ProgressCallback | None = None,
    threads: int | None = None,
    duration: float | None = None,
    source_probe: MediaProbe | None = None,
    timeout: float | None = None,
    head_tail: HeadTail | None = None,
) -> TranscodeResult:
    """Transcode ``input_path`` to one rendition (see :func:`transcode_many`)."""
    (result,) = await transcode_many(
        input_path,
        [spec],
        out_dir,
        on_progress=on_progress,
        threads=threads,
        duration=duration,
        timeout=timeout,
        head_tail=head_tail,
        source_probe=source_probe,
    )
    return result


async def transcode_many(
    input_path: str | os.PathLike[str],
    specs: Sequence[TranscodeSpec],
    out_dir: str | os.PathLike[str],
    *,
    on_progress: ProgressCallback | None = None,
    threads: int | None = None,
    duration: float | None = None,
    source_probe: MediaProbe | None = None,
    timeout: float | None = None,
    head_tail: HeadTail | None = None,
) -> list[TranscodeResult]:
    """Encode every spec from one decode of ``input_path``, in one ffmpeg run.

    Returns one measured result per spec, in order. Either all outputs
    appear in ``out_dir`` or none do. Raises :class:`MediaOpError`:
    ``InvalidInput.ConfigurationUnsupported`` (bad spec),
    ``InvalidInput.InvalidTimeOffset`` (clip outside the media),
    ``SourceFileError.NoVideoMedia`` (video asked of an audio-only source),
    ``SourceFileError.ContentMalformed``/``ContentUnsupported`` (bad source),
    ``InternalError``.
    """
    with Staging(out_dir) as staging:
        results, entries = await encode_renditions(
            input_path,
            specs,
            staging.dir,
            final_dir=staging.out_dir,
            on_progress=on_progress,
            threads=threads,
            duration=duration,
            timeout=timeout,
            head_tail=head_tail,
            source_probe=source_probe,
        )
        staging.commit(entries)
    return results


async def encode_renditions(
    input_path: str | os.PathLike[str],
    specs: Sequence[TranscodeSpec],
    work_dir: Path,
    *,
    final_dir: Path,
    on_progress: ProgressCallback | None = None,
    threads: int | None = None,
    duration: float | None = None,
    source_probe: MediaProbe | None = None,
    timeout: float | None = None,
    head_tail: HeadTail | None = None,
) -> tuple[list[TranscodeResult], list[str]]:
    """Encode into ``work_dir`` and measure; the caller commits.

    Returns the results (with paths as they will be under ``final_dir``)
    and the top-level entry names to commit, segment directories before
    playlists. Shared with adaptive streaming, which adds a master playlist
    before committing.
    """
    if not specs:
        raise unsupported("no rendition to produce")
    names = [spec.name for spec in specs]
    if len(set(names)) != len(names):
        raise unsupported("rendition names must be unique")
    source = await read_source(input_path, source_probe)
    pieces = await prepare(head_tail, source, str(input_path)) if head_tail else None
    plans = [
        plan_rendition(spec, source, pieces is not None and pieces.has_audio) for spec in specs
    ]
    start, end = clip_window(specs, source)
    if start is None:
        clip_duration = duration or source.duration
    else:
        clip_duration = (end if end is not None else source.duration) - start
    joined = None
    if pieces is not None:  # heads and tails join the clip (media.ops.headtail)
        wants = {"video": any(p.video for p in plans), "audio": any(p.audio for p in plans)}
        joined = pieces.join(clip_duration, **wants)
        clip_duration = joined.duration

    args = ffmpeg_args(Path(input_path), plans, source, work_dir, threads, joined)
    try:
        await run_ffmpeg(
            args,
            duration=clip_duration,
            on_progress=on_progress,
            timeout=timeout or timeout_for(clip_duration * len(plans)),
            threads=threads,
        )
    except FFmpegError as exc:
        raise op_error(exc) from exc

    results = await asyncio.gather(*(_measure(plan, work_dir, final_dir) for plan in plans))
    entries: list[str] = []
    for plan in plans:
        if plan.container.muxer == "hls":
            entries.append(plan.spec.name)
        entries.append(f"{plan.spec.name}.{plan.container.ext}")
    return list(results), entries


async def _measure(plan: Plan, work_dir: Path, final_dir: Path) -> TranscodeResult:
    staged = work_dir / f"{plan.spec.name}.{plan.container.ext}"
    files = [staged]
    if plan.container.muxer == "hls":
        media = await measure_playlist(staged)
        files += [staged.parent / uri for uri in playlist_uris(staged)]
    else:
        media = await measure(staged)
    return TranscodeResult(
        path=final_dir / staged.relative_to(work_dir),
        files=tuple(final_dir / f.relative_to(work_dir) for f in files),
        container=media.container,
        size=media.size,
        md5=media.md5,
        bitrate=media.bitrate,
        width=media.width,
        height=media.height,
        duration=media.duration,
        video_streams=media.video_streams,
        audio_streams=media.audio_streams,
    )
