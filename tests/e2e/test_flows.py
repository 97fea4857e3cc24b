"""Task-flow actions through the official SDK: bad input of every kind, abort,
failing subtasks that never hang a flow, listings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from tests.flows_support import add_media, wait_task
from tests.mediagen import make_audio_only, make_video
from tests.servers import ServerProcess

MPT = {"TranscodeTaskSet": [{"Definition": 100010}]}


@pytest.fixture(scope="module")
def clip_id(server: ServerProcess, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = make_video(tmp_path_factory.mktemp("flows") / "clip.mp4", duration=3)
    return add_media(server, path)


def code_of(server: ServerProcess, action: str, params: dict[str, Any]) -> str:
    with pytest.raises(TencentCloudSDKException) as info:
        server.call(action, params)
    return str(info.value.get_code())


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"MediaProcessTask": MPT}, "MissingParameter"),
        ({"FileId": 123, "MediaProcessTask": MPT}, "InvalidParameter"),
        ({"FileId": "1", "MediaProcessTask": "x"}, "InvalidParameter"),
        ({"FileId": "x" * 33, "MediaProcessTask": MPT}, "InvalidParameterValue"),
        (
            {"FileId": "5285890784246869930", "MediaProcessTask": MPT},
            "ResourceNotFound.FileNotExist",
        ),
    ],
)
def test_process_media_bad_file(server: ServerProcess, params: dict, code: str) -> None:
    assert code_of(server, "ProcessMedia", params) == code


@pytest.mark.parametrize(
    ("extra", "code"),
    [
        ({"MediaProcessTask": {}}, "InvalidParameterValue"),
        ({}, "InvalidParameterValue"),
        (
            {
                "MediaProcessTask": {
                    "TranscodeTaskSet": [{"Definition": 100010}] * 60,
                    "SampleSnapshotTaskSet": [{"Definition": 10}] * 41,
                }
            },
            "InvalidParameterValue",
        ),
        (
            {"MediaProcessTask": {"TranscodeTaskSet": [{"Definition": 99999}]}},
            "InvalidParameterValue.Definition",
        ),
        ({"MediaProcessTask": {"TranscodeTaskSet": [{"Definition": "abc"}]}}, "InvalidParameter"),
        ({"MediaProcessTask": {"TranscodeTaskSet": [{}]}}, "MissingParameter"),
        (
            {"MediaProcessTask": {"TranscodeTaskSet": [{"Definition": 1}] * 101}},
            "InvalidParameterValue",
        ),
        ({"MediaProcessTask": MPT, "TasksPriority": 11}, "InvalidParameterValue"),
        ({"MediaProcessTask": MPT, "TasksPriority": "high"}, "InvalidParameter"),
        ({"MediaProcessTask": MPT, "TasksNotifyMode": "Sometimes"}, "InvalidParameterValue"),
        (
            {"MediaProcessTask": MPT, "SessionContext": "x" * 1001},
            "InvalidParameterValue.SessionContextTooLong",
        ),
        (
            {"MediaProcessTask": MPT, "SessionId": "x" * 51},
            "InvalidParameterValue.SessionIdTooLong",
        ),
        ({"MediaProcessTask": MPT, "SessionContext": "x" * 100000}, "InvalidParameterValue"),
        (
            {
                "MediaProcessTask": {
                    "CoverBySnapshotTaskSet": [
                        {"Definition": 10, "PositionType": "Middle", "PositionValue": 0}
                    ]
                }
            },
            "InvalidParameterValue",
        ),
    ],
)
def test_process_media_bad_input(
    server: ServerProcess, clip_id: str, extra: dict, code: str
) -> None:
    assert code_of(server, "ProcessMedia", {"FileId": clip_id, **extra}) == code


def test_session_id_dedup_and_context_echo(server: ServerProcess, clip_id: str) -> None:
    params = {
        "FileId": clip_id,
        "MediaProcessTask": MPT,
        "SessionId": "dedup-1",
        "SessionContext": "ctx ✓",
        "TasksNotifyMode": "None",
    }
    task_id = server.call("ProcessMedia", params)["TaskId"]
    assert code_of(server, "ProcessMedia", params) == "InvalidParameterValue.SessionId"
    detail = wait_task(server, task_id)
    task = detail["ProcedureTask"]
    assert (task["SessionId"], task["SessionContext"]) == ("dedup-1", "ctx ✓")
    assert task["TasksNotifyMode"] == "None"


def test_process_media_by_procedure(server: ServerProcess, clip_id: str) -> None:
    assert (
        code_of(server, "ProcessMediaByProcedure", {"FileId": clip_id, "ProcedureName": "nope"})
        == "InvalidParameterValue.ProcedureName"
    )
    assert code_of(server, "ProcessMediaByProcedure", {"FileId": clip_id}) == "MissingParameter"
    assert (
        code_of(server, "ProcessMediaByProcedure", {"FileId": clip_id, "ProcedureName": "x" * 65})
        == "InvalidParameterValue"
    )
    assert code_of(
        server,
        "ProcessMediaByProcedure",
        {"FileId": "1", "ProcedureName": "QCVB_SimpleProcessFile"},
    ) == ("ResourceNotFound.FileNotExist")
    task_id = server.call(
        "ProcessMediaByProcedure",
        {
            "FileId": clip_id,
            "ProcedureName": "QCVB_SimpleProcessFile",
            "TasksPriority": 5,
        },
    )["TaskId"]
    task = wait_task(server, task_id)["ProcedureTask"]
    assert task["TasksPriority"] == 5
    types = [r["Type"] for r in task["MediaProcessResultSet"]]
    assert types == ["Transcode", "Transcode", "Transcode", "CoverBySnapshot"]
    assert all(
        r[k]["Status"] == "SUCCESS" for r in task["MediaProcessResultSet"] for k in r if k != "Type"
    )


def test_manage_and_describe_bad_input(server: ServerProcess) -> None:
    assert code_of(server, "ManageTask", {"TaskId": "nope", "OperationType": "Abort"}) == (
        "InvalidParameterValue.TaskId"
    )
    assert code_of(server, "ManageTask", {"TaskId": "x", "OperationType": "Pause"}) == (
        "InvalidParameterValue"
    )
    assert code_of(server, "ManageTask", {"OperationType": "Abort"}) == "MissingParameter"
    assert code_of(server, "ManageTask", {"TaskId": 5, "OperationType": "Abort"}) == (
        "InvalidParameter"
    )
    assert code_of(server, "ManageTask", {"TaskId": "x" * 200, "OperationType": "Abort"}) == (
        "InvalidParameterValue"
    )
    assert code_of(server, "DescribeTaskDetail", {"TaskId": "nope"}) == (
        "InvalidParameterValue.TaskId"
    )
    assert code_of(server, "DescribeTaskDetail", {}) == "MissingParameter"
    assert code_of(server, "DescribeTaskDetail", {"TaskId": ["a"]}) == "InvalidParameter"
    assert code_of(server, "DescribeTasks", {"Limit": 101}) == "InvalidParameterValue"
    assert code_of(server, "DescribeTasks", {"Limit": "five"}) == "InvalidParameter"
    assert code_of(server, "DescribeTasks", {"Status": "DONE"}) == "InvalidParameterValue"
    assert code_of(server, "DescribeTasks", {"ScrollToken": "garbage!"}) == "InvalidParameterValue"
    assert code_of(server, "DescribeTasks", {"CreateTime": {"After": "yesterday"}}) == (
        "InvalidParameterValue"
    )
    assert code_of(server, "DescribeTasks", {"Sort": {"Field": "Name"}}) == "InvalidParameterValue"


def test_abort_finished_task_refused(server: ServerProcess, clip_id: str) -> None:
    task_id = server.call("ProcessMedia", {"FileId": clip_id, "MediaProcessTask": MPT})["TaskId"]
    assert wait_task(server, task_id)["Status"] == "FINISH"
    assert code_of(server, "ManageTask", {"TaskId": task_id, "OperationType": "Abort"}) == (
        "FailedOperation"
    )


def test_failing_subtasks_end_the_flow(server: ServerProcess, clip_id: str, tmp_path: Path) -> None:
    audio = add_media(server, make_audio_only(tmp_path / "tone.m4a"), name="tone")
    task_id = server.call(
        "ProcessMedia",
        {
            "FileId": audio,
            "MediaProcessTask": {
                "TranscodeTaskSet": [{"Definition": 100010}],
                "CoverBySnapshotTaskSet": [
                    {"Definition": 10, "PositionType": "Time", "PositionValue": 0}
                ],
            },
        },
    )["TaskId"]
    results = wait_task(server, task_id)["ProcedureTask"]["MediaProcessResultSet"]
    for r in results:
        body = r["TranscodeTask"] if r["Type"] == "Transcode" else r["CoverBySnapshotTask"]
        assert body["Status"] == "FAIL"
        assert body["ErrCodeExt"] == "SourceFileError.NoVideoMedia"
        assert body["ErrCode"] == 60000 and body["Message"]

    task_id = server.call(
        "ProcessMedia",
        {
            "FileId": clip_id,
            "MediaProcessTask": {
                "TranscodeTaskSet": [{"Definition": 100010, "StartTimeOffset": 50}],
                "SnapshotByTimeOffsetTaskSet": [{"Definition": 10, "ExtTimeOffsetSet": ["99s"]}],
                "CoverBySnapshotTaskSet": [
                    {"Definition": 10, "PositionType": "Time", "PositionValue": 30}
                ],
                "AnimatedGraphicTaskSet": [
                    {"Definition": 20000, "StartTimeOffset": 10, "EndTimeOffset": 12}
                ],
            },
        },
    )["TaskId"]
    detail = wait_task(server, task_id)
    assert detail["Status"] == "FINISH"
    for r in detail["ProcedureTask"]["MediaProcessResultSet"]:
        (body,) = [v for k, v in r.items() if k != "Type"]
        assert body["Status"] == "FAIL", r
        assert body["ErrCodeExt"] == "InvalidInput.InvalidTimeOffset", r
        assert body["ErrCode"] == 40000


def test_describe_tasks_filters_and_paging(server: ServerProcess, clip_id: str) -> None:
    ids = [
        server.call(
            "ProcessMedia", {"FileId": clip_id, "MediaProcessTask": MPT, "TasksNotifyMode": "None"}
        )["TaskId"]
        for _ in range(3)
    ]
    for task_id in ids:
        wait_task(server, task_id)
    seen: list[str] = []
    token = ""
    while True:
        params: dict[str, Any] = {"FileId": clip_id, "Limit": 2, "Status": "FINISH"}
        if token:
            params["ScrollToken"] = token
        page = server.call("DescribeTasks", params)
        assert len(page["TaskSet"]) <= 2
        seen += [t["TaskId"] for t in page["TaskSet"]]
        assert all(t["TaskType"] == "Procedure" and t["FileId"] == clip_id for t in page["TaskSet"])
        token = page["ScrollToken"]
        if not token:
            break
    assert set(ids) <= set(seen)
    assert len(seen) == len(set(seen))
    asc = server.call(
        "DescribeTasks",
        {"FileId": clip_id, "Limit": 100, "Sort": {"Field": "FinishTime", "Order": "Asc"}},
    )
    finishes = [t["FinishTime"] for t in asc["TaskSet"]]
    assert finishes == sorted(finishes)
    none = server.call(
        "DescribeTasks", {"FileId": clip_id, "CreateTime": {"After": "2999-01-01T00:00:00Z"}}
    )
    assert none["TaskSet"] == [] and none["ScrollToken"] == ""
    other_app = server.call("CreateSubAppId", {"Name": "other-flows"})["SubAppId"]
    assert server.call("DescribeTasks", {"SubAppId": other_app})["TaskSet"] == []
    assert code_of(server, "DescribeTaskDetail", {"TaskId": ids[0], "SubAppId": other_app}) == (
        "InvalidParameterValue.TaskId"
    )
    assert (
        code_of(
            server,
            "ProcessMedia",
            {"FileId": clip_id, "MediaProcessTask": MPT, "SubAppId": other_app},
        )
        == "ResourceNotFound.FileNotExist"
    )


def test_cli_process_and_watch(server: ServerProcess, clip_id: str) -> None:
    import os
    import subprocess
    import sys

    from tests.servers import SECRET_ID, SECRET_KEY

    env = {
        **os.environ,
        "VODFLOW_ENDPOINT": server.url,
        "VODFLOW_SECRET_ID": SECRET_ID,
        "VODFLOW_SECRET_KEY": SECRET_KEY,
    }
    cli = [sys.executable, "-m", "vodflow.cli"]
    done = subprocess.run(
        [*cli, "process", clip_id, "--transcode", "100010", "--cover", "10", "--watch"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    task_id = done.stdout.splitlines()[0].strip()
    assert "FINISH" in done.stdout and "Transcode 100010" in done.stderr
    watched = subprocess.run(
        [*cli, "tasks", "watch", task_id, "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert watched.returncode == 0, watched.stderr
    assert '"Status": "FINISH"' in watched.stdout
    bad = subprocess.run([*cli, "process", clip_id], env=env, capture_output=True, text=True)
    assert bad.returncode != 0
