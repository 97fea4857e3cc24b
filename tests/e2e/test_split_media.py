"""SplitMedia through the official SDK: segments as new media, the task and its event."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import av
import httpx
import pytest
from tencentcloud.vod.v20180717 import models

from tests import mediagen
from tests.assertions import call_code
from tests.e2e.test_edit_media import _finished, _pull_all
from tests.servers import ServerProcess
from tests.uploadkit import upload

pytestmark = pytest.mark.e2e


@pytest.fixture
def app(server: ServerProcess) -> int:
    return int(server.call("CreateSubAppId", {"Name": f"split-{time.time_ns()}"})["SubAppId"])


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("split") / "long.mp4"
    return mediagen.make_video(path, duration=3.0, width=320, height=240, fps=25)


def _frames(server: ServerProcess, url: str, name: str) -> tuple[int, int, int]:
    path = Path(server.data_dir) / name
    path.write_bytes(httpx.get(url).content)
    with av.open(str(path)) as container:
        ctx = container.streams.video[0].codec_context
        return ctx.width, ctx.height, sum(1 for _ in container.decode(video=0))


def test_segments_become_media(server: ServerProcess, app: int, source: Path) -> None:
    file_id = upload(server, source, SubAppId=app, MediaName="long")["FileId"]
    server.call(
        "CreateProcedureTemplate",
        {
            "SubAppId": app,
            "Name": "cover-only",
            "MediaProcessTask": {
                "CoverBySnapshotTaskSet": [
                    {"Definition": 10, "PositionType": "Time", "PositionValue": 0}
                ]
            },
        },
    )
    req = models.SplitMediaRequest()
    req.from_json_string(
        json.dumps(
            {
                "SubAppId": app,
                "FileId": file_id,
                "Segments": [
                    {"StartTimeOffset": 0, "EndTimeOffset": 1.0},
                    # Negative: from the end (the last second), into its own procedure.
                    {
                        "StartTimeOffset": -1.0,
                        "ProcedureName": "cover-only",
                        "OutputConfig": {"MediaName": "tail", "ExpireTime": "2099-01-01T00:00:00Z"},
                    },
                ],
                "SessionContext": "split-ctx",
            }
        )
    )
    task_id = str(server.vod().SplitMedia(req).TaskId)
    assert f"{app}-SplitMedia-" in task_id
    detail = _finished(server, app, task_id)
    assert detail["TaskType"] == "SplitMedia"
    task = detail["SplitMediaTask"]
    assert (task["Status"], task["ErrCodeExt"], task["Progress"]) == ("FINISH", "", 100)
    first, second = task["FileInfoSet"]
    assert first["Input"]["EndTimeOffset"] == 1.0 and second["Input"]["StartTimeOffset"] == -1.0
    assert first["Output"]["MediaBasicInfo"]["Name"] == "long_1"
    assert second["Output"]["MediaBasicInfo"]["Name"] == "tail"
    assert second["Output"]["MediaBasicInfo"]["ExpireTime"] == "2099-01-01T00:00:00Z"
    assert first["ProcedureTaskId"] == "" and second["ProcedureTaskId"]
    # 1 s each at 25 fps, the source's size.
    for n, info in enumerate((first, second)):
        url = info["Output"]["MediaBasicInfo"]["MediaUrl"]
        assert _frames(server, url, f"seg{n}.mp4") == (320, 240, 25)
    flow = _finished(server, app, second["ProcedureTaskId"])
    assert flow["ProcedureTask"]["FileId"] == second["Output"]["FileId"]
    kinds = {e["EventType"]: e for e in _pull_all(server, app, want=2)}
    event = kinds["SplitMediaComplete"]["SplitMediaCompleteEvent"]
    assert event["TaskId"] == task_id and event["SessionContext"] == "split-ctx"
    assert [i["Output"]["FileId"] for i in event["FileInfoSet"]] == [
        first["Output"]["FileId"],
        second["Output"]["FileId"],
    ]


def test_bad_input(server: ServerProcess, app: int, source: Path) -> None:
    file_id = upload(server, source, SubAppId=app)["FileId"]

    def code(segments: list[dict[str, Any]], **params: Any) -> str:
        body = {"SubAppId": app, "FileId": file_id, "Segments": segments}
        return call_code(server, "SplitMedia", body | params)

    assert code([{}], FileId="1234567890") == "InvalidParameterValue.FileId"
    assert code([]) == "MissingParameter"
    assert code([{"StartTimeOffset": 4}]) == "InvalidParameterValue.StartTimeOffset"
    assert code([{"StartTimeOffset": -4}]) == "InvalidParameterValue.StartTimeOffset"
    assert code([{"StartTimeOffset": 2, "EndTimeOffset": 1}]) == (
        "InvalidParameterValue.EndTimeOffset"
    )
    assert code([{"StartTimeOffset": 1, "EndTimeOffset": -2.5}]) == (
        "InvalidParameterValue.EndTimeOffset"
    )
    assert code([{"ProcedureName": "nope"}]) == "InvalidParameterValue.ProcedureName"
    assert code([{"OutputConfig": {"ClassId": 424242}}]) == "InvalidParameterValue.ClassId"
    assert code([{"OutputConfig": {"Type": "hls"}}]) == "UnsupportedOperation"
    assert code([{}] * 101) == "InvalidParameterValue"
