"""Template rules, presets and TemplateService on a real SQLite store."""

from __future__ import annotations

import asyncio
import copy
from pathlib import Path
from typing import Any

import pytest

from vodflow.core import kinds, presets, template_rules
from vodflow.core.apps import AppService
from vodflow.core.templates import TemplateService
from vodflow.errors import VodError
from vodflow.store.db import Database
from vodflow.store.migrate import upgrade_async

_META = ("Definition", "Type", "Name", "Comment", "CreateTime", "UpdateTime")


@pytest.mark.parametrize("kind", presets.KINDS)
def test_every_preset_obeys_the_custom_rules(kind: str) -> None:
    """A preset copied into a custom template must be accepted unchanged."""
    for item in presets.presets(kind):
        if kind == "Transcode" and item["Definition"] in ("1020", "1100"):
            continue  # Tencent's 320 and 24 kbps presets are outside the custom 26-256 range
        if kind == "ImageSprite" and item["Definition"] == 10:
            continue  # Tencent's 142x80 preset is below CreateImageSpriteTemplate's 128 px
        params = {k: v for k, v in item.items() if k not in _META}
        assert kinds.family(kind).rules(copy.deepcopy(params)) == params


def test_preset_ids() -> None:
    transcode = presets.PRESETS["Transcode"]
    for d in (100010, 100020, 100030, 100040, 100070, 100080, 10, 20, 30, 40):
        assert transcode[d]["Container"] == "mp4"
    for d in (100210, 100220, 100230, 100240, 100270, 100280, 210, 220, 230, 240):
        assert transcode[d]["Container"] == "hls"
    heights = [transcode[d]["VideoTemplate"]["Height"] for d in (100010, 100020, 100030)]
    assert heights == [360, 540, 720]
    assert transcode[100080]["VideoTemplate"]["Bitrate"] == 6000
    for mp4, hls in ((101010, 101210), (101040, 101240), (101080, 101280)):
        assert (transcode[mp4]["Container"], transcode[hls]["Container"]) == ("mp4", "hls")
        assert transcode[mp4]["VideoTemplate"]["Codec"] == "libx265"
        assert transcode[mp4]["VideoTemplate"]["CodecTag"] == "hvc1"
        assert transcode[mp4]["VideoTemplate"] == transcode[hls]["VideoTemplate"]
        h264 = transcode[mp4 - 1000]["VideoTemplate"]
        assert transcode[mp4]["VideoTemplate"]["Height"] == h264["Height"]
        assert transcode[mp4]["VideoTemplate"]["Bitrate"] < h264["Bitrate"]
    seed = transcode[20]
    assert seed["VideoTemplate"]["Height"] == 480 and seed["VideoTemplate"]["Width"] == 0
    assert seed["VideoTemplate"]["ResolutionAdaptive"] == "open"
    assert seed["VideoTemplate"]["Fps"] == 24 and seed["VideoTemplate"]["Bitrate"] == 500
    assert seed["AudioTemplate"] == {
        "Codec": "libfdk_aac",
        "Bitrate": 48,
        "SampleRate": 44100,
        "AudioChannel": 2,
    }
    assert presets.PRESETS["SnapshotByTimeOffset"][10]["Format"] == "jpg"
    assert presets.preset("Transcode", 99) is None


def test_preset_copies_are_independent() -> None:
    a = presets.preset("Transcode", 20)
    assert a is not None
    a["VideoTemplate"]["Height"] = 1
    assert presets.PRESETS["Transcode"][20]["VideoTemplate"]["Height"] == 480


def test_aliases_are_normalised() -> None:
    out = template_rules.transcode(
        {
            "Container": "mp4",
            "VideoTemplate": {"Codec": "HEVC", "Fps": 30, "Bitrate": 0},
            "AudioTemplate": {"Codec": "aac", "Bitrate": 0, "SampleRate": 48000},
        }
    )
    assert out["VideoTemplate"]["Codec"] == "libx265"
    assert out["AudioTemplate"]["Codec"] == "libfdk_aac"
    assert out["VideoTemplate"]["FillType"] == "black"
    assert out["ContainerType"] == "Video"


def _code(fn: Any, *args: Any) -> str:
    with pytest.raises(VodError) as info:
        fn(*args)
    return info.value.code


