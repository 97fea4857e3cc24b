"""Task flows in-process: every subtask type's real output, events per notify mode,
abort of a running flow, priority order, one decode for several renditions."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import pytest
from sqlalchemy import select

from tests.mediagen import make_video
from vodflow.app import Services, build_services
from vodflow.config import Settings
from vodflow.core import subtasks as subtasks_mod
from vodflow.core.flows import FlowOptions
from vodflow.errors import VodError
from vodflow.media import ops
from vodflow.media.ops.animated import read_gif
from vodflow.media.probe import probe, probe_playlist
from vodflow.store import tasks as tasks_q
from vodflow.store.schema import events, media_outputs, subtasks

pytestmark = pytest.mark.slow


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[tuple[Services, str]]:
    settings = Settings(
        data_dir=tmp_path / "data", secret_id="AKID" + "x" * 32, secret_key="k" * 32, workers=2
    )
    services = await build_services(settings)
    clip = make_video(tmp_path / "clip.mp4", duration=4, width=320, height=240)
    record = await services.library.add_media(settings.app_id, clip, name="clip", media_type="mp4")
    yield services, record.file_id
    for part in reversed(services.background):
        await part.stop()
    await services.db.close()


async def start_background(services: Services) -> None:
    for part in services.background:
        await part.start()


async def run_flow(
    services: Services, file_id: str, mpt: dict[str, Any], **opts: Any
) -> dict[str, Any]:
    app_id = services.settings.app_id
    task_id = await services.flows.start(app_id, file_id, mpt, FlowOptions(**opts))
    return await wait(services, task_id)


async def wait(services: Services, task_id: str, timeout: float = 240) -> dict[str, Any]:
    async with asyncio.timeout(timeout):
        while True:
            detail = await services.tasks.detail(services.settings.app_id, task_id)
            if detail["Status"] in ("FINISH", "ABORTED"):
                return detail
            await asyncio.sleep(0.2)


def path_of(services: Services, url: str) -> Path:
    return services.blobs.path(unquote(urlparse(url).path.removeprefix("/vod/")))


def body(result: dict[str, Any]) -> dict[str, Any]:
    (value,) = [v for k, v in result.items() if k != "Type"]
    return value


async def test_every_subtask_type_real_output(env: tuple[Services, str]) -> None:
    services, file_id = env
    await start_background(services)
    detail = await run_flow(
        services,
        file_id,
        {
            "TranscodeTaskSet": [
                {"Definition": 100210},
                {"Definition": 100010, "StartTimeOffset": 1, "EndTimeOffset": 3},
            ],
            "CoverBySnapshotTaskSet": [
                {"Definition": 10, "PositionType": "Percent", "PositionValue": 50}
            ],
            "SnapshotByTimeOffsetTaskSet": [
                {"Definition": 10, "ExtTimeOffsetSet": ["1s", "50%"], "TimeOffsetSet": [500]}
            ],
            "SampleSnapshotTaskSet": [{"Definition": 10}],
            "ImageSpriteTaskSet": [{"Definition": 10}],
            "AnimatedGraphicTaskSet": [
                {"Definition": 20000, "StartTimeOffset": 0, "EndTimeOffset": 2}
            ],
            "AdaptiveDynamicStreamingTaskSet": [{"Definition": 10}],
        },
    )
    assert detail["Status"] == "FINISH"
    results = {
        r["Type"] + str(i): body(r)
        for i, r in enumerate(detail["ProcedureTask"]["MediaProcessResultSet"])
    }
    for name, res in results.items():
        assert res["Status"] == "SUCCESS", (name, res)

    hls = results["Transcode0"]["Output"]
    measured = probe_playlist(path_of(services, hls["Url"]))
    # 100210 asks 360 lines at most: the 320x240 source is not upscaled.
    assert (measured.width, measured.height) == (hls["Width"], hls["Height"]) == (320, 240)
    assert measured.size == hls["Size"]

    clip = results["Transcode1"]["Output"]
    assert abs(clip["Duration"] - 2.0) < 0.3
    assert probe(path_of(services, clip["Url"])).md5 == clip["Md5"]

    cover_url = results["CoverBySnapshot6"]["Output"]["CoverUrl"]
    assert path_of(services, cover_url).read_bytes()[:3] == b"\xff\xd8\xff"
    media = await services.library.get(services.settings.app_id, file_id)
    assert media is not None and media["cover_url"] == cover_url

    pics = results["SnapshotByTimeOffset3"]["Output"]["PicInfoSet"]
    assert [p["TimeOffset"] for p in pics] == [1000.0, 2000.0, 500.0]
    for pic in pics:
        info = probe(path_of(services, pic["Url"]))
        assert (info.width, info.height) == (320, 240)

    sample = results["SampleSnapshot4"]
    assert len(sample["Output"]["ImageUrlSet"]) == 10

    sprite = next(v for k, v in results.items() if k.startswith("ImageSprites"))["Output"]
    (sheet,) = sprite["ImageUrlSet"]
    sheet_info = probe(path_of(services, sheet))
    assert (sheet_info.width, sheet_info.height) == (142 * 10, 80 * 10)
    vtt = path_of(services, sprite["WebVttUrl"]).read_text()
    cues = re.findall(r"^(\S+) --> (\S+)\n(\S+)#xywh=(\d+),(\d+),(\d+),(\d+)$", vtt, re.M)
    assert len(cues) == sprite["TotalCount"] >= 1
    assert all(c[2] == sheet for c in cues)

    gif = next(v for k, v in results.items() if k.startswith("AnimatedGraphics"))["Output"]
    width, height, frames, duration = read_gif(path_of(services, gif["Url"]))
    assert (width, height) == (gif["Width"], gif["Height"])
    assert 18 <= frames <= 22 and abs(duration - 2.0) < 0.3

    ads = next(v for k, v in results.items() if k.startswith("Adaptive"))["Output"]
    master = path_of(services, ads["Url"])
    variants = [
        line for line in master.read_text().splitlines() if line and not line.startswith("#")
    ]
    assert len(variants) == len(ads["SubStreamSet"]) >= 1
    for variant, sub in zip(variants, ads["SubStreamSet"], strict=True):
        info = probe_playlist(master.parent / variant)
        assert (info.width, info.height) == (sub["Width"], sub["Height"])

    async with services.db.read() as conn:
        kinds = sorted(
            (r.kind, r.definition)
            for r in (
                await conn.execute(select(media_outputs).where(media_outputs.c.file_id == file_id))
            )
        )
    assert kinds == [
        ("AdaptiveDynamicStreaming", 10),
        ("AnimatedGraphics", 20000),
        ("ImageSprite", 10),
        ("SampleSnapshot", 10),
        ("SnapshotByTimeOffset", 10),
        ("Transcode", 100010),
        ("Transcode", 100210),
    ]


async def count_events(services: Services, task_id: str) -> list[str]:
    async with services.db.read() as conn:
        rows = (
            await conn.execute(
                select(events.c.body).where(events.c.event_type == "ProcedureStateChanged")
            )
        ).all()
    bodies = [json.loads(r.body)["ProcedureStateChangeEvent"] for r in rows]
    return [b["Status"] for b in bodies if b["TaskId"] == task_id]


@pytest.mark.parametrize(("mode", "expected"), [("Finish", 1), ("Change", 2 * 3 + 1), ("None", 0)])
async def test_events_per_notify_mode(env: tuple[Services, str], mode: str, expected: int) -> None:
    services, file_id = env
    await start_background(services)
    mpt = {
        "TranscodeTaskSet": [{"Definition": 100010}, {"Definition": 100020}],
        "CoverBySnapshotTaskSet": [{"Definition": 10, "PositionType": "Time", "PositionValue": 0}],
    }
    detail = await run_flow(services, file_id, mpt, notify_mode=mode)
    statuses = await count_events(services, detail["ProcedureTask"]["TaskId"])
    assert len(statuses) == expected
    if statuses:
        assert statuses[-1] == "FINISH"
        assert statuses.count("FINISH") == 1


async def test_several_renditions_share_one_ffmpeg_run(
    env: tuple[Services, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    services, file_id = env
    calls: list[int] = []
    real = ops.transcode_many

    async def counting(src: Any, specs: Any, out: Any, **kw: Any) -> Any:
        calls.append(len(specs))
        return await real(src, specs, out, **kw)

    monkeypatch.setattr(ops, "transcode_many", counting)
    await start_background(services)
    mpt = {
        "TranscodeTaskSet": [{"Definition": 100010}, {"Definition": 100020}, {"Definition": 100030}]
    }
    detail = await run_flow(services, file_id, mpt)
    assert all(
        body(r)["Status"] == "SUCCESS" for r in detail["ProcedureTask"]["MediaProcessResultSet"]
    )
    assert calls == [3]


async def test_abort_running_flow_kills_ffmpeg_and_keeps_nothing(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path / "data", secret_id="AKID" + "x" * 32, secret_key="k" * 32
    )
    services = await build_services(settings)
    clip = make_video(tmp_path / "long.mp4", duration=40, width=1280, height=720)
    record = await services.library.add_media(settings.app_id, clip, name="long", media_type="mp4")
    await start_background(services)
    try:
        app_id = settings.app_id
        task_id = await services.flows.start(
            app_id, record.file_id, {"TranscodeTaskSet": [{"Definition": 100030}]}, FlowOptions()
        )
        async with asyncio.timeout(120):
            while True:
                async with services.db.read() as conn:
                    row = (
                        await conn.execute(select(subtasks).where(subtasks.c.task_id == task_id))
                    ).one()
                if row.progress > 0:
                    break
                await asyncio.sleep(0.1)
        work = row.output["_work"]
        await services.flows.abort(app_id, task_id)
        detail = await wait(services, task_id)
        assert detail["Status"] == "ABORTED"
        res = body(detail["ProcedureTask"]["MediaProcessResultSet"][0])
        assert res["Status"] == "FAIL"
        async with asyncio.timeout(30):
            while subtasks_mod._running:
                await asyncio.sleep(0.1)
        from tests.processes import processes_with

        assert processes_with(work) == []
        assert not Path(work).exists()
        assert not list(services.blobs.root.rglob("v.f100030*"))
        async with services.db.read() as conn:
            outs = (await conn.execute(select(media_outputs))).all()
        assert outs == []
        with pytest.raises(VodError) as info:
            await services.flows.abort(app_id, task_id)
        assert info.value.code == "FailedOperation"
    finally:
        for part in reversed(services.background):
            await part.stop()
        await services.db.close()


async def test_abort_waiting_flow_and_priority_order(env: tuple[Services, str]) -> None:
    services, file_id = env
    app_id = services.settings.app_id
    executor = services.executor
    executor.concurrency = 1
    mpt = {
        "CoverBySnapshotTaskSet": [{"Definition": 10, "PositionType": "Time", "PositionValue": 0}]
    }
    ids = {}
    for prio in (-5, 10, 0, 3):
        ids[prio] = await services.flows.start(app_id, file_id, mpt, FlowOptions(priority=prio))
    await services.flows.abort(app_id, ids[3])
    await start_background(services)
    begins = {}
    for prio in (-5, 10, 0):
        detail = await wait(services, ids[prio])
        assert detail["Status"] == "FINISH"
        begins[prio] = body(detail["ProcedureTask"]["MediaProcessResultSet"][0])
    aborted = await wait(services, ids[3])
    assert aborted["Status"] == "ABORTED"
    async with services.db.read() as conn:
        rows = {
            r.task_id: r.begin_time
            for r in (await conn.execute(select(subtasks.c.task_id, subtasks.c.begin_time))).all()
        }
    assert rows[ids[10]] <= rows[ids[0]] <= rows[ids[-5]]
    assert rows[ids[3]] is None


# --- error paths, clean restarts, output replacement ---------------------------------


def results_of(detail: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(r["Type"], body(r)) for r in detail["ProcedureTask"]["MediaProcessResultSet"]]


def assert_time_order(detail: dict[str, Any]) -> None:
    """CreateTime <= BeginProcessTime <= FinishTime, for the flow and each subtask
    (ISO 8601 UTC, one format: string order is time order)."""
    created, began, ended = (detail[k] for k in ("CreateTime", "BeginProcessTime", "FinishTime"))
    assert created <= began <= ended, detail
    for kind, res in results_of(detail):
        assert began <= res["BeginProcessTime"] <= res["FinishTime"] <= ended, (kind, res)


async def test_some_subtasks_fail_and_the_flow_still_finishes(env: tuple[Services, str]) -> None:
    services, file_id = env
    await start_background(services)
    detail = await run_flow(
        services,
        file_id,
        {
            "TranscodeTaskSet": [
                {"Definition": 100010},
                {"Definition": 100020, "StartTimeOffset": 100},  # the clip lasts 4 s
            ],
            "SnapshotByTimeOffsetTaskSet": [{"Definition": 10, "ExtTimeOffsetSet": ["30s"]}],
            "CoverBySnapshotTaskSet": [
                {"Definition": 10, "PositionType": "Time", "PositionValue": 1}
            ],
            "AnimatedGraphicTaskSet": [
                {"Definition": 20000, "StartTimeOffset": 3, "EndTimeOffset": 2}
            ],
        },
    )
    assert detail["Status"] == "FINISH"
    shown = [
        (kind, res["Status"], res["ErrCodeExt"], res["ErrCode"]) for kind, res in results_of(detail)
    ]
    offset = "InvalidInput.InvalidTimeOffset"
    assert sorted(shown) == sorted(
        [
            ("Transcode", "SUCCESS", "", 0),
            ("Transcode", "FAIL", offset, 40000),
            ("SnapshotByTimeOffset", "FAIL", offset, 40000),
            ("CoverBySnapshot", "SUCCESS", "", 0),
            ("AnimatedGraphics", "FAIL", offset, 40000),
        ]
    )
    for kind, res in results_of(detail):
        if res["Status"] == "SUCCESS":
            assert res["Message"] == "SUCCESS" and res["Progress"] == 100, (kind, res)
        else:
            assert res["Message"] and "Output" not in res, (kind, res)
    assert_time_order(detail)
    async with services.db.read() as conn:
        outs = (await conn.execute(select(media_outputs.c.kind, media_outputs.c.definition))).all()
    assert [tuple(o) for o in outs] == [("Transcode", 100010)]


async def test_grouped_transcode_with_an_impossible_rendition(
    env: tuple[Services, str], tmp_path: Path
) -> None:
    services, _ = env
    app_id = services.settings.app_id
    silent = make_video(tmp_path / "silent.mp4", duration=3, audio=False)
    record = await services.library.add_media(app_id, silent, name="silent", media_type="mp4")
    # An audio-only rendition of a source without audio: FFmpeg cannot make it.
    mp3 = await services.templates.create(
        app_id,
        "Transcode",
        "mp3",
        "",
        {
            "Container": "mp3",
            "AudioTemplate": {"Codec": "libmp3lame", "SampleRate": 44100, "AudioChannel": 2},
        },
    )
    await start_background(services)
    detail = await run_flow(
        services,
        record.file_id,
        {"TranscodeTaskSet": [{"Definition": 100010}, {"Definition": mp3}]},
    )
    assert detail["Status"] == "FINISH"
    by_definition = {res["Input"]["Definition"]: res for _kind, res in results_of(detail)}
    good, bad = by_definition[100010], by_definition[mp3]
    assert (good["Status"], good["ErrCodeExt"]) == ("SUCCESS", "")
    assert probe(path_of(services, good["Output"]["Url"])).md5 == good["Output"]["Md5"]
    assert (bad["Status"], bad["ErrCodeExt"], bad["ErrCode"]) == (
        "FAIL",
        "SourceFileError",  # the template is valid; the source has no audio
        60000,
    )
    assert "Output" not in bad


async def test_template_deleted_before_the_subtask_runs(env: tuple[Services, str]) -> None:
    services, file_id = env
    app_id = services.settings.app_id
    templates = services.templates
    transcode = await templates.create(
        app_id,
        "Transcode",
        "small",
        "",
        {
            "Container": "mp4",
            "VideoTemplate": {"Codec": "libx264", "Fps": 25, "Bitrate": 300, "Height": 128},
            "AudioTemplate": {"Codec": "libfdk_aac", "SampleRate": 44100, "AudioChannel": 2},
        },
    )
    snapshot = await templates.create(
        app_id, "SnapshotByTimeOffset", "small", "", {"Width": 64, "Height": 48}
    )
    mpt = {
        "TranscodeTaskSet": [{"Definition": transcode}],
        "SnapshotByTimeOffsetTaskSet": [{"Definition": snapshot, "TimeOffsetSet": [500]}],
        "CoverBySnapshotTaskSet": [{"Definition": 10, "PositionType": "Time", "PositionValue": 0}],
    }
    # The executor is not started yet: the flow is accepted and stays WAITING.
    task_id = await services.flows.start(app_id, file_id, mpt, FlowOptions())
    waiting = await services.tasks.detail(app_id, task_id)
    assert waiting["Status"] == "WAITING"
    await templates.delete(app_id, "Transcode", transcode)
    await templates.delete(app_id, "SnapshotByTimeOffset", snapshot)
    await start_background(services)
    detail = await wait(services, task_id)
    assert detail["Status"] == "FINISH"
    shown = {
        kind: (res["Status"], res["ErrCodeExt"], res["ErrCode"]) for kind, res in results_of(detail)
    }
    gone = ("FAIL", "InvalidInput.DefinitionNotExist", 40000)
    assert shown == {
        "Transcode": gone,
        "SnapshotByTimeOffset": gone,
        "CoverBySnapshot": ("SUCCESS", "", 0),
    }


async def test_interrupted_max_attempts_times_fails_with_internal_error(
    env: tuple[Services, str],
) -> None:
    services, file_id = env
    app_id = services.settings.app_id
    mpt = {
        "CoverBySnapshotTaskSet": [{"Definition": 10, "PositionType": "Time", "PositionValue": 0}]
    }
    task_id = await services.flows.start(app_id, file_id, mpt, FlowOptions())
    # Three runners took the subtask and died, each leaving an expired lease.
    async with services.db.tx() as conn:
        (row,) = await tasks_q.subtasks_of(conn, task_id)
        for n in range(subtasks_mod.MAX_ATTEMPTS):
            assert await tasks_q.claim(conn, row["id"], f"gone-host:{n}:x", 0.0, 1.0)
    await start_background(services)
    detail = await wait(services, task_id)
    assert detail["Status"] == "FINISH"
    ((_kind, res),) = results_of(detail)
    assert (res["Status"], res["ErrCodeExt"], res["ErrCode"]) == ("FAIL", "InternalError", 70000)
    assert f"interrupted {subtasks_mod.MAX_ATTEMPTS} times" in res["Message"]
    media = await services.library.get(app_id, file_id)
    assert media is not None and not media["cover_url"]


async def test_clean_restarts_do_not_use_up_attempts(tmp_path: Path) -> None:
    """Stopping the server gives a running job back; three restarts must not fail it."""
    settings = Settings(
        data_dir=tmp_path / "data", secret_id="AKID" + "x" * 32, secret_key="k" * 32
    )
    # 1280x720, so that 100030 (720p at most) really encodes 720p and takes a while.
    clip = make_video(tmp_path / "long.mp4", duration=20, width=1280, height=720)
    services = await build_services(settings)
    app_id = settings.app_id
    record = await services.library.add_media(app_id, clip, name="long", media_type="mp4")
    task_id = await services.flows.start(
        app_id,
        record.file_id,
        {"TranscodeTaskSet": [{"Definition": 100030}]},
        FlowOptions(notify_mode="Change"),
    )
    from tests.processes import processes_with

    try:
        for _restart in range(subtasks_mod.MAX_ATTEMPTS):
            await start_background(services)
            async with asyncio.timeout(120):
                while True:
                    async with services.db.read() as conn:
                        (row,) = await tasks_q.subtasks_of(conn, task_id)
                    if row["status"] == "PROCESSING" and row["progress"] > 0:
                        break
                    await asyncio.sleep(0.1)
            work = row["output"]["_work"]
            assert processes_with(work), "FFmpeg should be running"
            for part in reversed(services.background):
                await part.stop()
            # The stop gave the job back whole: no attempt used, no FFmpeg left behind.
            async with services.db.read() as conn:
                (row,) = await tasks_q.subtasks_of(conn, task_id)
            assert (row["status"], row["attempts"], row["lease_owner"]) == ("WAITING", 0, None)
            assert processes_with(work) == []
            await services.db.close()
            services = await build_services(settings)
        await start_background(services)
        detail = await wait(services, task_id)
        ((_kind, res),) = results_of(detail)
        assert (detail["Status"], res["Status"]) == ("FINISH", "SUCCESS"), res
        async with services.db.read() as conn:
            (row,) = await tasks_q.subtasks_of(conn, task_id)
        assert row["attempts"] == 1
        # TasksNotifyMode=Change: started, ended, flow finished; a restart is no change.
        assert await count_events(services, task_id) == ["PROCESSING", "PROCESSING", "FINISH"]
    finally:
        for part in reversed(services.background):
            await part.stop()
        await services.db.close()


async def runs_ended(services: Services) -> None:
    """Until every run's work directory is gone (its last step, after the flow ends)."""
    async with asyncio.timeout(30):
        while list(services.blobs.tmp_dir.glob("flow-*")):
            await asyncio.sleep(0.1)


