"""Transcode: one rendition per template, every rendition of a clip window from one decode."""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import logging
from collections.abc import Mapping
from typing import Any

from vodflow.core import cheap_media, template_rules, watermarks
from vodflow.core import subtask_specs as specs
from vodflow.core.kinds import head_tail
from vodflow.core.kinds.base import (
    PRESET_TIME,
    Kind,
    Outcome,
    RunContext,
    TemplateFamily,
    preset_audio,
    preset_video,
    watermarks_of,
)
from vodflow.errors import VodError
from vodflow.media import ops
from vodflow.media.errors import CONFIGURATION_UNSUPPORTED, MediaError
from vodflow.wire.tasks import MediaTranscodeItem, TranscodeTaskInput

log = logging.getLogger("vodflow.subtasks")

# (MP4 id, HLS id, label, short side, video kbps, audio kbps): Tencent's current
# H.264 presets, 25 fps, AAC stereo 44.1 kHz.
CURRENT = [
    (100010, 100210, "FLU", 360, 400, 64),
    (100020, 100220, "SD", 540, 1000, 64),
    (100030, 100230, "HD", 720, 1800, 128),
    (100040, 100240, "FHD", 1080, 2500, 128),
    (100070, 100270, "2K", 1440, 3000, 160),
    (100080, 100280, "4K", 2160, 6000, 160),
]

# (MP4 id, HLS id, label, short side, video kbps, audio kbps): the H.265 presets
# (libx265, hvc1 in MP4), 25 fps. Tencent lists these ids next to the H.264 ones;
# heights follow the H.264 table, bitrates are chosen (docs/templates.md).
_HEVC = [
    (101010, 101210, "FLU", 360, 300, 64),
    (101020, 101220, "SD", 540, 800, 64),
    (101030, 101230, "HD", 720, 1300, 128),
    (101040, 101240, "FHD", 1080, 1800, 128),
    (101070, 101270, "2K", 1440, 2200, 160),
    (101080, 101280, "4K", 2160, 4500, 160),
]

# The older ids (10/20/30/40 MP4, 210/220/230/240 HLS): 24 fps, 48 kbps-class
# audio. Definition 20 reproduces what the seed recorded: a 640x480 source came
# out 640x480, ~500 kbps video, 48 kbps AAC 44.1 kHz, 24 fps.
_LEGACY = [
    (10, 210, "FLU", 360, 256, 48),
    (20, 220, "SD", 480, 500, 48),
    (30, 230, "HD", 720, 1024, 64),
    (40, 240, "FHD", 1080, 2500, 128),
]

# Audio-only presets: M4A (AAC) and MP3, stereo 44.1 kHz.
_AUDIO = [
    (1100, "m4a", "libfdk_aac", 24),
    (1110, "m4a", "libfdk_aac", 48),
    (1120, "m4a", "libfdk_aac", 96),
    (1130, "m4a", "libfdk_aac", 192),
    (1140, "m4a", "libfdk_aac", 256),
    (1010, "mp3", "libmp3lame", 128),
    (1020, "mp3", "libmp3lame", 320),
]


def _transcode(
    definition: int, name: str, container: str, video: dict[str, Any], audio: dict[str, Any]
) -> dict[str, Any]:
    return {
        "Definition": str(definition),
        "Container": container,
        "Name": name,
        "Comment": "",
        "Type": "Preset",
        "RemoveVideo": 0,
        "RemoveAudio": 0,
        "VideoTemplate": video,
        "AudioTemplate": audio,
        "TEHDConfig": {"Type": "", "MaxVideoBitrate": 0},
        "ContainerType": "Video",
        "SegmentType": "ts" if container == "hls" else "",
        "CreateTime": PRESET_TIME,
        "UpdateTime": PRESET_TIME,
    }


