"""The FFmpeg command line of one transcode run: filter graph, encoders and outputs.

:func:`ffmpeg_args` turns the planned renditions into one ffmpeg invocation: the
source is decoded once and ``split`` into one branch per rendition (re-timed,
scaled, padded, watermarked), each branch feeds its own video encoder, and
renditions sharing an audio encode are written through one ``tee`` output. The
container (muxer) options come from ``media.ops._muxing``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from vodflow.media.ops._common import choose_fill, fit_filter, output_threads, source_arg
from vodflow.media.ops._muxing import container_options, muxer_flags
from vodflow.media.ops.cheap import shrink
from vodflow.media.ops.headtail import Joined
from vodflow.media.ops.transcode_plan import AudioSpec, Plan, clip_window
from vodflow.media.ops.watermark import WatermarkInputs
from vodflow.media.probe import MediaProbe

_VIDEO_ENCODERS: Final = {"h264": "libx264", "h265": "libx265"}
_AUDIO_ENCODERS: Final = {
    "aac": "aac",
    "mp3": "libmp3lame",
    "mp2": "mp2",
    "ac3": "ac3",
    "flac": "flac",
    "pcm16": "pcm_s16le",
}
_LOSSLESS: Final = frozenset({"flac", "pcm16"})
"""Codecs whose bit rate follows from the sample rate and channels: no bitrate to set."""


def ffmpeg_args(
    input_path: Path,
    plans: list[Plan],
    source: MediaProbe,
    work_dir: Path,
    threads: int | None,
    joined: Joined | None = None,
) -> list[str]:
    start, end = clip_window([plan.spec for plan in plans], source)
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


def _outputs(plans: list[Plan], work_dir: Path) -> list[list[int]]:
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


def _video_options(plan: Plan, threads: int | None, index: int | None = None) -> list[str]:
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


def _tee_options(plans: list[Plan], work_dir: Path) -> list[str]:
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
