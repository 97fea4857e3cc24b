"""Task-flow actions through the official SDK: bad input of every kind, abort,
failing subtasks that never hang a flow, listings."""

from __future__ import annotations

import asyncio
import os
import random
import re
import struct
import subprocess
import sys
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import httpx
import pytest
from sqlalchemy import update

from tests.assertions import call_code as code_of
from tests.flows_support import add_media, wait_task
from tests.mediagen import make_audio_only, make_video
from tests.servers import SECRET_ID, SECRET_KEY, ServerProcess
from vodflow.app import build_services
from vodflow.store.schema import task_sessions

pytestmark = pytest.mark.e2e

MPT = {"TranscodeTaskSet": [{"Definition": 100010}]}


@pytest.fixture(scope="module")
def clip_id(server: ServerProcess, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = make_video(tmp_path_factory.mktemp("flows") / "clip.mp4", duration=3)
    return add_media(server, path)


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"MediaProcessTask": MPT}, "MissingParameter"),
        ({"FileId": 123, "MediaProcessTask": MPT}, "InvalidParameter"),
        ({"FileId": "1", "MediaProcessTask": "x"}, "InvalidParameter"),
        ({"FileId": "x" * 33, "MediaProcessTask": MPT}, "InvalidParameterValue.FileId"),
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
        == "InvalidParameterValue.ProcedureName"
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
        "InvalidParameterValue.InvalidOperationType"
    )
    assert code_of(server, "ManageTask", {"OperationType": "Abort"}) == "MissingParameter"
    assert code_of(server, "ManageTask", {"TaskId": 5, "OperationType": "Abort"}) == (
        "InvalidParameter"
    )
    assert code_of(server, "ManageTask", {"TaskId": "x" * 200, "OperationType": "Abort"}) == (
        "InvalidParameterValue.TaskId"
    )
    assert code_of(server, "DescribeTaskDetail", {"TaskId": "nope"}) == (
        "InvalidParameterValue.TaskId"
    )
    assert code_of(server, "DescribeTaskDetail", {}) == "MissingParameter"
    assert code_of(server, "DescribeTaskDetail", {"TaskId": ["a"]}) == "InvalidParameter"
    assert code_of(server, "DescribeTasks", {"Limit": 101}) == "InvalidParameterValue.Limit"
    assert code_of(server, "DescribeTasks", {"Limit": "five"}) == "InvalidParameter"
    assert code_of(server, "DescribeTasks", {"Status": "DONE"}) == "InvalidParameterValue.Status"
    assert code_of(server, "DescribeTasks", {"ScrollToken": "garbage!"}) == "InvalidParameterValue"
    assert code_of(server, "DescribeTasks", {"CreateTime": {"After": "yesterday"}}) == (
        "InvalidParameterValue"
    )
    assert code_of(server, "DescribeTasks", {"Sort": {"Field": "Name"}}) == (
        "InvalidParameterValue.Sort"
    )


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


CLI = [sys.executable, "-m", "vodflow.cli"]


def cli_env(server: ServerProcess) -> dict[str, str]:
    return {
        **os.environ,
        "VODFLOW_ENDPOINT": server.url,
        "VODFLOW_SECRET_ID": SECRET_ID,
        "VODFLOW_SECRET_KEY": SECRET_KEY,
    }


