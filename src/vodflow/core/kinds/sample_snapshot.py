"""SampleSnapshot: images every N percent or N seconds of the media."""

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
from vodflow.media.ops.watermark import window
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
    marks = await watermarks_of(ctx, item, f"{sub}.watermarks")
    spec = dataclasses.replace(specs.sample_spec(tpl), watermarks=marks)
    result = await ops.sample_snapshot(ctx.src, spec, ctx.work / sub, **ctx.opts())
    paths = [i.path for i in result.images]
    info = specs.sample_item(result, tpl, definition, [ctx.url(p) for p in paths])
    # One list for the whole set: the templates drawn on some of its images.
    info["WaterMarkDefinition"] = [
        m.definition for m in marks if window(m.start, m.end, ctx.duration) is not None
    ]
    registered(ctx, o, FAMILY, definition, info, sub, paths)


KIND = Kind(
    name="SampleSnapshot",
    task_set="SampleSnapshotTaskSet",
    input_model=SampleSnapshotTaskInput,
    family=FAMILY,
    run=one(FAMILY, _samples),
)
