"""AdaptiveDynamicStreaming: an HLS master playlist over several renditions."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Mapping
from typing import Any

from vodflow.core import subtask_specs as specs
from vodflow.core import template_rules
from vodflow.core.kinds import transcode
from vodflow.core.kinds.base import (
    Kind,
    Outcome,
    RunContext,
    TemplateFamily,
    one,
    preset_audio,
    preset_common,
    preset_video,
    watermarks_of,
)
from vodflow.core.subtitle_files import name_tracks, write_tracks
from vodflow.media import ops
from vodflow.media.errors import INVALID_INPUT
from vodflow.wire.tasks import AdaptiveDynamicStreamingInfoItem, AdaptiveDynamicStreamingTaskInput


def _streams() -> list[dict[str, Any]]:
    """The renditions of adaptive preset 10: the FLU/SD/HD H.264 transcode presets."""
    return [
        {
            "Video": preset_video(height, vkbps, 25),
            "Audio": preset_audio(akbps),
            "RemoveAudio": 0,
            "RemoveVideo": 0,
        }
        for _mp4, _hls, _label, height, vkbps, akbps in transcode.CURRENT[:3]
    ]


FAMILY = TemplateFamily(
    name="AdaptiveDynamicStreaming",
    rules=template_rules.adaptive_dynamic_streaming,
    presets={
        10: {
            **preset_common(10, "HLS-FLU-SD-HD"),
            "Format": "HLS",
            "DrmType": "",
            "StreamInfos": _streams(),
            "DisableHigherVideoBitrate": 0,
            "DisableHigherVideoResolution": 0,
            "SegmentType": "ts",
        }
    },
    max_templates=100,
    section="AdaptiveDynamicStreamingInfo",
    item_set="AdaptiveDynamicStreamingSet",
    item_model=AdaptiveDynamicStreamingInfoItem,
    delete_part="AdaptiveDynamicStreamingFiles",
)


async def _adaptive(
    ctx: RunContext, tpl: Mapping[str, Any], item: Mapping[str, Any], definition: int, o: Outcome
) -> None:
    meta = ctx.meta
    name = f"adaptive.f{definition}"
    spec = specs.adaptive_spec(
        tpl,
        name,
        (int(meta.get("Width") or 0), int(meta.get("Height") or 0)),
        int(meta.get("Bitrate") or 0),
    )
    wanted = list(dict.fromkeys(item.get("SubtitleSet") or []))
    carried = await ctx.subtitles(wanted)
    missing = [i for i in wanted if i not in {c.id for c in carried}]
    if missing:
        o.fail(INVALID_INPUT, f"the media has no subtitle `{missing[0]}`")
        return
    marks = await watermarks_of(ctx, item, f"{name}.watermarks")
    if marks:  # every rendition carries them, each fitted to its own frame
        renditions = [dataclasses.replace(r, watermarks=marks) for r in spec.renditions]
        spec = dataclasses.replace(spec, renditions=renditions)
    result = await ops.adaptive_streaming(ctx.src, spec, ctx.work, **ctx.opts())
    info = specs.adaptive_item(result, definition, ctx.url(result.path))
    files = list(result.files)
    if carried:
        # WebVTT renditions beside the video ones, named in the master playlist.
        written = await asyncio.to_thread(write_tracks, result.path, carried)
        await asyncio.to_thread(name_tracks, result.path, carried, None)
        files += written
        info["Size"] += sum(f.stat().st_size for f in written)
        info["SubtitleSet"] = [ctx.subtitle_item(c.row) for c in carried]
    o.ok, o.output = True, info
    o.moves = [ctx.entry(name), ctx.entry(result.path.name)]
    o.register = (FAMILY.name, definition, info, [ctx.key(f) for f in files])


KIND = Kind(
    name="AdaptiveDynamicStreaming",
    task_set="AdaptiveDynamicStreamingTaskSet",
    input_model=AdaptiveDynamicStreamingTaskInput,
    family=FAMILY,
    run=one(FAMILY, _adaptive),
)
