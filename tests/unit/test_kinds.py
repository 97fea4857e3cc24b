"""Every subtask kind has every part, and each is what Tencent (the official SDK) names.

The descriptors in core/kinds/ are the one home of each kind; these tests hold
them against the wire models they name, against the SDK, and against the tables
that used to be written out by hand, so a kind cannot be half added.
"""

from __future__ import annotations

import inspect
import typing
from typing import Any

import pytest
from tencentcloud.vod.v20180717 import models as sdk
from tencentcloud.vod.v20180717.vod_client import VodClient

from vodflow.core import kinds, presets
from vodflow.core.flows import expand
from vodflow.core.kinds.base import Kind, TemplateFamily
from vodflow.errors import VodError
from vodflow.wire.common import WireModel
from vodflow.wire.media import MediaDeleteItem
from vodflow.wire.tasks import RESULT_FIELDS, MediaProcessTaskInput, MediaProcessTaskResult


def _sdk_fields(cls: type) -> list[str]:
    """The SDK model's fields, in its order (its instances hold `_Field` slots)."""
    return [name[1:] for name in vars(cls())]


def _item_model(annotation: Any) -> type[WireModel] | None:
    """The WireModel a `TaskSet[X] | None` annotation holds."""
    for arg in typing.get_args(annotation):
        if inspect.isclass(arg) and issubclass(arg, WireModel):
            return arg
        found = _item_model(arg) if typing.get_args(arg) else None
        if found is not None:
            return found
    return None


@pytest.mark.parametrize("k", kinds.KINDS, ids=lambda k: k.name)
def test_every_kind_has_every_part(k: Kind) -> None:
    assert k.name and k.task_set and k.result_field
    assert issubclass(k.input_model, WireModel)
    assert k.family in kinds.FAMILIES
    assert inspect.iscoroutinefunction(k.run)
    assert kinds.kind(k.name) is k
    # The names are Tencent's: the SDK's MediaProcessTaskInput / Result fields and Types.
    assert k.task_set in _sdk_fields(sdk.MediaProcessTaskInput)
    assert k.result_field in _sdk_fields(sdk.MediaProcessTaskResult)
    assert f"<li>{k.name}：" in (sdk.MediaProcessTaskResult.Type.__doc__ or "")
    # ... and vodflow's wire models carry them with the descriptor's input model.
    field = MediaProcessTaskInput.model_fields[k.task_set]
    assert _item_model(field.annotation) is k.input_model
    assert k.result_field in MediaProcessTaskResult.model_fields


@pytest.mark.parametrize("f", kinds.FAMILIES, ids=lambda f: f.name)
def test_every_template_family_has_every_part(f: TemplateFamily) -> None:
    assert callable(f.rules)
    assert f.presets, "every family has at least one preset"
    for definition, item in f.presets.items():
        assert int(item["Definition"]) == definition
        assert isinstance(item["Definition"], str) is f.string_definition
        assert item["Type"] == "Preset"
    assert f.max_templates in (16, 100)
    assert issubclass(f.item_model, WireModel)
    assert kinds.family(f.name) is f
    # Tencent's names: the template actions, the MediaInfo section and its item list,
    # the output item structure and the DeleteMedia part.
    for verb in ("Create", "Modify", "Delete", "Describe"):
        suffix = "Templates" if verb == "Describe" else "Template"
        assert hasattr(VodClient, f"{verb}{f.name}{suffix}")
    assert f.section in _sdk_fields(sdk.MediaInfo)
    assert _sdk_fields(getattr(sdk, f"Media{f.section}")) == [f.item_set]
    sdk_item = _sdk_fields(getattr(sdk, f.item_model.__name__))
    assert set(f.item_model.model_fields) <= set(sdk_item)
    if f.delete_part is not None:
        assert kinds.family_of_part(f.delete_part) is f
        literal = typing.get_args(MediaDeleteItem.model_fields["Type"].annotation)
        assert f.delete_part in literal


def test_kinds_and_families_are_listed_once_in_tencents_orders() -> None:
    # Subtasks are created (and results shown) in MediaProcessTaskInput's order.
    assert [k.task_set for k in kinds.KINDS] == _sdk_fields(sdk.MediaProcessTaskInput)
    assert [k.task_set for k in kinds.KINDS] == list(MediaProcessTaskInput.model_fields)
    # MediaInfo sections in MediaInfo's order.
    sections = [f.section for f in kinds.FAMILIES]
    order = _sdk_fields(sdk.MediaInfo)
    assert sections == sorted(sections, key=order.index)
    assert len({k.name for k in kinds.KINDS}) == len(kinds.KINDS)
    assert len({f.name for f in kinds.FAMILIES}) == len(kinds.FAMILIES)
    # Every family is the template of some kind; CoverBySnapshot shares SnapshotByTimeOffset's.
    assert {k.family.name for k in kinds.KINDS} == {f.name for f in kinds.FAMILIES}
    assert kinds.kind("CoverBySnapshot").family is kinds.family("SnapshotByTimeOffset")
    # Only Transcode groups siblings into one run (one decode for all renditions).
    assert [k.name for k in kinds.KINDS if k.group_key is not None] == ["Transcode"]


def test_derived_tables_match_the_descriptors() -> None:
    # wire/ names the result field of every kind, and of nothing else.
    assert set(RESULT_FIELDS) == {k.name for k in kinds.KINDS}
    assert set(RESULT_FIELDS.values()) == set(MediaProcessTaskResult.model_fields) - {"Type"}
    assert tuple(f.name for f in kinds.FAMILIES) == presets.KINDS
    for f in kinds.FAMILIES:
        assert presets.PRESETS[f.name] is f.presets
        assert presets.presets(f.name) == f.preset_list()
        assert all(presets.is_preset(f.name, d) for d in f.presets)
    # The subtasks a MediaProcessTask expands to: one per item, kind by kind.
    mpt = {k.task_set: [{"Definition": 10}] for k in reversed(kinds.KINDS)}
    mpt["CoverBySnapshotTaskSet"] = [{"Definition": 10, "PositionType": "Time", "PositionValue": 0}]
    assert [name for name, _item in expand(mpt)] == [k.name for k in kinds.KINDS]
    with pytest.raises(ValueError):
        kinds.family("NoSuchFamily")
    # A template kind without outputs: found by name, with no MediaInfo section of its own.
    assert kinds.family("Watermark") in kinds.TEMPLATE_KINDS
    assert kinds.family("Watermark") not in kinds.FAMILIES
    assert kinds.family_of_part("OriginalFiles") is None


def test_one_limit_on_subtasks_for_flows_and_procedures() -> None:
    mpt = {"TranscodeTaskSet": [{"Definition": 10}] * 50, "ImageSpriteTaskSet": []}
    mpt["SampleSnapshotTaskSet"] = [{"Definition": 10}] * (kinds.MAX_SUBTASKS - 50)
    assert len(expand(mpt)) == kinds.MAX_SUBTASKS
    mpt["ImageSpriteTaskSet"] = [{"Definition": 10}]
    with pytest.raises(VodError) as info:
        expand(mpt)
    assert info.value.code == "InvalidParameterValue"
    assert f"asks for {kinds.MAX_SUBTASKS + 1} tasks" in info.value.message
