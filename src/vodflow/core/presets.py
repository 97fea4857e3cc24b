"""System presets: the ids Tencent users already put in their requests.

Each preset is stored exactly as Tencent's Describe<Kind>Templates shows it, so
the API and the task flows read the same dict. Parameter-template presets are
part of their kind's descriptor (`core/kinds/<kind>.py`); this module looks them
up and holds the preset task flows. Sources and the values that had to be chosen
are listed in docs/templates.md. Presets live in code, never in the database:
they cannot be modified or deleted, and every application sees them.
"""

from __future__ import annotations

import copy
from typing import Any

from vodflow.core.kinds import FAMILIES, family
from vodflow.core.kinds.base import PRESET_TIME

__all__ = [
    "KINDS",
    "PRESETS",
    "PRESET_PROCEDURES",
    "PRESET_TIME",
    "is_preset",
    "preset",
    "preset_procedure",
    "presets",
]

# Derived from the kind descriptors (core/kinds/), where each family's presets live.
KINDS = tuple(f.name for f in FAMILIES)
PRESETS = {f.name: f.presets for f in FAMILIES}

# Preset task flows (procedure templates). `QCVB_SimpleProcessFile` is the name
# older integrations pass to ApplyUpload/ProcessMediaByProcedure.
PRESET_PROCEDURES: dict[str, dict[str, Any]] = {
    "QCVB_SimpleProcessFile": {
        "Comment": "Transcode to MP4 FLU/SD/HD and take the cover at 0 s.",
        "MediaProcessTask": {
            "TranscodeTaskSet": [{"Definition": 10}, {"Definition": 20}, {"Definition": 30}],
            "CoverBySnapshotTaskSet": [
                {"Definition": 10, "PositionType": "Time", "PositionValue": 0}
            ],
        },
    },
    # Tencent: "Adaptive-HLS(10) + SpriteScreenshot(10) + TimepointScreenshot(10)";
    # the time point is not given, vodflow takes it at 0 s.
    "LongVideoPreset": {
        "Comment": "Adaptive-HLS(10) + SpriteScreenshot(10) + TimepointScreenshot(10)",
        "MediaProcessTask": {
            "AdaptiveDynamicStreamingTaskSet": [{"Definition": 10}],
            "ImageSpriteTaskSet": [{"Definition": 10}],
            "SnapshotByTimeOffsetTaskSet": [{"Definition": 10, "TimeOffsetSet": [0]}],
        },
    },
}


def preset(kind: str, definition: int) -> dict[str, Any] | None:
    """A copy of the preset (callers may change what they get)."""
    return family(kind).preset(definition)


def is_preset(kind: str, definition: int) -> bool:
    return definition in family(kind).presets


def presets(kind: str) -> list[dict[str, Any]]:
    return family(kind).preset_list()


def preset_procedure(name: str) -> dict[str, Any] | None:
    item = PRESET_PROCEDURES.get(name)
    return copy.deepcopy(item) if item is not None else None
