"""Subtask kinds, each described once: the registry every kind table is derived from.

Design: one module per kind under `core/kinds/`, each holding one frozen `Kind`
(`base.py`): its Tencent names (task set, result type, input model), the
template family its items name (rules, presets, template limit, MediaInfo section,
output item model, DeleteMedia part), and `run`, which builds the media-op specs
from the template, calls the media op and says what came out. A kind that owns a
template family defines it beside itself (`FAMILY`); CoverBySnapshot reuses
SnapshotByTimeOffset's. This module only lists them, in the two orders Tencent
shows them, and derives the lookups the rest of vodflow reads.

Adding a kind: write `core/kinds/<kind>.py` (its descriptor, presets and run; its
own rules and spec builders may sit there too, the shared ones are in
`core/template_rules.py` and `core/subtask_specs.py`), its media op in
`media/ops/`, its request/result models in `wire/tasks.py`, and list it below.
`tests/unit/test_kinds.py` checks that every kind has every part.

The Tencent names in descriptors are plain strings (wire/ cannot import core);
the test holds them against the wire models' fields and the official SDK. The one
name wire/ itself needs, the MediaProcessTaskResult field of each result Type
(wire/task_views.py shapes the result), lives in `wire.tasks.RESULT_FIELDS` and
`Kind.result_field` reads it from there.
"""

from __future__ import annotations

from vodflow.core.kinds import (
    adaptive_dynamic_streaming,
    animated_graphics,
    cover_by_snapshot,
    head_tail,
    image_sprites,
    sample_snapshot,
    snapshot_by_time_offset,
    transcode,
    watermark,
)
from vodflow.core.kinds.base import Kind, Outcome, RunContext, TemplateFamily, TemplateKind
from vodflow.errors import VodError

__all__ = [
    "FAMILIES",
    "KINDS",
    "MAX_SUBTASKS",
    "SECTIONS",
    "TEMPLATE_KINDS",
    "Kind",
    "Outcome",
    "RunContext",
    "TemplateFamily",
    "TemplateKind",
    "check_task_count",
    "family",
    "family_of_part",
    "kind",
]

# In MediaProcessTaskInput's order: subtasks are created, and results shown, in it.
KINDS: tuple[Kind, ...] = (
    transcode.KIND,
    animated_graphics.KIND,
    snapshot_by_time_offset.KIND,
    sample_snapshot.KIND,
    image_sprites.KIND,
    cover_by_snapshot.KIND,
    adaptive_dynamic_streaming.KIND,
)
# In MediaInfo's order: its output sections are shown in it.
FAMILIES: tuple[TemplateFamily, ...] = (
    transcode.FAMILY,
    animated_graphics.FAMILY,
    sample_snapshot.FAMILY,
    image_sprites.FAMILY,
    snapshot_by_time_offset.FAMILY,
    adaptive_dynamic_streaming.FAMILY,
)
# MediaInfo's output sections, in its order: (output kind, section, its item list).
SECTIONS = tuple((fam.name, fam.section, fam.item_set) for fam in FAMILIES)

# Every kind of parameter template: the families, and those that make no output of
# their own (HeadTail templates are named by a TranscodeTaskInput's HeadTailSet,
# Watermark templates by the WatermarkSet of several task items).
TEMPLATE_KINDS: tuple[TemplateKind, ...] = (*FAMILIES, head_tail.TEMPLATES, watermark.TEMPLATES)

# The most subtasks one MediaProcessTask may ask for.
MAX_SUBTASKS = 100

_BY_NAME_KIND = {k.name: k for k in KINDS}
_BY_NAME_FAMILY = {f.name: f for f in TEMPLATE_KINDS}
_BY_PART = {f.delete_part: f for f in FAMILIES if f.delete_part}


def kind(name: str) -> Kind:
    """The kind of a subtask, by its MediaProcessTaskResult.Type (subtasks.type)."""
    return _BY_NAME_KIND[name]


def family(name: str) -> TemplateKind:
    """A kind of template by Tencent's name (Describe<name>Templates)."""
    found = _BY_NAME_FAMILY.get(name)
    if found is None:
        raise ValueError(f"unknown template kind {name!r}")
    return found


def family_of_part(part: str) -> TemplateFamily | None:
    """The family whose outputs a DeleteMedia DeleteParts.Type removes, if any."""
    return _BY_PART.get(part)


def check_task_count(total: int) -> None:
    """A MediaProcessTask asks for at least one and at most MAX_SUBTASKS tasks."""
    if total == 0:
        raise VodError("InvalidParameterValue", "MediaProcessTask must contain at least one task.")
    if total > MAX_SUBTASKS:
        raise VodError(
            "InvalidParameterValue",
            f"MediaProcessTask asks for {total} tasks; at most {MAX_SUBTASKS} are allowed.",
        )
