"""SnapshotByTimeOffset: still images at the given time offsets."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from vodflow.core import subtask_specs as specs
from vodflow.core import template_rules
from vodflow.core.kinds.base import (
    Kind,
    Outcome,
    RunContext,
    TemplateFamily,
    one,
    preset_common,
    registered,
    watermarks_of,
)
from vodflow.media import ops
from vodflow.media.ops.watermark import shown_at
from vodflow.wire.tasks import MediaSnapshotByTimeOffsetItem, SnapshotByTimeOffsetTaskInput

FAMILY = TemplateFamily(
    name="SnapshotByTimeOffset",
    rules=template_rules.snapshot_by_time_offset,
    presets={
        10: {
            **preset_common(10, "JPG-source-size"),
            "Width": 0,
            "Height": 0,
            "ResolutionAdaptive": "open",
            "Format": "jpg",
            "FillType": "stretch",
        }
    },
    max_templates=16,
    section="SnapshotByTimeOffsetInfo",
    item_set="SnapshotByTimeOffsetSet",
    item_model=MediaSnapshotByTimeOffsetItem,
)


async def _snapshots(
    ctx: RunContext, tpl: Mapping[str, Any], item: Mapping[str, Any], definition: int, o: Outcome
) -> None:
    offsets = specs.snapshot_offsets(item, ctx.duration)
    sub = f"snapshot.f{definition}"
    marks = await watermarks_of(ctx, item, f"{sub}.watermarks")
    spec = dataclasses.replace(specs.snapshot_spec(tpl, offsets), watermarks=marks)
    result = await ops.snapshot_by_time_offsets(ctx.src, spec, ctx.work / sub, **ctx.opts())
    info = specs.snapshot_item(result.images, definition, [ctx.url(i.path) for i in result.images])
    for pic, image in zip(info["PicInfoSet"], result.images, strict=True):
        pic["WaterMarkDefinition"] = [
            m.definition for m in marks if shown_at(m, image.time_offset, ctx.duration)
        ]
    registered(ctx, o, FAMILY, definition, info, sub, [i.path for i in result.images])


KIND = Kind(
    name="SnapshotByTimeOffset",
    task_set="SnapshotByTimeOffsetTaskSet",
    input_model=SnapshotByTimeOffsetTaskInput,
    family=FAMILY,
    run=one(FAMILY, _snapshots),
)
