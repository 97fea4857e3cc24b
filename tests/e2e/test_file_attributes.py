"""DescribeFileAttributes through the official SDK: the task, its detail and its event."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

import pytest
from tencentcloud.vod.v20180717 import models

from tests import mediagen
from tests.assertions import call_code
from tests.events_support import receiver
from tests.servers import ServerProcess
from tests.uploadkit import upload
from vodflow.receiver import verify

pytestmark = pytest.mark.e2e

EVENT_KEYS = {
    "TaskId",
    "Status",
    "ErrCode",
    "ErrCodeExt",
    "Message",
    "Progress",
    "FileId",
    "Output",
    "SessionId",
    "SessionContext",
}


@pytest.fixture
def app(server: ServerProcess) -> int:
    return int(server.call("CreateSubAppId", {"Name": f"attrs-{time.time_ns()}"})["SubAppId"])


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("attrs") / "clip.mp4"
    mediagen.make_video(path, duration=0.5)
    return path


def _start(server: ServerProcess, app: int, file_id: str, **extra: Any) -> str:
    req = models.DescribeFileAttributesRequest()
    req.from_json_string(json.dumps({"SubAppId": app, "FileId": file_id, **extra}))
    return str(server.vod().DescribeFileAttributes(req).TaskId)


def _detail(server: ServerProcess, app: int, task_id: str) -> models.DescribeTaskDetailResponse:
    deadline = time.monotonic() + 60
    req = models.DescribeTaskDetailRequest()
    req.SubAppId, req.TaskId = app, task_id
    while time.monotonic() < deadline:
        detail = server.vod().DescribeTaskDetail(req)
        if detail.Status == "FINISH":
            return detail
        time.sleep(0.1)
    raise AssertionError(f"{task_id} did not finish")


def test_task_detail_and_pulled_event(server: ServerProcess, app: int, clip: Path) -> None:
    file_id = upload(server, clip, SubAppId=app)["FileId"]
    task_id = _start(server, app, file_id, SessionContext="ctx-1", SessionId=f"s-{time.time_ns()}")
    assert f"{app}-DescribeFileAttributes-" in task_id
    detail = _detail(server, app, task_id)
    assert detail.TaskType == "DescribeFileAttributes"
    task = detail.DescribeFileAttributesTask
    assert (task.TaskId, task.Status, task.ErrCode, task.Progress) == (task_id, "SUCCESS", 0, 100)
    assert task.FileId == file_id and task.SessionContext == "ctx-1"
    data = clip.read_bytes()
    assert task.Output.Md5 == hashlib.md5(data).hexdigest()
    assert task.Output.Sha1 == hashlib.sha1(data).hexdigest()

    # PULL: the event as the SDK reads it, with the keys of Tencent's model only.
    pulled = server.vod().PullEvents(_pull_req(app))
    (event,) = [e for e in pulled.EventSet if e.EventType == "DescribeFileAttributesComplete"]
    got = event.DescribeFileAttributesCompleteEvent
    assert (got.TaskId, got.Status, got.Output.Md5) == (task_id, "SUCCESS", task.Output.Md5)
    raw = server.call("DescribeEventDeliveries", {"SubAppId": app})
    assert "DescribeFileAttributesComplete" in {e["EventType"] for e in raw["EventDeliverySet"]}
    only = server.call(
        "DescribeEventDeliveries",
        {"SubAppId": app, "EventTypes": ["DescribeFileAttributesComplete"]},
    )
    assert [e["EventType"] for e in only["EventDeliverySet"]] == ["DescribeFileAttributesComplete"]


def _pull_req(app: int) -> models.PullEventsRequest:
    req = models.PullEventsRequest()
    req.SubAppId = app
    return req


def test_pushed_event(server: ServerProcess, app: int, clip: Path) -> None:
    file_id = upload(server, clip, SubAppId=app)["FileId"]
    with receiver() as rec:
        server.call(
            "ModifyEventConfig",
            {"SubAppId": app, "Mode": "PUSH", "NotificationUrl": rec.url, "SignKey": "Attr1"},
        )
        task_id = _start(server, app, file_id)
        deadline = time.monotonic() + 60
        while not rec.bodies:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        body = rec.bodies[0]
    verify(body, "Attr1")
    assert body["EventType"] == "DescribeFileAttributesComplete"
    event = body["DescribeFileAttributesCompleteEvent"]
    assert set(event) == EVENT_KEYS
    assert event["TaskId"] == task_id and event["SessionId"] == ""
    assert event["Output"]["Md5"] == hashlib.md5(clip.read_bytes()).hexdigest()


def test_bad_input(server: ServerProcess, app: int, clip: Path) -> None:
    file_id = upload(server, clip, SubAppId=app)["FileId"]

    def code(params: dict[str, Any]) -> str:
        return call_code(server, "DescribeFileAttributes", {"SubAppId": app, **params})

    assert code({}) == "MissingParameter"
    assert code({"FileId": "1234567890123456789"}) == "ResourceNotFound.FileNotExist"
    assert code({"FileId": file_id, "TasksPriority": 11}) == "InvalidParameterValue"
    assert code({"FileId": file_id, "SessionContext": "x" * 1001}) == (
        "InvalidParameterValue.SessionContextTooLong"
    )
    assert code({"FileId": file_id, "StreamInfos": []}) == "UnknownParameter"
    session = f"dup-{time.time_ns()}"
    _start(server, app, file_id, SessionId=session)
    assert code({"FileId": file_id, "SessionId": session}) == "InvalidParameterValue.SessionId"


def test_source_deleted_fails_the_task(server: ServerProcess, app: int, clip: Path) -> None:
    file_id = upload(server, clip, SubAppId=app)["FileId"]
    server.call(
        "DeleteMedia",
        {"SubAppId": app, "FileId": file_id, "DeleteParts": [{"Type": "OriginalFiles"}]},
    )
    task = _detail(server, app, _start(server, app, file_id)).DescribeFileAttributesTask
    assert (task.Status, task.ErrCodeExt, task.ErrCode) == ("FAIL", "SourceFileError", 60000)
    assert task.Output is None
