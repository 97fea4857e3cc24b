"""The seed scenario, through the official SDK: a 60 s 640x480 23.976 fps clip,
ProcessMedia with Transcode 20 and CoverBySnapshot 10 at 0 s, ends FINISH with a
ProcedureTask shaped like the seed's ProcedureStateChangeEvent."""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import httpx
import pytest
from tencentcloud.vod.v20180717 import models

from tests.flows_support import add_media, wait_task
from tests.mediagen import make_seed_clip
from tests.servers import ServerProcess
from vodflow.media.probe import probe

pytestmark = pytest.mark.e2e

SEED = Path("/work/shared/seed/push_callback_body.json")


def outbox_bodies(server: ServerProcess, event_type: str) -> list[dict[str, Any]]:
    """Bodies of the server's outbox events of one type, whatever its database (the
    embedded SQLite file, or PostgreSQL when the suite runs on the scaled deployment)."""
    from sqlalchemy import select

    from vodflow.app import build_services
    from vodflow.store.schema import events

    async def go() -> list[dict[str, Any]]:
        services = await build_services(server.settings())
        try:
            async with services.db.read() as conn:
                stmt = select(events.c.body).where(events.c.event_type == event_type)
                return [json.loads(body) for (body,) in (await conn.execute(stmt)).all()]
        finally:
            await services.db.close()

    return asyncio.run(go())


def key_paths(value: Any, prefix: str = "") -> dict[str, str]:
    """Every key path with its JSON type (lists contribute their items' paths)."""
    out: dict[str, str] = {}
    if isinstance(value, dict):
        for k, v in value.items():
            path = f"{prefix}.{k}" if prefix else k
            out[path] = json_type(v)
            out.update(key_paths(v, path))
    elif isinstance(value, list):
        for item in value:
            out.update(key_paths(item, prefix + "[]"))
    return out


def json_type(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int | float):
        return "number"
    return type(v).__name__


def blob_path(server: ServerProcess, url: str) -> Path:
    key = unquote(urlparse(url).path.removeprefix("/vod/"))
    return server.data_dir / "blobs" / key


def served(url: str, content_type: str | None = None) -> bytes:
    """The bytes vodflow serves at a URL: HTTP 200 (with that Content-Type), or fail."""
    r = httpx.get(url, timeout=30)
    assert r.status_code == 200, (url, r.status_code)
    if content_type is not None:
        assert r.headers["content-type"].split(";")[0].strip() == content_type, r.headers
    return r.content


@pytest.mark.slow
def test_seed_scenario(fresh_server: ServerProcess, tmp_path: Path) -> None:
    server = fresh_server.start()
    clip = make_seed_clip(tmp_path / "seed.mp4")
    file_id = add_media(server, clip, name="동물의 세계")

    req = models.ProcessMediaRequest()
    req.from_json_string(
        json.dumps(
            {
                "FileId": file_id,
                "MediaProcessTask": {
                    "TranscodeTaskSet": [{"Definition": 20}],
                    "CoverBySnapshotTaskSet": [
                        {"Definition": 10, "PositionType": "Time", "PositionValue": 0}
                    ],
                },
            }
        )
    )
    task_id = server.vod().ProcessMedia(req).TaskId
    detail = wait_task(server, task_id)
    assert detail["TaskType"] == "Procedure"
    assert detail["Status"] == "FINISH"
    task = detail["ProcedureTask"]
    assert task["Status"] == "FINISH"

    # Every key path of the seed's event, with the same JSON type, and no nulls.
    seed = json.loads(SEED.read_text())["ProcedureStateChangeEvent"]
    ours = key_paths(task)
    for path, kind in key_paths(seed).items():
        assert path in ours, f"missing {path}"
        assert ours[path] == kind, f"{path}: {ours[path]} != {kind}"
    assert "null" not in ours.values()

    # The event in the outbox carries the same ProcedureTask (one event: Finish mode).
    bodies = outbox_bodies(server, "ProcedureStateChanged")
    mine = [b for b in bodies if b["ProcedureStateChangeEvent"]["TaskId"] == task_id]
    assert len(mine) == 1
    event_paths = key_paths(mine[0]["ProcedureStateChangeEvent"])
    for path, kind in key_paths(seed).items():
        assert event_paths.get(path) == kind, path

    transcode = task["MediaProcessResultSet"][0]["TranscodeTask"]
    assert transcode["Status"] == "SUCCESS" and transcode["ErrCodeExt"] == ""
    out = transcode["Output"]
    assert (out["Width"], out["Height"]) == (640, 480)
    assert out["VideoStreamSet"][0]["Fps"] in (23, 24, 25)
    assert out["AudioStreamSet"][0]["Codec"] == "aac"
    assert out["AudioStreamSet"][0]["SamplingRate"] == 44100
    body = served(out["Url"])
    assert len(body) == out["Size"]
    assert hashlib.md5(body).hexdigest() == out["Md5"]
    assert body == blob_path(server, out["Url"]).read_bytes()  # the stored file, whole
    measured = probe(blob_path(server, out["Url"]))
    assert abs(measured.duration - 60.0) < 1.0

    cover = task["MediaProcessResultSet"][1]["CoverBySnapshotTask"]
    assert cover["Status"] == "SUCCESS"
    jpeg = served(cover["Output"]["CoverUrl"], "image/jpeg")
    assert jpeg[:3] == b"\xff\xd8\xff"
