"""LibraryService.add_media/get against a real store, blob dir and probe."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.mediagen import make_audio_only, make_corrupt, make_video
from vodflow.app import Services, build_services
from vodflow.config import Settings
from vodflow.errors import VodError
from vodflow.store import apps as apps_q
from vodflow.store import media as media_q
from vodflow.store.schema import events, media

APP = 1250000000


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_video(tmp_path_factory.mktemp("clips") / "clip.mp4", duration=1.0)


@pytest.fixture
async def services(tmp_path: Path) -> AsyncIterator[Services]:
    settings = Settings(
        data_dir=tmp_path / "data",
        secret_id="AKIDlibrarytest000000000000000000001",
        secret_key="librarytestkey00000000000000000001",
        public_url="http://media.test:9000",
    )
    svc = await build_services(settings)
    yield svc
    await svc.db.close()


async def test_add_media_stores_row_blob_and_event(services: Services, clip: Path) -> None:
    async with services.db.tx() as conn:
        await apps_q.modify(conn, APP, upload_event_switch="ON")
    rec = await services.library.add_media(APP, clip, name="clip", media_type="mp4", copy=True)
    assert clip.exists()  # copy=True leaves the source in place
    assert rec.media_url.startswith("http://media.test:9000/vod/")
    assert rec.media_url.endswith(".mp4")
    assert rec.procedure_task_id is None

    got = await services.library.get(APP, rec.file_id)
    assert got is not None
    assert Path(got["path"]).read_bytes() == clip.read_bytes()
    assert got["meta"]["Width"] == 320 and got["meta"]["Height"] == 240
    assert got["meta"]["Size"] == clip.stat().st_size
    assert got["meta"]["VideoStreamSet"][0]["Codec"] == "h264"
    assert got["meta"]["AudioStreamSet"][0]["SamplingRate"] == 48000
    assert len(got["meta"]["Md5"]) == 32
    # Other applications do not see it.
    assert await services.library.get(APP + 1, rec.file_id) is None
    assert await services.library.get(APP, "0" * 19) is None

    async with services.db.read() as conn:
        rows = (await conn.execute(select(events))).mappings().all()
    assert len(rows) == 1 and rows[0]["event_type"] == "NewFileUpload"
    body = json.loads(rows[0]["body"])
    assert body["FileUploadEvent"]["FileId"] == rec.file_id
    assert body["FileUploadEvent"]["MediaBasicInfo"]["MediaUrl"] == rec.media_url


async def test_add_media_moves_by_default(services: Services, clip: Path, tmp_path: Path) -> None:
    src = tmp_path / "mine.mp4"
    src.write_bytes(clip.read_bytes())
    rec = await services.library.add_media(APP, src, name="mine", media_type="mp4")
    assert not src.exists()
    got = await services.library.get(APP, rec.file_id)
    assert got is not None and Path(got["path"]).is_file()


async def test_outputs_upsert_and_cover(services: Services, clip: Path) -> None:
    rec = await services.library.add_media(APP, clip, name="c", media_type="mp4", copy=True)
    async with services.db.tx() as conn:
        for size in (1, 2):
            await media_q.upsert_output(
                conn,
                file_id=rec.file_id,
                kind="Transcode",
                definition=100010,
                info={"Definition": 100010, "Size": size},
                blob_keys=["a"],
            )
        await media_q.set_cover(conn, rec.file_id, "x/cover.jpg")
    async with services.db.read() as conn:
        outs = await media_q.outputs(conn, rec.file_id)
        row = await media_q.get(conn, APP, rec.file_id)
    assert [o["info"]["Size"] for o in outs] == [2]
    assert row is not None and row["cover_key"] == "x/cover.jpg"


async def test_refused_media_leaves_nothing(services: Services, tmp_path: Path) -> None:
    bad = make_corrupt(tmp_path / "bad.mp4")
    audio = make_audio_only(tmp_path / "a.m4a", duration=1.0)
    with pytest.raises(VodError) as info:
        await services.library.add_media(APP, bad, name="bad", media_type="mp4", copy=True)
    assert info.value.code == "InvalidParameterValue.SrcFile"
    with pytest.raises(VodError) as info:
        await services.library.add_media(APP, audio, name="a", media_type="flv", copy=True)
    assert info.value.code == "InvalidParameterValue.MediaType"
    async with services.db.read() as conn:
        assert (await conn.execute(select(media))).first() is None
    blobs = [p for p in services.blobs.root.rglob("*") if p.is_file()]
    assert blobs == []


async def test_expired_media_swept_with_event(services: Services, clip: Path) -> None:
    from vodflow.core.expiry import LibrarySweeper

    async with services.db.tx() as conn:
        await apps_q.modify(conn, APP, delete_event_switch="ON")
    keep = await services.library.add_media(APP, clip, name="k", media_type="mp4", copy=True)
    gone = await services.library.add_media(
        APP, clip, name="g", media_type="mp4", copy=True, expire_time=4e9
    )
    folder = Path((await services.library.get(APP, gone.file_id))["path"]).parent
    async with services.db.tx() as conn:
        await media_q.modify(conn, APP, gone.file_id, expire_time=1.0)
    await LibrarySweeper(services.library, services.uploads).sweep_once()
    assert await services.library.get(APP, gone.file_id) is None
    assert await services.library.get(APP, keep.file_id) is not None
    assert not folder.exists()
    async with services.db.read() as conn:
        rows = (
            await conn.execute(select(events.c.body).where(events.c.event_type == "FileDeleted"))
        ).all()
    assert [json.loads(r[0])["FileDeleteEvent"]["FileIdSet"] for r in rows] == [[gone.file_id]]
