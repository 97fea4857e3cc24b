"""Transcoding: one decode, any number of renditions, every result measured.

:func:`transcode_many` builds a single ffmpeg run: the source video is
decoded once, ``split`` into one branch per rendition (scaled, padded,
re-timed per spec) and each branch feeds its own encoder and output file.
Encoding N renditions therefore costs N encodes but one decode, which is
what matters when a procedure asks for several definitions at once.
:func:`transcode` is the one-rendition case.

Outputs: ``<name>.<ext>`` for files; for HLS ``<name>.m3u8`` plus its
segments in ``<name>/``. Results report what was measured on those files.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from vodflow.media.errors import (
    INVALID_TIME_OFFSET,
    NO_VIDEO_MEDIA,
    SOURCE_FILE_ERROR,
    FFmpegError,
    MediaOpError,
)
from vodflow.media.ffmpeg import ProgressCallback, run_ffmpeg, timeout_for
from vodflow.media.ops._common import (
    Staging,
    check_name,
    choose_fill,
    fit_filter,
    measure,
    measure_playlist,
    op_error,
    output_threads,
    plan_size,
    read_source,
    source_arg,
    unsupported,
)
from vodflow.media.ops._muxing import container_options, muxer_flags
from vodflow.media.ops.cheap import shrink
from vodflow.media.ops.headtail import HeadTail, Joined, prepare
from vodflow.media.ops.watermark import Watermark, WatermarkInputs
from vodflow.media.probe import AudioStreamInfo, MediaProbe, VideoStreamInfo, playlist_uris


@dataclass(frozen=True, slots=True)
class _Container:
    ext: str
    muxer: str
    video_codecs: frozenset[str]
    audio_codecs: frozenset[str]


_AV = frozenset({"h264", "h265"})
_AA = frozenset({"aac", "mp3"})
_NONE: frozenset[str] = frozenset()
CONTAINERS: Final[dict[str, _Container]] = {
    "mp4": _Container("mp4", "mp4", _AV, _AA | {"mp2"}),
    "flv": _Container("flv", "flv", _AV, _AA),
    "hls": _Container("m3u8", "hls", _AV, _AA),
    "ts": _Container("ts", "mpegts", _AV, _AA),
    "mp3": _Container("mp3", "mp3", _NONE, frozenset({"mp3"})),
    "m4a": _Container("m4a", "ipod", _NONE, frozenset({"aac", "mp3", "ac3"})),
    "flac": _Container("flac", "flac", _NONE, frozenset({"flac"})),
    "ogg": _Container("ogg", "ogg", _NONE, frozenset({"flac"})),
    "wav": _Container("wav", "wav", _NONE, frozenset({"pcm16"})),
}
"""Output containers by the name specs use (Tencent's ``Container`` values)."""

_M4A_MP3: Final = _Container("m4a", "mp4", _NONE, frozenset({"mp3"}))
"""FFmpeg's ipod muxer refuses MP3; the mp4 muxer writes it into the same file type."""

_VIDEO_ENCODERS: Final = {"h264": "libx264", "h265": "libx265"}
_AUDIO_ENCODERS: Final = {
    "aac": "aac",
    "mp3": "libmp3lame",
    "mp2": "mp2",
    "ac3": "ac3",
    "flac": "flac",
    "pcm16": "pcm_s16le",
}
_PROFILES: Final = frozenset({"", "baseline", "main", "high"})
_LOSSLESS: Final = frozenset({"flac", "pcm16"})
"""Codecs whose bit rate follows from the sample rate and channels: no bitrate to set."""


@dataclass(frozen=True, slots=True)
class VideoSpec:
    """Video settings of a rendition. Sizes in pixels, bitrate in kbps; 0 = "from the source".

    ``gop`` is in frames (0 = encoder default). ``preset`` trades speed for
    size; the default favours throughput on shared machines.
    """

    codec: str = "h264"
    bitrate: int = 0
    width: int = 0
    height: int = 0
    fps: int = 0
    resolution_adaptive: bool = True
    fill_type: str = "black"
    gop: int = 0
    preset: str = "veryfast"
    crf: int = 0
    """Constant rate factor 1-51 (Tencent's ``Vcrf``); set, it replaces ``bitrate``."""
    gop_unit: str = "frame"
    """``gop`` counts frames, or seconds with ``second`` (Tencent's ``GopUnit``)."""
    bframes: int | None = None
    """B-frames between references, 0-16; None lets the encoder choose."""
    profile: str = ""
    """H.264 profile: baseline, main or high; "" (Tencent's ``default``) lets x264 choose."""


@dataclass(frozen=True, slots=True)
class AudioSpec:
    """Audio settings of a rendition. Bitrate in kbps; 0 = "encoder default / from the source"."""

    codec: str = "aac"
    bitrate: int = 0
    sample_rate: int = 0
    channels: int = 0


@dataclass(frozen=True, slots=True)
class TranscodeSpec:
    """One rendition. ``name`` is the base name of its output(s) in ``out_dir``.

    ``start_time``/``end_time`` clip the source (seconds). ``segment_duration``
    applies to HLS only.
    """

    container: str = "mp4"
    video: VideoSpec | None = field(default_factory=VideoSpec)
    audio: AudioSpec | None = field(default_factory=AudioSpec)
    remove_video: bool = False
    remove_audio: bool = False
    start_time: float | None = None
    end_time: float | None = None
    segment_duration: float = 10.0
    segment_type: str = "ts"
    """HLS segments: ``ts`` (MPEG-TS) or ``fmp4`` (fragmented MP4 with an init segment)."""
    name: str = "transcode"
    watermarks: tuple[Watermark, ...] = ()  # drawn on the scaled picture (media/ops/watermark.py)
    cheap: bool = False  # test only: shrunk last, tiny output (media/ops/cheap.py)


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


@dataclass(frozen=True, slots=True)
class _Plan:
    """A validated rendition, resolved against the source."""

    spec: TranscodeSpec
    container: _Container
    video: VideoSpec | None
    audio: AudioSpec | None
    size: tuple[int, int] | None
    source_fps: int = 0


async def transcode(
    input_path: str | os.PathLike[str],
    spec: TranscodeSpec,
    out_dir: str | os.PathLike[str],
    *,
    on_progress: ProgressCallback | None = None,
    threads: int | None = None,
    duration: float | None = None,
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
    source = await read_source(input_path)
    pieces = await prepare(head_tail, source, str(input_path)) if head_tail else None
    plans = [_plan(spec, source, pieces is not None and pieces.has_audio) for spec in specs]
    start, end = _clip(specs, source)
    if start is None:
        clip_duration = duration or source.duration
    else:
        clip_duration = (end if end is not None else source.duration) - start
    joined = None
    if pieces is not None:  # heads and tails join the clip (media.ops.headtail)
        wants = {"video": any(p.video for p in plans), "audio": any(p.audio for p in plans)}
        joined = pieces.join(clip_duration, **wants)
        clip_duration = joined.duration

    args = _ffmpeg_args(Path(input_path), plans, source, work_dir, threads, joined)
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


def _plan(spec: TranscodeSpec, source: MediaProbe, joined_audio: bool = False) -> _Plan:
    container = CONTAINERS.get(spec.container.lower())
    if container is None:
        raise unsupported(f"container {spec.container!r} is not supported")
    check_name(spec.name)
    if spec.segment_duration <= 0:
        raise unsupported("segment duration must be positive")
    if spec.segment_type not in ("ts", "fmp4"):
        raise unsupported(f"segment type {spec.segment_type!r} is not ts or fmp4")
    wants_video = spec.video is not None and not spec.remove_video and container.video_codecs
    wants_audio = spec.audio is not None and not spec.remove_audio
    video = spec.video if wants_video else None
    audio = spec.audio if wants_audio and (source.has_audio or joined_audio) else None

    size: tuple[int, int] | None = None
    if video is not None:
        if video.codec not in container.video_codecs:
            raise unsupported(f"video codec {video.codec!r} cannot go in {spec.container}")
        if min(video.bitrate, video.width, video.height, video.fps, video.gop) < 0:
            raise unsupported("video settings must not be negative")
        if not 0 <= video.crf <= 51:
            raise unsupported("crf must be 1-51 (0 for none)")
        if video.gop_unit not in ("frame", "second") or video.profile not in _PROFILES:
            raise unsupported("gop unit must be frame or second, profile baseline/main/high")
        if video.bframes is not None and not 0 <= video.bframes <= 16:
            raise unsupported("b-frames must be 0-16")
        choose_fill(video.width, video.height, video.fill_type)  # validates early
        if not source.has_video or source.is_image:
            raise MediaOpError(NO_VIDEO_MEDIA, "the source has no video stream")
        size = plan_size(
            source.display_size, video.width, video.height, adaptive=video.resolution_adaptive
        )
    if audio is not None:
        if audio.codec not in container.audio_codecs:
            raise unsupported(f"audio codec {audio.codec!r} cannot go in {spec.container}")
        if container.ext == "m4a" and audio.codec == "mp3":
            container = _M4A_MP3
        if min(audio.bitrate, audio.sample_rate, audio.channels) < 0:
            raise unsupported("audio settings must not be negative")
    if video is None and audio is None:
        if not container.video_codecs and not source.has_audio:
            # The template is fine; the source lacks what it needs (a still image,
            # a silent video): a source error, as NoVideoMedia is for video outputs.
            raise MediaOpError(
                SOURCE_FILE_ERROR, f"{spec.container} output needs audio and the source has none"
            )
        raise unsupported("the rendition would contain neither video nor audio")
    fps = source.video_streams[0].fps if source.video_streams else 0
    return _Plan(spec, container, video, audio, size, fps)


def _clip(specs: Sequence[TranscodeSpec], source: MediaProbe) -> tuple[float | None, float | None]:
    """The common clip window, validated. Renditions must agree on it.

    One window for all keeps the single decode simple (input seeking);
    Tencent attaches the window to the task, not the rendition, anyway.
    """
    windows = {(spec.start_time, spec.end_time) for spec in specs}
    if len(windows) != 1:
        raise unsupported("renditions of one run must share start and end times")
    start, end = windows.pop()
    if start is None and end is None:
        return None, None
    begin = start or 0.0
    if begin < 0 or begin >= source.duration:
        raise MediaOpError(INVALID_TIME_OFFSET, f"start time {begin:g}s is outside the media")
    if end is not None and end <= begin:
        raise MediaOpError(INVALID_TIME_OFFSET, "end time must be after start time")
    if end is not None:
        end = min(end, source.duration)
    return begin, end


def _ffmpeg_args(
    input_path: Path,
    plans: list[_Plan],
    source: MediaProbe,
    work_dir: Path,
    threads: int | None,
    joined: Joined | None = None,
) -> list[str]:
    start, end = _clip([plan.spec for plan in plans], source)
    args: list[str] = []
    if start is not None:
        args += ["-ss", f"{start:.3f}"]
        if end is not None:
            args += ["-t", f"{end - start:.3f}"]
    args += ["-i", source_arg(input_path), *(joined.inputs if joined else ())]

    outputs = _outputs(plans, work_dir)
    graph: list[str] = [joined.graph] if joined else []
    # Watermarks: inputs after the joined pieces, times of the whole output.
    marks = WatermarkInputs(1 + (joined.inputs.count("-i") if joined else 0))
    length = joined.duration if joined else (end or source.duration) - (start or 0.0)
    video_plans = [i for i, plan in enumerate(plans) if plan.video]
    if video_plans:
        src = joined.video if joined else f"0:{source.video_streams[0].index}"
        outs = "".join(f"[vs{i}]" for i in video_plans)
        graph.append(f"[{src}]split={len(video_plans)}{outs}")
        for i in video_plans:
            video = plans[i].video
            size = plans[i].size
            assert video is not None and size is not None
            chain = f"[vs{i}]fps={video.fps}[vf{i}];" if video.fps else f"[vs{i}]null[vf{i}];"
            fill = choose_fill(video.width, video.height, video.fill_type)
            chain += fit_filter(f"vf{i}", f"vz{i}", size[0], size[1], fill, tag=f"g{i}")
            chain += ";" + marks.chain(
                f"vz{i}", f"vm{i}", plans[i].spec.watermarks, size, length, tag=f"w{i}"
            )
            chain += f";[vm{i}]{shrink(size, plans[i].spec.cheap)}format=yuv420p[vo{i}]"
            graph.append(chain)
    audio_outputs = [n for n, group in enumerate(outputs) if plans[group[0]].audio]
    if audio_outputs:
        src = joined.audio if joined else f"0:{source.audio_streams[0].index}"
        outs = "".join(f"[ao{n}]" for n in audio_outputs)
        graph.append(f"[{src}]asplit={len(audio_outputs)}{outs}")
    if graph:
        args += [*marks.args, "-filter_complex", ";".join(graph)]

    for n, group in enumerate(outputs):
        tee = len(group) > 1
        for k, i in enumerate(group):
            if plans[i].video:
                args += ["-map", f"[vo{i}]", *_video_options(plans[i], threads, k if tee else None)]
        audio = plans[group[0]].audio
        if audio:
            args += ["-map", f"[ao{n}]", *_audio_options(audio)]
        args += output_threads(threads)
        if tee:
            args += _tee_options([plans[i] for i in group], work_dir)
        else:
            spec, box = plans[group[0]].spec, plans[group[0]].container
            args += container_options(
                spec.name,
                box.muxer,
                box.ext,
                work_dir,
                segment_duration=spec.segment_duration,
                segment_type=spec.segment_type,
            )
    return args


_TEE_MUXERS = frozenset({"mp4", "flv", "mpegts"})
_TEE_UNSAFE = frozenset("|[]:'\\,;=")


def _outputs(plans: list[_Plan], work_dir: Path) -> list[list[int]]:
    """Plans grouped by FFmpeg output: renditions whose audio is the same are encoded once.

    Such renditions (several definitions over one audio preset: 100010 and 100020
    both carry 64 kbps AAC) become one output of the ``tee`` muxer, which writes the
    one audio encode beside each rendition's video into each file. The rest, and
    any path the tee syntax could misread, get an output of their own.
    """
    groups: dict[tuple[object, ...], list[int]] = {}
    alone: list[list[int]] = []
    for i, plan in enumerate(plans):
        muxer = plan.container.muxer
        target = str(work_dir / f"{plan.spec.name}.{plan.container.ext}")
        if plan.video and plan.audio and muxer in _TEE_MUXERS and not _TEE_UNSAFE & set(target):
            groups.setdefault((muxer, plan.audio), []).append(i)
        else:
            alone.append([i])
    return sorted([*groups.values(), *alone])


def _video_options(plan: _Plan, threads: int | None, index: int | None = None) -> list[str]:
    """Encoder options of one video stream; `index` addresses the k-th of a tee output."""
    video = plan.video
    assert video is not None

    def opt(name: str, kind: str = ":v") -> str:
        return name if index is None else f"{name.removesuffix(':v')}{kind}:{index}"

    opts = [opt("-c:v"), _VIDEO_ENCODERS[video.codec], opt("-preset"), video.preset]
    if video.crf:
        # Tencent: with Vcrf the rate control is CRF and Bitrate no longer applies.
        opts += [opt("-crf"), str(video.crf)]
    elif video.bitrate:
        opts += [opt("-b:v"), f"{video.bitrate}k"]
    if video.gop:
        frames = video.gop
        if video.gop_unit == "second":
            frames = max(1, round(video.gop * (video.fps or plan.source_fps or 25)))
        # Gop is "the interval between I-frames": fixed, no extra scene-cut keyframes.
        opts += [opt("-g"), str(frames)]
        if video.codec == "h264":
            opts += [opt("-sc_threshold"), "0"]
    if video.bframes is not None:
        opts += [opt("-bf"), str(video.bframes)]
    if video.profile and video.codec == "h264":  # the SDK: only libx264 takes a profile
        opts += [opt("-profile:v"), video.profile]
    if plan.container.muxer == "hls":
        # Segments must start on a keyframe to be cut at the asked duration.
        seg = plan.spec.segment_duration
        opts += [opt("-force_key_frames"), f"expr:gte(t,n_forced*{seg:g})"]
    if video.codec == "h265":
        params = "log-level=error" + (f":pools={threads}" if threads else "")
        if video.gop:
            params += ":scenecut=0"
        if plan.container.muxer == "hls":
            # x265 defaults to open GOPs: a segment's leading pictures would then
            # reference the previous segment. Closed GOPs and IDR keyframes make
            # every segment decodable alone, cut where the H.264 ones are.
            params += ":open-gop=0"
            opts += [opt("-forced-idr"), "1"]
        opts += [opt("-x265-params"), params]
        if plan.container.muxer in ("mp4", "ipod"):
            opts += [opt("-tag:v"), "hvc1"]  # what Apple players require for HEVC in MP4
    return opts


def _audio_options(audio: AudioSpec) -> list[str]:
    opts = ["-c:a", _AUDIO_ENCODERS[audio.codec]]
    if audio.bitrate and audio.codec not in _LOSSLESS:
        opts += ["-b:a", f"{audio.bitrate}k"]
    if audio.sample_rate:
        opts += ["-ar", str(audio.sample_rate)]
    if audio.channels:
        opts += ["-ac", str(audio.channels)]
    return opts


def _tee_options(plans: list[_Plan], work_dir: Path) -> list[str]:
    """One tee output writing the k-th video and the shared audio into each plan's file."""
    slaves = []
    for k, plan in enumerate(plans):
        flags = "".join(
            f":{name}={value}"
            for name, value in muxer_flags(plan.container.muxer, plan.container.ext)
        )
        target = work_dir / f"{plan.spec.name}.{plan.container.ext}"
        slaves.append(f"[f={plan.container.muxer}{flags}:select=\\'v:{k},a\\']{target}")
    return ["-f", "tee", "|".join(slaves)]


async def _measure(plan: _Plan, work_dir: Path, final_dir: Path) -> TranscodeResult:
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
