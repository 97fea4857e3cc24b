"""Head/tail templates: their rules, the candidate Tencent's rule picks, the join's graph."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import pytest
from tencentcloud.vod.v20180717 import models as sdk
from tencentcloud.vod.v20180717.vod_client import VodClient

from vodflow.core import kinds
from vodflow.core.kinds import head_tail
from vodflow.errors import VodError
from vodflow.media.ops.headtail import HeadTail, Piece


def test_template_kind_is_registered_with_tencents_names() -> None:
    found = kinds.family("HeadTail")
    assert found is head_tail.TEMPLATES and found.presets == {} and not found.typed
    assert found.max_templates == 100
    for verb in ("Create", "Modify", "Delete", "Describe"):
        suffix = "Templates" if verb == "Describe" else "Template"
        assert hasattr(VodClient, f"{verb}HeadTail{suffix}")
    fields = {name[1:] for name in vars(sdk.HeadTailTemplate())}
    assert set(head_tail.SIDES) | {"FillType"} <= fields
    assert "Type" not in fields


def test_rules_default_and_limits() -> None:
    assert head_tail.rules({}) == {
        "HeadCandidateSet": [],
        "TailCandidateSet": [],
        "FillType": "stretch",
    }
    assert head_tail.rules({"FillType": "gauss", "TailCandidateSet": ["a"]})["FillType"] == "gauss"
    with pytest.raises(VodError) as info:
        head_tail.rules({"HeadCandidateSet": ["f"] * 6})
    assert info.value.code == "InvalidParameterValue.FileIdsTooMany"
    with pytest.raises(VodError) as info:
        head_tail.rules({"FillType": "blur"})
    assert info.value.code == "InvalidParameterValue.FillType"


def _library(shapes: dict[str, tuple[int, int]]) -> Any:
    async def lookup(file_id: str) -> Mapping[str, Any] | None:
        if file_id not in shapes:
            return None
        w, h = shapes[file_id]
        meta = {"Width": w, "Height": h, "Duration": 2.0 if w else 0.0}
        return {"path": f"/m/{file_id}.mp4", "meta": {**meta, "VideoStreamSet": [{}] if w else []}}

    return lookup


def test_the_closest_aspect_ratio_wins_and_the_earlier_on_a_tie() -> None:
    lookup = _library(
        {"wide": (1920, 1080), "tall": (720, 1280), "sd": (640, 480), "sd2": (320, 240)}
    )
    main = {"Width": 1280, "Height": 720}
    tpl = {"Definition": 1, "HeadCandidateSet": ["tall", "sd", "wide"], "FillType": "black"}
    tpl2 = {
        "Definition": 2,
        "HeadCandidateSet": ["sd2", "sd"],
        "TailCandidateSet": ["gone", "tall"],
    }
    got = asyncio.run(head_tail.resolve([tpl, tpl2], main, lookup))
    assert got == HeadTail(
        heads=(Piece("/m/wide.mp4", "black"), Piece("/m/sd2.mp4", "stretch")),
        tails=(Piece("/m/tall.mp4", "stretch"),),
    )
    # A 4:3 main: sd and sd2 tie, the earlier one wins.
    got = asyncio.run(head_tail.resolve([tpl2], {"Width": 640, "Height": 480}, lookup))
    assert got.heads == (Piece("/m/sd2.mp4", "stretch"),)


def test_a_side_whose_candidates_are_all_gone_is_an_error() -> None:
    tpl = {"Definition": 7, "TailCandidateSet": ["gone"]}
    with pytest.raises(VodError) as info:
        asyncio.run(head_tail.resolve([tpl], {"Width": 4, "Height": 3}, _library({})))
    assert info.value.code == "SourceFileError" and "TailCandidateSet" in info.value.message


def test_candidates_must_be_videos_of_the_library() -> None:
    lookup = _library({"v": (320, 240), "audio": (0, 0)})
    asyncio.run(head_tail.check_candidates({"HeadCandidateSet": ["v"]}, lookup))
    for bad in ("audio", "unknown"):
        with pytest.raises(VodError) as info:
            asyncio.run(head_tail.check_candidates({"TailCandidateSet": ["v", bad]}, lookup))
        assert info.value.code == "InvalidParameterValue.FileId"
        assert "TailCandidateSet.1" in info.value.message