def test_cli_process_and_watch(server: ServerProcess, clip_id: str) -> None:
    env = cli_env(server)
    done = subprocess.run(
        [*CLI, "process", clip_id, "--transcode", "100010", "--cover", "10", "--watch"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    task_id = done.stdout.splitlines()[0].strip()
    assert "FINISH" in done.stdout and "Transcode 100010" in done.stderr
    watched = subprocess.run(
        [*CLI, "tasks", "watch", task_id, "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert watched.returncode == 0, watched.stderr
    assert '"Status": "FINISH"' in watched.stdout
    assert "Transcode 100010" in watched.stderr and "CoverBySnapshot 10" in watched.stderr
    bad = subprocess.run([*CLI, "process", clip_id], env=env, capture_output=True, text=True)
    assert bad.returncode != 0


# Every subtask type: tests/integration/test_flows.py checks the files; this checks
# what an application sees of them afterwards, through DescribeMediaInfos.
EVERY_TYPE = {
    "TranscodeTaskSet": [{"Definition": 100010}],
    "SnapshotByTimeOffsetTaskSet": [{"Definition": 10, "ExtTimeOffsetSet": ["1s"]}],
    "SampleSnapshotTaskSet": [{"Definition": 10}],
    "ImageSpriteTaskSet": [{"Definition": 10}],
    "AnimatedGraphicTaskSet": [{"Definition": 20000, "StartTimeOffset": 0, "EndTimeOffset": 2}],
    "AdaptiveDynamicStreamingTaskSet": [{"Definition": 10}],
    "CoverBySnapshotTaskSet": [{"Definition": 10, "PositionType": "Time", "PositionValue": 1}],
}
# MediaInfo section -> (its item list, the definition asked for above).
OUTPUT_SETS = {
    "TranscodeInfo": ("TranscodeSet", 100010),
    "SnapshotByTimeOffsetInfo": ("SnapshotByTimeOffsetSet", 10),
    "SampleSnapshotInfo": ("SampleSnapshotSet", 10),
    "ImageSpriteInfo": ("ImageSpriteSet", 10),
    "AnimatedGraphicsInfo": ("AnimatedGraphicsSet", 20000),
    "AdaptiveDynamicStreamingInfo": ("AdaptiveDynamicStreamingSet", 10),
}


def item_urls(item: dict[str, Any]) -> list[str]:
    """Every URL an output item of DescribeMediaInfos points at."""
    urls = [item[k] for k in ("Url", "WebVttUrl") if item.get(k)]
    urls += list(item.get("ImageUrlSet") or [])
    urls += [p["Url"] for p in item.get("PicInfoSet") or []]
    return urls


def test_outputs_appear_in_describe_media_infos(server: ServerProcess, tmp_path: Path) -> None:
    file_id = add_media(server, make_video(tmp_path / "every.mp4", duration=3), name="every")
    task_id = server.call(
        "ProcessMedia",
        {"FileId": file_id, "MediaProcessTask": EVERY_TYPE, "TasksNotifyMode": "None"},
    )["TaskId"]
    detail = wait_task(server, task_id)
    results = detail["ProcedureTask"]["MediaProcessResultSet"]
    bodies = {r["Type"]: next(v for k, v in r.items() if k != "Type") for r in results}
    assert all(b["Status"] == "SUCCESS" for b in bodies.values()), bodies

    (info,) = server.call("DescribeMediaInfos", {"FileIds": [file_id]})["MediaInfoSet"]
    for section, (item_set, definition) in OUTPUT_SETS.items():
        assert section in info, f"{section} missing from DescribeMediaInfos"
        (item,) = info[section][item_set]
        assert item["Definition"] == definition, section
        urls = item_urls(item)
        assert urls, f"{section} has no URL"
        for url in urls:
            r = httpx.get(url, timeout=30)
            assert r.status_code == 200 and r.content, (section, url, r.status_code)
    cover = bodies["CoverBySnapshot"]["Output"]["CoverUrl"]
    assert info["BasicInfo"]["CoverUrl"] == cover
    assert info["TranscodeInfo"]["TranscodeSet"][0]["Url"] == bodies["Transcode"]["Output"]["Url"]


def damage_video_data(path: Path) -> None:
    """Overwrite every byte of an MP4's mdat payload with noise, keeping the index
    (moov) intact: the file still probes as H.264 + AAC but cannot be decoded."""
    data = bytearray(path.read_bytes())
    offset = 0
    while offset < len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        if kind == b"mdat":
            noise = random.Random(4).randbytes(size - 8)
            with path.open("r+b") as f:  # in place, as disk damage would be
                f.seek(offset + 8)
                f.write(noise)
            return
        offset += size
    raise AssertionError("no mdat box")


def test_corrupt_source_fails_the_subtask(server: ServerProcess, tmp_path: Path) -> None:
    file_id = add_media(server, make_video(tmp_path / "ok.mp4", duration=3), name="damaged")
    (info,) = server.call("DescribeMediaInfos", {"FileIds": [file_id]})["MediaInfoSet"]
    key = unquote(urlparse(info["BasicInfo"]["MediaUrl"]).path.removeprefix("/vod/"))
    damage_video_data(server.settings().resolved_blob_dir / key)

    task_id = server.call("ProcessMedia", {"FileId": file_id, "MediaProcessTask": MPT})["TaskId"]
    detail = wait_task(server, task_id)
    assert detail["Status"] == "FINISH"
    (result,) = detail["ProcedureTask"]["MediaProcessResultSet"]
    body = result["TranscodeTask"]
    assert body["Status"] == "FAIL", body
    assert body["ErrCodeExt"] == "SourceFileError.ContentMalformed", body
    assert body["ErrCode"] == 60000 and body["Message"]


def move_session_back(server: ServerProcess, session_id: str, seconds: float) -> None:
    """Age a SessionId claim in the server's own database (the clock is not injectable)."""

    async def go() -> None:
        services = await build_services(server.settings())
        try:
            async with services.db.tx() as conn:
                await conn.execute(
                    update(task_sessions)
                    .where(task_sessions.c.session_id == session_id)
                    .values(create_time=task_sessions.c.create_time - seconds)
                )
        finally:
            await services.db.close()

    asyncio.run(go())


def test_session_id_works_again_after_three_days(server: ServerProcess, clip_id: str) -> None:
    params = {
        "FileId": clip_id,
        "MediaProcessTask": MPT,
        "SessionId": "three-days",
        "TasksNotifyMode": "None",
    }
    first = server.call("ProcessMedia", params)["TaskId"]
    move_session_back(server, "three-days", 3 * 24 * 3600 - 120)
    # Two minutes short of three days: still a repeat.
    assert code_of(server, "ProcessMedia", params) == "InvalidParameterValue.SessionId"
    move_session_back(server, "three-days", 240)
    second = server.call("ProcessMedia", params)["TaskId"]
    assert second != first
    # The new request starts a new three-day window.
    assert code_of(server, "ProcessMedia", params) == "InvalidParameterValue.SessionId"
    wait_task(server, first)
    assert wait_task(server, second)["ProcedureTask"]["SessionId"] == "three-days"


def test_describe_tasks_finish_time_range(server: ServerProcess, clip_id: str) -> None:
    task_id = server.call(
        "ProcessMedia", {"FileId": clip_id, "MediaProcessTask": MPT, "TasksNotifyMode": "None"}
    )["TaskId"]
    finished = wait_task(server, task_id)["FinishTime"]
    at = datetime.fromisoformat(finished.replace("Z", "+00:00"))

    def listed(after: datetime | None, before: datetime | None) -> set[str]:
        window = {}
        if after is not None:
            window["After"] = after.strftime("%Y-%m-%dT%H:%M:%SZ")
        if before is not None:
            window["Before"] = before.strftime("%Y-%m-%dT%H:%M:%SZ")
        page = server.call("DescribeTasks", {"FileId": clip_id, "Limit": 100, "FinishTime": window})
        return {t["TaskId"] for t in page["TaskSet"]}

    second = timedelta(seconds=1)
    assert task_id in listed(at, at + second)
    assert task_id in listed(at - second, None)
    assert task_id in listed(None, at + second)
    assert task_id not in listed(at + second, None)
    assert task_id not in listed(None, at)  # Before is exclusive
    assert task_id not in listed(at - 2 * second, at - second)


def test_cli_process_procedure_watch_draws_every_bar(server: ServerProcess, clip_id: str) -> None:
    name = f"cli-{uuid.uuid4().hex[:8]}"
    server.call(
        "CreateProcedureTemplate",
        {
            "Name": name,
            "MediaProcessTask": {
                "TranscodeTaskSet": [{"Definition": 100010}],
                "SnapshotByTimeOffsetTaskSet": [{"Definition": 10, "ExtTimeOffsetSet": ["1s"]}],
                "AnimatedGraphicTaskSet": [
                    {"Definition": 20000, "StartTimeOffset": 0, "EndTimeOffset": 1}
                ],
                "CoverBySnapshotTaskSet": [
                    {"Definition": 10, "PositionType": "Time", "PositionValue": 0}
                ],
            },
        },
    )
    done = subprocess.run(
        [*CLI, "process", clip_id, "--procedure", name, "--watch"],
        env=cli_env(server),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    task_id = done.stdout.splitlines()[0].strip()
    assert f"{task_id}: FINISH" in done.stdout
    for label in (
        "Transcode 100010",
        "SnapshotByTimeOffset 10",
        "AnimatedGraphics 20000",
        "CoverBySnapshot 10",
    ):
        assert re.search(rf"^{label}\b.*SUCCESS", done.stderr, re.M), (label, done.stderr)

    # Without --watch: the TaskId, and no bars.
    quiet = subprocess.run(
        [*CLI, "process", clip_id, "--procedure", name],
        env=cli_env(server),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert quiet.returncode == 0, quiet.stderr
    (quiet_id,) = quiet.stdout.split()
    assert "Transcode 100010" not in quiet.stderr
    wait_task(server, quiet_id)
