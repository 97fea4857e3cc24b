"""EditMedia through the official SDK: the new media, its task, its events and bad input."""

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
from tests.servers import ServerProcess
from tests.uploadkit import upload

pytestmark = pytest.mark.e2e


@pytest.fixture
def app(server: ServerProcess) -> int:
    return int(server.call("CreateSubAppId", {"Name": f"edit-{time.time_ns()}"})["SubAppId"])


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("edit-e2e")
    return {
        "wide": mediagen.make_video(root / "wide.mp4", duration=2.0, width=640, height=360, fps=30),
        "small": mediagen.make_video(
            root / "small.mp4", duration=2.0, width=320, height=240, audio=False
        ),
        "mono": mediagen.make_video(
            root / "mono.mp4", duration=2.0, width=160, height=120, arate=44100, achannels=1
        ),
    }


def _edit(server: ServerProcess, params: dict[str, Any]) -> str:
    req = models.EditMediaRequest()
    req.from_json_string(json.dumps(params))
    return str(server.vod().EditMedia(req).TaskId)


def _finished(server: ServerProcess, app: int, task_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        detail = server.call("DescribeTaskDetail", {"SubAppId": app, "TaskId": task_id})
        if detail["Status"] == "FINISH":
            return detail
        time.sleep(0.2)
    raise AssertionError(f"{task_id} did not finish")


def _pull_all(
    server: ServerProcess, app: int, want: int, timeout: float = 120
) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while len(got) < want and time.monotonic() < deadline:
        events = server.call("PullEvents", {"SubAppId": app})["EventSet"]
        if events:
            server.call(
                "ConfirmEvents",
                {"SubAppId": app, "EventHandles": [e["EventHandle"] for e in events]},
            )
            got += events
    return got


def test_three_clips_make_a_new_media_with_its_procedure(
    server: ServerProcess, app: int, clips: dict[str, Path]
) -> None:
    ids = {k: upload(server, p, SubAppId=app, MediaName=k)["FileId"] for k, p in clips.items()}
    server.call("PullEvents", {"SubAppId": app})  # nothing yet but flows of uploads: none
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
    klass = server.call("CreateClass", {"SubAppId": app, "ParentId": -1, "ClassName": "edits"})
    task_id = _edit(
        server,
        {
            "SubAppId": app,
            "InputType": "File",
            "FileInfos": [
                {"FileId": ids["wide"], "StartTimeOffset": 0.5, "EndTimeOffset": 1.5},
                {"FileId": ids["small"], "StartTimeOffset": 0, "EndTimeOffset": 0.8},
                {"FileId": ids["mono"], "StartTimeOffset": 1.0},
            ],
            "OutputConfig": {
                "MediaName": "joined",
                "ClassId": klass["ClassId"],
                "ExpireTime": "2099-01-01T00:00:00Z",
                "VideoStream": {"Height": 180, "Fps": 20},
            },
            "ProcedureName": "cover-only",
            "SessionContext": "edit-ctx",
            "SessionId": f"edit-{time.time_ns()}",
            "TasksPriority": 3,
        },
    )
    assert f"{app}-EditMedia-" in task_id
    detail = _finished(server, app, task_id)
    assert detail["TaskType"] == "EditMedia"
    task = detail["EditMediaTask"]
    assert (task["Status"], task["ErrCode"], task["ErrCodeExt"]) == ("FINISH", 0, "")
    assert task["SessionContext"] == "edit-ctx"
    assert [f["FileId"] for f in task["Input"]["FileInfoSet"]] == list(ids.values())
    out = task["Output"]
    assert (out["FileType"], out["MediaName"], out["ClassId"]) == (
        "mp4",
        "joined",
        klass["ClassId"],
    )
    assert out["ExpireTime"] == "2099-01-01T00:00:00Z"
    assert task["ProcedureTaskId"]

    # The new media: in the library, in its class, 1.0 + 0.8 + 1.0 s long.
    info = server.call("DescribeMediaInfos", {"SubAppId": app, "FileIds": [out["FileId"]]})
    basic = info["MediaInfoSet"][0]["BasicInfo"]
    assert (basic["Name"], basic["ClassPath"]) == ("joined", "edits")
    assert basic["SourceInfo"]["SourceType"] == "VideoProcessing"
    assert abs(info["MediaInfoSet"][0]["MetaData"]["Duration"] - 2.8) < 0.1
    data = httpx.get(out["FileUrl"]).content
    path = Path(server.data_dir) / "edited.mp4"
    path.write_bytes(data)
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        assert (video.codec_context.width, video.codec_context.height) == (
            320,
            180,
        )  # the widest clip (16:9) is the base
        frames = sum(1 for _ in container.decode(video=0))
        assert abs(frames - 56) <= 1  # 2.8 s at 20 fps
    with av.open(str(path)) as container:
        audio = container.streams.audio[0]
        assert (audio.rate, audio.channels) == (48000, 2)

    # The procedure ran on the new media; both events arrive.
    flow = _finished(server, app, task["ProcedureTaskId"])
    assert flow["ProcedureTask"]["FileId"] == out["FileId"]
    events = _pull_all(server, app, want=2)
    kinds = {e["EventType"]: e for e in events}
    edit_event = kinds["EditMediaComplete"]["EditMediaCompleteEvent"]
    assert edit_event["TaskId"] == task_id and edit_event["Output"]["FileId"] == out["FileId"]
    assert edit_event["SessionContext"] == "edit-ctx"
    assert (
        kinds["ProcedureStateChanged"]["ProcedureStateChangeEvent"]["TaskId"]
        == (task["ProcedureTaskId"])
    )


def test_bad_input(server: ServerProcess, app: int, clips: dict[str, Path]) -> None:
    file_id = upload(server, clips["wide"], SubAppId=app)["FileId"]

    def code(**params: Any) -> str:
        body = {"SubAppId": app, "InputType": "File", "FileInfos": [{"FileId": file_id}]}
        return call_code(server, "EditMedia", body | params)

    def clip(**offsets: Any) -> list[dict[str, Any]]:
        return [{"FileId": file_id, **offsets}]

    assert code(FileInfos=[{"FileId": "1234567890"}]) == "InvalidParameterValue.FileId"
    assert code(FileInfos=clip(StartTimeOffset=5.0)) == "InvalidParameterValue.StartTimeOffset"
    assert code(FileInfos=clip(StartTimeOffset=-1)) == "InvalidParameterValue.StartTimeOffset"
    assert code(FileInfos=clip(StartTimeOffset=1.0, EndTimeOffset=0.5)) == (
        "InvalidParameterValue.EndTimeOffset"
    )
    assert code(FileInfos=[]) == "MissingParameter"
    assert code(InputType="Stream") == "UnsupportedOperation"
    assert code(StreamInfos=[{"StreamId": "s"}]) == "UnsupportedOperation"
    assert code(ProcedureName="nope") == "InvalidParameterValue.ProcedureName"
    assert code(OutputConfig={"ClassId": 424242}) == "InvalidParameterValue.ClassId"
    assert code(OutputConfig={"Type": "hls"}) == "UnsupportedOperation"
    assert code(OutputConfig={"TEHDConfig": {"Type": "TEHD-100"}}) == "UnsupportedOperation"
    assert code(OutputConfig={"VideoStream": {"Codec": "av1"}}) == "UnsupportedOperation"
    assert code(OutputConfig={"VideoStream": {"Bitrate": 64}}) == "InvalidParameterValue.Bitrate"
    assert code(OutputConfig={"ExpireTime": "2000-01-01T00:00:00Z"}) == (
        "InvalidParameterValue.ExpireTime"
    )
    assert code(Definition=30) == "InvalidParameterValue.Definition"
    assert code(TasksPriority=11) == "InvalidParameterValue"
    assert code(InputType="File", FileInfos=clip(), Foo=1) == "UnknownParameter"
    session = f"dup-{time.time_ns()}"
    _edit(server, {"SubAppId": app, "InputType": "File", "FileInfos": clip(), "SessionId": session})
    assert code(SessionId=session) == "InvalidParameterValue.SessionId"