async def registered(services: Services, file_id: str, kind: str) -> list[dict[str, Any]]:
    async with services.db.read() as conn:
        rows = (
            await conn.execute(
                select(media_outputs).where(
                    media_outputs.c.file_id == file_id, media_outputs.c.kind == kind
                )
            )
        ).mappings()
        return [dict(r) for r in rows]


def blob_bytes(services: Services, keys: list[str]) -> dict[str, bytes]:
    return {key: services.blobs.path(key).read_bytes() for key in keys}


async def test_replaced_folder_output_and_a_discarded_run(
    env: tuple[Services, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    services, file_id = env
    app_id = services.settings.app_id
    await start_background(services)

    def snapshots(*offsets: str) -> dict[str, Any]:
        return {
            "SnapshotByTimeOffsetTaskSet": [{"Definition": 10, "ExtTimeOffsetSet": list(offsets)}]
        }

    first = await run_flow(services, file_id, snapshots("1s", "2s", "3s"))
    assert results_of(first)[0][1]["Status"] == "SUCCESS"
    (out,) = await registered(services, file_id, "SnapshotByTimeOffset")
    folder = services.blobs.path(out["blob_keys"][0]).parent
    kept = blob_bytes(services, out["blob_keys"])
    assert len(kept) == 3

    # A second run on the same definition is aborted after its folder was swapped
    # in but before its result was recorded: the registered output keeps its files.
    real_move = subtasks_mod.SubtaskRunner._move
    loop = asyncio.get_running_loop()
    aborted: list[str] = []

    def move_then_abort(self: Any, *args: Any) -> Any:
        placed = real_move(self, *args)
        (task_id,) = aborted
        asyncio.run_coroutine_threadsafe(services.flows.abort(app_id, task_id), loop).result(30)
        return placed

    monkeypatch.setattr(subtasks_mod.SubtaskRunner, "_move", move_then_abort)
    task_id = await services.flows.start(app_id, file_id, snapshots("0.5s"), FlowOptions())
    aborted.append(task_id)
    assert (await wait(services, task_id))["Status"] == "ABORTED"
    await runs_ended(services)
    assert await registered(services, file_id, "SnapshotByTimeOffset") == [out]
    assert blob_bytes(services, out["blob_keys"]) == kept
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        services.blobs.path(k).name for k in out["blob_keys"]
    )
    monkeypatch.undo()

    # A recorded re-run replaces the folder whole: none of the old files remain.
    third = await run_flow(services, file_id, snapshots("0.5s", "1.5s"))
    (res,) = [r for _k, r in results_of(third)]
    assert res["Status"] == "SUCCESS"
    (new,) = await registered(services, file_id, "SnapshotByTimeOffset")
    assert len(new["blob_keys"]) == 2
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        services.blobs.path(k).name for k in new["blob_keys"]
    )
    for pic in res["Output"]["PicInfoSet"]:
        assert path_of(services, pic["Url"]).is_file()
    await runs_ended(services)
    assert list(services.blobs.tmp_dir.iterdir()) == []


