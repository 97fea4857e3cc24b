"""SnapshotByTimeOffset: still images at the given time offsets."""

from __future__ import annotations

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
)
from vodflow.media import ops
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
    result = await ops.snapshot_by_time_offsets(
        ctx.src, specs.snapshot_spec(tpl, offsets), ctx.work / sub, **ctx.opts()
    )
    info = specs.snapshot_item(result.images, definition, [ctx.url(i.path) for i in result.images])
    registered(ctx, o, FAMILY, definition, info, sub, [i.path for i in result.images])


KIND = Kind(
    name="SnapshotByTimeOffset",
    task_set="SnapshotByTimeOffsetTaskSet",
    input_model=SnapshotByTimeOffsetTaskInput,
    family=FAMILY,
    run=one(FAMILY, _snapshots),
)