def test_rules_refuse_out_of_range() -> None:
    v = {"Codec": "h264", "Fps": 25, "Bitrate": 800}
    a = {"Codec": "aac", "Bitrate": 64, "SampleRate": 44100}
    t = template_rules.transcode
    assert _code(t, {"Container": "mp4", "VideoTemplate": {**v, "Width": 127}, "AudioTemplate": a})
    assert _code(
        t, {"Container": "mp4", "VideoTemplate": {**v, "Width": 127}, "AudioTemplate": a}
    ) == ("InvalidParameterValue.Width")
    assert _code(
        t, {"Container": "mp4", "VideoTemplate": {**v, "Bitrate": 127}, "AudioTemplate": a}
    ) == ("InvalidParameterValue.Bitrate")
    assert _code(t, {"Container": "flac", "AudioTemplate": a}) == "InvalidParameterValue.Codec"
    assert _code(
        t, {"Container": "mp3", "AudioTemplate": {**a, "Codec": "mp3", "AudioChannel": 6}}
    ) == ("InvalidParameterValue.AudioChannel")
    sprite = {"SampleType": "Time", "SampleInterval": 1, "RowCount": 10, "ColumnCount": 10}
    assert template_rules.image_sprite({**sprite, "Width": 1500})["ColumnCount"] == 10
    assert _code(template_rules.image_sprite, {**sprite, "Width": 1501}) == (
        "InvalidParameterValue.ColumnCount"
    )
    assert _code(template_rules.animated_graphics, {"Fps": 10, "Height": 4097}) == (
        "InvalidParameterValue.Height"
    )


def test_audio_only_container_drops_video() -> None:
    out = template_rules.transcode(
        {
            "Container": "m4a",
            "VideoTemplate": {"Codec": "h264", "Fps": 25, "Bitrate": 800},
            "AudioTemplate": {"Codec": "aac", "Bitrate": 96, "SampleRate": 44100},
        }
    )
    assert out["RemoveVideo"] == 1 and "VideoTemplate" not in out
    assert out["ContainerType"] == "PureAudio"


@pytest.fixture
def service(tmp_path: Path) -> Any:
    async def build() -> tuple[Database, TemplateService]:
        url = f"sqlite+aiosqlite:///{tmp_path / 'v.db'}"
        await upgrade_async(url)
        db = Database(url)
        await AppService(db, 1).ensure_default()
        return db, TemplateService(db)

    return build


def test_service_find_procedure_and_check(service: Any) -> None:
    async def run() -> None:
        db, svc = await service()
        try:
            found = await svc.find(1, "Transcode", 100010)
            assert found is not None and found["Definition"] == "100010"
            assert await svc.find(1, "Transcode", 5) is None
            sprite = await svc.find(1, "ImageSprite", 10)
            assert sprite is not None and sprite["Definition"] == 10
            d = await svc.create(
                1, "SampleSnapshot", "n", "", {"SampleType": "Time", "SampleInterval": 3}
            )
            assert d > 1000000
            got = await svc.find(1, "SampleSnapshot", d)
            assert got is not None and got["Type"] == "Custom" and got["SampleInterval"] == 3
            assert await svc.find(2, "SampleSnapshot", d) is None  # another application
            await svc.check_media_process_task(
                1,
                {
                    "SampleSnapshotTaskSet": [{"Definition": d}],
                    "CoverBySnapshotTaskSet": [{"Definition": 10}],
                },
            )
            for bad, code in [
                ({}, "InvalidParameterValue"),
                ({"TranscodeTaskSet": [{"Definition": 11}]}, "InvalidParameterValue.Definition"),
                ({"ImageSpriteTaskSet": [{"Definition": d}]}, "InvalidParameterValue.Definition"),
                ({"TranscodeTaskSet": [{"Definition": "20"}]}, "InvalidParameter"),
                ({"TranscodeTaskSet": [{"Definition": 20}] * 101}, "InvalidParameterValue"),
            ]:
                with pytest.raises(VodError) as info:
                    await svc.check_media_process_task(1, bad)
                assert info.value.code == code
            simple = await svc.get_procedure(1, "QCVB_SimpleProcessFile")
            assert simple is not None and simple["TranscodeTaskSet"]
            await svc.create_procedure(1, "p", "", {"TranscodeTaskSet": [{"Definition": 20}]})
            assert await svc.get_procedure(1, "p") == {"TranscodeTaskSet": [{"Definition": 20}]}
            assert await svc.get_procedure(2, "p") is None
            assert await svc.get_procedure(1, "nope") is None
            # The caller may change what it gets without touching the stored copy.
            simple["TranscodeTaskSet"].clear()
            again = await svc.get_procedure(1, "QCVB_SimpleProcessFile")
            assert again is not None and again["TranscodeTaskSet"]
        finally:
            await db.close()

    asyncio.run(run())


