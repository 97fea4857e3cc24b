"""ImageSprites: thumbnail sheets and the WebVTT that maps times to their tiles."""

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
from vodflow.wire.tasks import ImageSpriteTaskInput, MediaImageSpriteItem

FAMILY = TemplateFamily(
    name="ImageSprite",
    rules=template_rules.image_sprite,
    presets={
        10: {
            **preset_common(10, "Sprite-142x80-10x10"),
            "Width": 142,
            "Height": 80,
            "ResolutionAdaptive": "close",
            "SampleType": "Time",
            "SampleInterval": 10,
            "RowCount": 10,
            "ColumnCount": 10,
            "FillType": "stretch",
            "Format": "jpg",
        }
    },
    max_templates=16,
    section="ImageSpriteInfo",
    item_set="ImageSpriteSet",
    item_model=MediaImageSpriteItem,
)


async def _sprites(
    ctx: RunContext, tpl: Mapping[str, Any], item: Mapping[str, Any], definition: int, o: Outcome
) -> None:
    sub = f"sprite.f{definition}"
    prefix = ctx.url_of(sub) + "/"
    result = await ops.image_sprites(
        ctx.src, specs.sprite_spec(tpl, prefix), ctx.work / sub, **ctx.opts()
    )
    paths = [s.path for s in result.sheets]
    info = specs.sprite_item(
        result, definition, [ctx.url(p) for p in paths], ctx.url(result.vtt.path)
    )
    registered(ctx, o, FAMILY, definition, info, sub, [*paths, result.vtt.path])


KIND = Kind(
    name="ImageSprites",
    task_set="ImageSpriteTaskSet",
    input_model=ImageSpriteTaskInput,
    family=FAMILY,
    run=one(FAMILY, _sprites),
)