def _presets() -> dict[int, dict[str, Any]]:
    out: dict[int, dict[str, Any]] = {}
    for mp4, hls, label, height, vkbps, akbps in CURRENT:
        for definition, container in ((mp4, "mp4"), (hls, "hls")):
            out[definition] = _transcode(
                definition,
                f"{label}-{container.upper()}",
                container,
                preset_video(height, vkbps, 25),
                preset_audio(akbps),
            )
    for mp4, hls, label, height, vkbps, akbps in _HEVC:
        for definition, container in ((mp4, "mp4"), (hls, "hls")):
            out[definition] = _transcode(
                definition,
                f"{label}-H265-{container.upper()}",
                container,
                preset_video(height, vkbps, 25, codec="libx265"),
                preset_audio(akbps),
            )
    for mp4, hls, label, height, vkbps, akbps in _LEGACY:
        for definition, container in ((mp4, "mp4"), (hls, "hls")):
            out[definition] = _transcode(
                definition,
                f"{label}-{container.upper()}-legacy",
                container,
                preset_video(height, vkbps, 24),
                preset_audio(akbps),
            )
    for definition, container, codec, kbps in _AUDIO:
        item = _transcode(
            definition, f"{container.upper()}-{kbps}k", container, {}, preset_audio(kbps, codec)
        )
        item.pop("VideoTemplate")
        item.update(RemoveVideo=1, ContainerType="PureAudio")
        out[definition] = item
    return out


FAMILY = TemplateFamily(
    name="Transcode",
    rules=template_rules.transcode,
    presets=_presets(),
    max_templates=100,
    section="TranscodeInfo",
    item_set="TranscodeSet",
    item_model=MediaTranscodeItem,
    string_definition=True,
    delete_part="TranscodeFiles",
)


_META = ("Definition", "Type", "Name", "Comment", "CreateTime", "UpdateTime")


