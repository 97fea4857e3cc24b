"""CoverBySnapshot: one image, taken with a SnapshotByTimeOffset template, becomes the cover."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from vodflow.core import subtask_specs as specs
from vodflow.core.kinds import snapshot_by_time_offset
from vodflow.core.kinds.base import Kind, Outcome, RunContext, one, watermarks_of
from vodflow.media import ops
from vodflow.wire.tasks import CoverBySnapshotTaskInput

# Covers are made with snapshot templates and are no media output of their own.
FAMILY = snapshot_by_time_offset.FAMILY


async def _cover(
    ctx: RunContext, tpl: Mapping[str, Any], item: Mapping[str, Any], definition: int, o: Outcome
) -> None:
    marks = await watermarks_of(ctx, item, f"cover.f{definition}.watermarks")
    spec = dataclasses.replace(
        specs.cover_spec(tpl, item, f"cover.f{definition}"), watermarks=marks
    )
    image = await ops.cover_by_snapshot(ctx.src, spec, ctx.work, **ctx.opts())
    o.ok, o.output = True, {"CoverUrl": ctx.url(image.path)}
    o.moves = [ctx.entry(image.path.name)]
    o.cover_key = ctx.key(image.path)


KIND = Kind(
    name="CoverBySnapshot",
    task_set="CoverBySnapshotTaskSet",
    input_model=CoverBySnapshotTaskInput,
    family=FAMILY,
    run=one(FAMILY, _cover),
)