async def test_a_run_stopped_before_recording_gives_the_old_output_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Outputs swapped in, then the server stops before the result is recorded, and the
    re-run fails: the output still registered (an earlier flow's) keeps all its files."""
    settings = Settings(
        data_dir=tmp_path / "data", secret_id="AKID" + "x" * 32, secret_key="k" * 32
    )
    app_id = settings.app_id
    services = await build_services(settings)
    clip = make_video(tmp_path / "clip.mp4", duration=4, width=320, height=240)
    record = await services.library.add_media(app_id, clip, name="clip", media_type="mp4")
    definition = await services.templates.create(
        app_id, "SnapshotByTimeOffset", "small", "", {"Width": 64, "Height": 48}
    )

    def snapshots(*offsets: str) -> dict[str, Any]:
        return {
            "SnapshotByTimeOffsetTaskSet": [
                {"Definition": definition, "ExtTimeOffsetSet": list(offsets)}
            ]
        }

    try:
        await start_background(services)
        first = await run_flow(services, record.file_id, snapshots("1s", "2s", "3s"))
        assert results_of(first)[0][1]["Status"] == "SUCCESS"
        (out,) = await registered(services, record.file_id, "SnapshotByTimeOffset")
        folder = services.blobs.path(out["blob_keys"][0]).parent
        kept = blob_bytes(services, out["blob_keys"])

        reached = asyncio.Event()

        async def stuck(self: Any, claim: Any, outcomes: Any, t: float) -> set[str]:
            reached.set()
            await asyncio.Event().wait()  # until the shutdown cancels it
            raise AssertionError("not reached")

        monkeypatch.setattr(subtasks_mod.SubtaskRunner, "_record", stuck)
        task_id = await services.flows.start(
            app_id, record.file_id, snapshots("0.5s"), FlowOptions()
        )
        async with asyncio.timeout(60):
            await reached.wait()
        assert len(list(folder.iterdir())) == 1  # the new folder is in place, unrecorded
        for part in reversed(services.background):
            await part.stop()
        monkeypatch.undo()
        await services.templates.delete(app_id, "SnapshotByTimeOffset", definition)
        await services.db.close()

        # The next start re-runs the subtask, which now fails: nothing replaces the
        # registered output, whose files must be the earlier flow's, all of them.
        services = await build_services(settings)
        await start_background(services)
        detail = await wait(services, task_id)
        ((_kind, res),) = results_of(detail)
        assert (res["Status"], res["ErrCodeExt"]) == ("FAIL", "InvalidInput.DefinitionNotExist")
        assert await registered(services, record.file_id, "SnapshotByTimeOffset") == [out]
        assert blob_bytes(services, out["blob_keys"]) == kept
        assert sorted(p.name for p in folder.iterdir()) == sorted(
            services.blobs.path(k).name for k in out["blob_keys"]
        )
        await runs_ended(services)
        assert list(services.blobs.tmp_dir.iterdir()) == []
    finally:
        for part in reversed(services.background):
            await part.stop()
        await services.db.close()