def _merge(old: dict[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(old)
    for key, value in new.items():
        if value is None:
            continue
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def with_override(tpl: dict[str, Any], override: Mapping[str, Any] | None) -> dict[str, Any]:
    """A template with a task's OverrideParameter merged in (ModifyTranscodeTemplate's
    semantics) and checked by the family's rules: it changes the template for that one
    task only. A value the rules refuse raises the field's VodError."""
    if not override:
        return tpl
    params = {k: v for k, v in tpl.items() if k not in _META and v is not None}
    checked = FAMILY.rules(_merge(params, override))
    return {**{k: v for k, v in tpl.items() if k in _META}, **checked}


def _override_key(item: Mapping[str, Any]) -> str:
    """What makes a task's rendition its own: OverrideParameter and WatermarkSet."""
    override = item.get("OverrideParameter")
    key = json.dumps(override, sort_keys=True) if override else ""
    marks = watermarks.set_key(item)
    return f"{key}|{marks}" if marks else key


def _clip_key(item: Mapping[str, Any]) -> tuple[float, float, str]:
    """Renditions of one decode share the clip window and the heads/tails joined to it."""
    heads_tails = json.dumps([ht.get("Definition") for ht in item.get("HeadTailSet") or []])
    start, end = item.get("StartTimeOffset") or 0.0, item.get("EndTimeOffset") or 0.0
    return float(start), float(end), heads_tails


async def _head_tail(
    ctx: RunContext, item: Mapping[str, Any], outcomes: list[Outcome]
) -> tuple[bool, ops.HeadTail | None]:
    """(False, None) having failed the outcomes when a template or its media is gone;
    else (True, the heads and tails of the group's HeadTailSet, None if it has none)."""
    found = []
    for ht in item.get("HeadTailSet") or []:
        tpl = await ctx.template(head_tail.TEMPLATES.name, int(ht["Definition"]))
        if tpl is None:
            for o in outcomes:
                ctx.missing(o, head_tail.TEMPLATES.name, int(ht["Definition"]))
            return False, None
        found.append(tpl)
    if not found:
        return True, None
    try:
        return True, await head_tail.resolve(found, ctx.meta, ctx.other_media)
    except VodError as exc:
        for o in outcomes:
            o.fail(exc.code, exc.message)
        return False, None


async def _run(ctx: RunContext, outcomes: list[Outcome]) -> None:
    """Every rendition of the group from one decode (FFmpeg `split`)."""
    rows = {r["id"]: r for r in ctx.rows}
    item = ctx.rows[0]["input"]
    whole = float(ctx.meta.get("Duration") or ctx.duration)  # windows: of the whole media
    clip = specs.window(item.get("StartTimeOffset"), item.get("EndTimeOffset"), whole)
    ready, joined = await _head_tail(ctx, item, outcomes)
    if not ready:
        return
    # One rendition per Definition and OverrideParameter (which changes it for one task).
    wanted: dict[tuple[int, str], list[Outcome]] = {}
    overrides: dict[tuple[int, str], Any] = {}
    for o in outcomes:
        inp = rows[o.subtask_id]["input"]
        key = (int(inp["Definition"]), _override_key(inp))
        wanted.setdefault(key, []).append(o)
        overrides[key] = inp
    plans: dict[tuple[int, str], ops.TranscodeSpec] = {}
    for key, group in wanted.items():
        definition = key[0]
        tpl = await ctx.template(FAMILY.name, definition)
        if tpl is None:
            for o in group:
                ctx.missing(o, FAMILY.name, definition)
            continue
        try:
            tpl = with_override(tpl, overrides[key].get("OverrideParameter"))
        except VodError as exc:  # the template changed since the flow was checked
            for o in group:
                o.fail(CONFIGURATION_UNSUPPORTED, f"OverrideParameter: {exc.message}")
            continue
        name = f"v.f{definition}"
        if key[1]:
            name += "-o" + hashlib.sha256(key[1].encode()).hexdigest()[:8]
        try:
            marks = await watermarks_of(ctx, overrides[key], f"{name}.watermarks")
        except MediaError as exc:
            for o in group:
                o.fail(exc.code, exc.message)
            continue
        spec = specs.transcode_spec(tpl, name, clip)
        plans[key] = dataclasses.replace(spec, watermarks=marks, cheap=ctx.cheap_media)
    if not plans:
        return
    keys = list(plans)
    try:
        results = await ops.transcode_many(
            ctx.src, [plans[k] for k in keys], ctx.work, head_tail=joined, **ctx.opts()
        )
        done = dict(zip(keys, results, strict=True))
    except MediaError as exc:
        if len(keys) == 1:
            raise
        # One bad rendition must not fail the others: run each alone to attribute errors.
        log.info("grouped transcode failed (%s); running renditions one by one", exc.code)
        done = {}
        for k in keys:
            try:
                done[k] = await ops.transcode(
                    ctx.src, plans[k], ctx.work, head_tail=joined, **ctx.opts()
                )
            except MediaError as one:
                for o in wanted[k]:
                    o.fail(one.code, one.message)
    for key, result in done.items():
        definition = key[0]
        name = result.path.name
        moves = []
        if plans[key].container.lower() == "hls":
            moves.append(ctx.entry(name.rsplit(".", 1)[0]))  # the segment directory
        moves.append(ctx.entry(name))
        info = specs.transcode_item(result, definition, ctx.url(result.path))
        if ctx.cheap_media:  # test only: the file is tiny, the answer has the template's shape
            info = cheap_media.declared(info, plans[key], ctx.meta)
        files = [ctx.key(f) for f in result.files]
        # Several subtasks asking the same rendition share one output (moved once).
        for o in wanted[key]:
            o.ok, o.output, o.moves = True, info, moves
            o.register = (FAMILY.name, definition, info, files)


KIND = Kind(
    name="Transcode",
    task_set="TranscodeTaskSet",
    input_model=TranscodeTaskInput,
    family=FAMILY,
    run=_run,
    group_key=_clip_key,
)
