"""AnimatedGraphics: a clip of the media as an animated GIF or WebP."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from vodflow.core import subtask_specs as specs
from vodflow.core import template_rules
from vodflow.core.kinds.base import Kind, Outcome, RunContext, TemplateFamily, one, preset_common
from vodflow.media import ops
from vodflow.wire.tasks import AnimatedGraphicTaskInput, MediaAnimatedGraphicsItem

FAMILY = TemplateFamily(
    name="AnimatedGraphics",
    rules=template_rules.animated_graphics,
    presets={
        20000: {
            **preset_common(20000, "GIF-short-side-360-10fps"),
            "Width": 0,
            "Height": 360,
            "ResolutionAdaptive": "open",
            "Format": "gif",
            "Fps": 10,
            "Quality": 75.0,
        },
        20010: {
            **preset_common(20010, "WEBP-short-side-360-10fps"),
            "Width": 0,
            "Height": 360,
            "ResolutionAdaptive": "open",
            "Format": "webp",
            "Fps": 10,
            "Quality": 75.0,
        },
    },
    max_templates=16,
    section="AnimatedGraphicsInfo",
    item_set="AnimatedGraphicsSet",
    item_model=MediaAnimatedGraphicsItem,
)


async def _animated(
    ctx: RunContext, tpl: Mapping[str, Any], item: Mapping[str, Any], definition: int, o: Outcome
) -> None:
    spec = specs.animated_spec(tpl, item, ctx.duration)
    spec = dataclasses.replace(spec, name=f"animated.f{definition}")
    result = await ops.animated_graphics(ctx.src, spec, ctx.work, **ctx.opts())
    info = specs.animated_item(result, spec, definition, ctx.url(result.path))
    o.ok, o.output, o.moves = True, info, [ctx.entry(result.path.name)]
    o.register = (FAMILY.name, definition, info, [ctx.key(result.path)])


KIND = Kind(
    name="AnimatedGraphics",
    task_set="AnimatedGraphicTaskSet",
    input_model=AnimatedGraphicTaskInput,
    family=FAMILY,
    run=one(FAMILY, _animated),
)
