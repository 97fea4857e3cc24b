"""A flow's ops take the source's probe stored at ingest instead of probing it again.

Same outputs as with a probe (a row of an earlier revision, without a stored probe,
is probed as before), and the stored probe is what the op sees: a stored probe that
says the picture is turned 90 degrees gives a turned snapshot, where probing the
file would not.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from tests.integration.test_flows import body, path_of, run_flow, start_background
from tests.mediagen import make_video
from vodflow.app import Services, build_services
from vodflow.config import Settings
from vodflow.media.probe import probe
from vodflow.store.schema import media

pytestmark = pytest.mark.slow

TASKS = {
    "CoverBySnapshotTaskSet": [{"Definition": 10, "PositionType": "Time", "PositionValue": 0.5}],
    "SnapshotByTimeOffsetTaskSet": [{"Definition": 10, "ExtTimeOffsetSet": ["0.2s", "1.4s"]}],
    "SampleSnapshotTaskSet": [{"Definition": 10}],
}


@pytest.fixture
async def services(tmp_path: Path) -> AsyncIterator[Services]:
    settings = Settings(
        data_dir=tmp_path / "data", secret_id="AKID" + "x" * 32, secret_key="k" * 32, workers=2
    )
    services = await build_services(settings)
    yield services
    for part in reversed(services.background):
        await part.stop()
    await services.db.close()


async def add(services: Services, clip: Path, name: str) -> str:
    app_id = services.settings.app_id
    record = await services.library.add_media(app_id, clip, name=name, media_type="mp4", copy=True)
    return record.file_id


async def stored(services: Services, file_id: str) -> Any:
    async with services.db.read() as conn:
        return (
            await conn.execute(select(media.c.probe).where(media.c.file_id == file_id))
        ).scalar()


async def set_stored(services: Services, file_id: str, record: Any) -> None:
    async with services.db.tx() as conn:
        await conn.execute(update(media).where(media.c.file_id == file_id).values(probe=record))


def by_content(services: Services, value: Any) -> Any:
    """A flow's results with each output URL replaced by the md5 of its file (the URLs
    of two media differ; what they point at must not), without their times."""
    if isinstance(value, dict):  # (when it ran is no output)
        return {
            k: by_content(services, v)
            for k, v in value.items()
            if k not in ("BeginProcessTime", "FinishTime")
        }
    if isinstance(value, list):
        return [by_content(services, v) for v in value]
    if isinstance(value, str) and value.startswith("http"):
        return hashlib.md5(path_of(services, value).read_bytes()).hexdigest()
    return value


async def test_a_stored_probe_gives_the_outputs_probing_gives(
    services: Services, tmp_path: Path
) -> None:
    clip = make_video(tmp_path / "clip.mp4", duration=2, width=320, height=180)
    with_probe = await add(services, clip, "stored")
    without = await add(services, clip, "earlier-revision")
    record = await stored(services, with_probe)
    assert record is not None and record["width"] == 320 and record["md5"] == probe(clip).md5
    await set_stored(services, without, None)  # a row of a revision before media.probe
    await start_background(services)
    task_a = (await run_flow(services, with_probe, TASKS))["ProcedureTask"]
    task_b = (await run_flow(services, without, TASKS))["ProcedureTask"]
    a, b = task_a["MediaProcessResultSet"], task_b["MediaProcessResultSet"]
    assert sorted(r["Type"] for r in a) == [
        "CoverBySnapshot",
        "SampleSnapshot",
        "SnapshotByTimeOffset",
    ]
    assert all(body(r)["Status"] == "SUCCESS" for r in a), a
    assert by_content(services, a) == by_content(services, b)


async def test_the_op_sees_the_stored_probe(services: Services, tmp_path: Path) -> None:
    clip = make_video(tmp_path / "clip.mp4", duration=2, width=320, height=180)
    file_id = await add(services, clip, "turned")
    record = await stored(services, file_id)
    await set_stored(services, file_id, {**record, "rotate": 90})
    await start_background(services)
    cover = {"CoverBySnapshotTaskSet": TASKS["CoverBySnapshotTaskSet"]}
    detail = await run_flow(services, file_id, cover)
    image = probe(
        path_of(
            services,
            body(detail["ProcedureTask"]["MediaProcessResultSet"][0])["Output"]["CoverUrl"],
        )
    )
    # Template 10 keeps the source's displayed size: 180x320 as the stored probe says
    # (probing the file would say 320x180, the size of a snapshot of the real file).
    assert (image.width, image.height) == (180, 320)
