"""SampleSnapshot: images every N percent or N seconds of the media."""

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
from vodflow.wire.tasks import MediaSampleSnapshotItem, SampleSnapshotTaskInput

FAMILY = TemplateFamily(
    name="SampleSnapshot",
    rules=template_rules.sample_snapshot,
    presets={
        10: {
            **preset_common(10, "JPG-every-10-percent"),
            "Width": 0,
            "Height": 0,
            "ResolutionAdaptive": "open",
            "Format": "jpg",
            "SampleType": "Percent",
            "SampleInterval": 10,
            "FillType": "stretch",
        }
    },
    max_templates=16,
    section="SampleSnapshotInfo",
    item_set="SampleSnapshotSet",
    item_model=MediaSampleSnapshotItem,
)


async def _samples(
    ctx: RunContext, tpl: Mapping[str, Any], item: Mapping[str, Any], definition: int, o: Outcome
) -> None:
    sub = f"sample.f{definition}"
    result = await ops.sample_snapshot(
        ctx.src, specs.sample_spec(tpl), ctx.work / sub, **ctx.opts()
    )
    paths = [i.path for i in result.images]
    info = specs.sample_item(result, tpl, definition, [ctx.url(p) for p in paths])
    registered(ctx, o, FAMILY, definition, info, sub, paths)


KIND = Kind(
    name="SampleSnapshot",
    task_set="SampleSnapshotTaskSet",
    input_model=SampleSnapshotTaskInput,
    family=FAMILY,
    run=one(FAMILY, _samples),
)
