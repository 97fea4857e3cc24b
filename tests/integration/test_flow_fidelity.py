"""Task-flow fields honoured for real: OverrideParameter changes the rendition of one
task, and the TaskIds of a sub-application carry that application's id."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import pytest

from tests.mediagen import make_video
from vodflow.app import Services, build_services
from vodflow.config import Settings
from vodflow.core.flows import FlowOptions
from vodflow.errors import VodError
from vodflow.media.probe import probe


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[tuple[Services, str]]:
    settings = Settings(
        data_dir=tmp_path / "data", secret_id="AKID" + "x" * 32, secret_key="k" * 32, workers=1
    )
    services = await build_services(settings)
    # 640x480: 100010 (360 lines at most) and its 180-line override both scale down.
    clip = make_video(tmp_path / "clip.mp4", duration=2, width=640, height=480)
    record = await services.library.add_media(  # type: ignore[union-attr]
        settings.app_id, clip, name="clip", media_type="mp4"
    )
    for part in services.background:
        await part.start()
    yield services, record.file_id
    for part in reversed(services.background):
        await part.stop()
    await services.db.close()


async def wait(services: Services, app_id: int, task_id: str) -> dict[str, Any]:
    async with asyncio.timeout(240):
        while True:
            detail = await services.tasks.detail(app_id, task_id)  # type: ignore[union-attr]
            if detail["Status"] in ("FINISH", "ABORTED"):
                return detail
            await asyncio.sleep(0.2)


@pytest.mark.slow
async def test_override_parameter_changes_that_task_s_rendition(
    env: tuple[Services, str],
) -> None:
    services, file_id = env
    app_id = services.settings.app_id
    flv = {"Container": "flv", "VideoTemplate": {"Height": 180}, "RemoveAudio": 1}
    mpt = {
        "TranscodeTaskSet": [
            {"Definition": 100010},  # the preset as it is: mp4, 360 high
            {"Definition": 100010, "OverrideParameter": flv},
        ]
    }
    task_id = await services.flows.start(app_id, file_id, mpt, FlowOptions())  # type: ignore[union-attr]
    detail = await wait(services, app_id, task_id)
    results = [r["TranscodeTask"] for r in detail["ProcedureTask"]["MediaProcessResultSet"]]
    assert [r["Status"] for r in results] == ["SUCCESS", "SUCCESS"]
    plain, changed = (r["Output"] for r in results)
    assert results[1]["Input"]["OverrideParameter"] == flv  # echoed as given
    assert "mp4" in plain["Container"] and plain["Height"] == 360
    assert changed["Container"] == "flv" and changed["Height"] == 180
    assert changed["AudioStreamSet"] == [] and plain["AudioStreamSet"]
    assert plain["Url"] != changed["Url"] and changed["Url"].endswith(".flv")
    path = services.blobs.path(unquote(urlparse(changed["Url"]).path.removeprefix("/vod/")))
    info = probe(path)
    assert "flv" in info.container and info.height == 180 and not info.audio_streams


async def test_a_bad_override_is_refused_by_its_field_code(env: tuple[Services, str]) -> None:
    services, file_id = env
    app_id = services.settings.app_id
    for override, code in [
        ({"Container": "avi"}, "InvalidParameterValue.Container"),
        ({"VideoTemplate": {"Fps": 500}}, "InvalidParameterValue.Fps"),
    ]:
        mpt = {"TranscodeTaskSet": [{"Definition": 100010, "OverrideParameter": override}]}
        with pytest.raises(VodError) as info:
            await services.flows.start(app_id, file_id, mpt, FlowOptions())  # type: ignore[union-attr]
        assert info.value.code == code, info.value


async def test_task_ids_carry_the_sub_application_s_id(
    env: tuple[Services, str], tmp_path: Path
) -> None:
    services, _ = env
    sub = await services.apps.create("sub", "", "fileid")
    clip = make_video(tmp_path / "sub.mp4", duration=1, width=160, height=120)
    record = await services.library.add_media(sub, clip, name="s", media_type="mp4")  # type: ignore[union-attr]
    mpt = {"TranscodeTaskSet": [{"Definition": 100010}]}
    task_id = await services.flows.start(sub, record.file_id, mpt, FlowOptions())  # type: ignore[union-attr]
    assert task_id.startswith(f"{sub}-Procedure-"), task_id
    assert sub != services.settings.app_id