def test_modify_merges_nested_fields(service: Any) -> None:
    async def run() -> None:
        db, svc = await service()
        try:
            d = await svc.create(
                1,
                "Transcode",
                "t",
                "",
                {
                    "Container": "mp4",
                    "VideoTemplate": {"Codec": "h264", "Fps": 25, "Bitrate": 800, "Height": 720},
                    "AudioTemplate": {"Codec": "aac", "Bitrate": 64, "SampleRate": 44100},
                },
            )
            await svc.modify(
                1, "Transcode", d, name=None, comment="c", changes={"VideoTemplate": {"Fps": 30}}
            )
            got = await svc.find(1, "Transcode", d)
            assert got is not None
            assert got["VideoTemplate"]["Fps"] == 30 and got["VideoTemplate"]["Height"] == 720
            assert got["Name"] == "t" and got["Comment"] == "c"
        finally:
            await db.close()

    asyncio.run(run())


@pytest.mark.parametrize(
    ("kind", "params", "limit"),
    [
        ("SnapshotByTimeOffset", {"Format": "jpg"}, 16),
        ("SampleSnapshot", {"SampleType": "Time", "SampleInterval": 3}, 16),
        (
            "ImageSprite",
            {"SampleType": "Time", "SampleInterval": 3, "RowCount": 2, "ColumnCount": 2},
            16,
        ),
        ("AnimatedGraphics", {"Fps": 5}, 16),
        (
            "Transcode",
            {
                "Container": "mp4",
                "VideoTemplate": {"Codec": "libx264", "Fps": 25, "Bitrate": 800},
                "AudioTemplate": {"Codec": "aac", "Bitrate": 64, "SampleRate": 44100},
            },
            100,
        ),
    ],
)
def test_limits_and_concurrent_ids(service: Any, kind: str, params: dict, limit: int) -> None:
    """Tencent's per-kind allowance (16 image/animation templates, 100 transcodes)."""

    async def run() -> None:
        db, svc = await service()
        try:
            ids = await asyncio.gather(
                *(svc.create(1, kind, "", "", copy.deepcopy(params)) for _ in range(limit))
            )
            assert len(set(ids)) == limit and min(ids) > 1000000
            with pytest.raises(VodError) as info:
                await svc.create(1, kind, "", "", copy.deepcopy(params))
            assert info.value.code == "LimitExceeded.TooMuchTemplate"
            # Deleting one frees a place.
            await svc.delete(1, kind, ids[0])
            await svc.create(1, kind, "", "", copy.deepcopy(params))
            # Another kind and another application have their own allowance.
            other_kind = "AdaptiveDynamicStreaming" if kind != "Transcode" else "AnimatedGraphics"
            other_params = (
                {"Fps": 5}
                if other_kind == "AnimatedGraphics"
                else presets.preset("AdaptiveDynamicStreaming", 10)
            )
            await svc.create(1, other_kind, "", "", other_params)
            await AppService(db, 2).ensure_default()
            other = await svc.create(2, kind, "", "", copy.deepcopy(params))
            assert other not in ids
        finally:
            await db.close()

    asyncio.run(run())


def test_procedure_limit(service: Any) -> None:
    """CreateProcedureTemplate: 50 per application (Tencent's 模板上限：50)."""

    async def run() -> None:
        db, svc = await service()
        try:
            task = {"TranscodeTaskSet": [{"Definition": 20}]}
            for n in range(50):
                await svc.create_procedure(1, f"p{n}", "", task)
            with pytest.raises(VodError) as info:
                await svc.create_procedure(1, "p50", "", task)
            assert info.value.code == "LimitExceeded.TooMuchTemplate"
            await svc.delete_procedure(1, "p0")
            await svc.create_procedure(1, "p50", "", task)
        finally:
            await db.close()

    asyncio.run(run())


def test_deleted_definitions_are_never_reused(service: Any) -> None:
    """A stored reference (a procedure, an output) must never come to mean another template."""

    async def run() -> None:
        db, svc = await service()
        try:
            transcode = {"Container": "mp4", "VideoTemplate": {"Codec": "libx264", "Fps": 25,
                         "Bitrate": 800}, "RemoveAudio": 1}  # fmt: skip
            first = await svc.create(1, "Transcode", "t", "", transcode)
            await svc.delete(1, "Transcode", first)
            assert await svc.find(1, "Transcode", first) is None
            sprite = {"SampleType": "Percent", "SampleInterval": 10, "RowCount": 2,
                      "ColumnCount": 2}  # fmt: skip
            second = await svc.create(1, "ImageSprite", "s", "", sprite)
            third = await svc.create(1, "Transcode", "t2", "", transcode)
            assert first < second < third
            assert await svc.find(1, "ImageSprite", first) is None
            # The deleted one is gone from listings and counts.
            items, total = await svc.describe(
                1, "Transcode", definitions=None, type_="Custom", offset=0, limit=100
            )
            assert total == 1 and [int(i["Definition"]) for i in items] == [third]
        finally:
            await db.close()

    asyncio.run(run())
