"""Every fault kind, through the official SDK against a real `vodflow serve --faults`:
what the application sees (DescribeTaskDetail, PULL events, PUSH requests on a real
receiver, API errors) is what Tencent would send, and the FiredSet says what fired.

Each test works in an application of its own, so rules and events never cross."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.vod.v20180717 import models

from tests.events_support import Receiver, receiver
from tests.flows_support import wait_until
from tests.mediagen import make_video
from tests.servers import ServerProcess
from tests.uploadkit import apply, put, upload
from vodflow.receiver import InvalidCallback, verify

pytestmark = pytest.mark.e2e

SIGN_KEY = "faultsSignKey1"
TRANSCODE = {"Definition": 100010}
SNAPSHOT = {"Definition": 10, "ExtTimeOffsetSet": ["1s"]}


@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    # By environment, so that a scaled deployment's worker (which runs the subtasks)
    # has faults enabled too (VODFLOW_TEST_DEPLOYMENT=scaled).
    env = {"VODFLOW_FAULTS": "1", "VODFLOW_PUSH_SCHEDULE": "1,1,1,1,1", "VODFLOW_PULL_WAIT_S": "1"}
    srv = ServerProcess(tmp_path_factory.mktemp("faults"), env=env)
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_video(tmp_path_factory.mktemp("clip") / "clip.mp4", duration=2.0)


_apps = iter(range(1, 1000))


def new_app(server: ServerProcess, **events: str) -> int:
    """An application of the test's own, with this event configuration."""
    app = int(server.call("CreateSubAppId", {"Name": f"faults-{next(_apps)}"})["SubAppId"])
    if events:
        server.call("ModifyEventConfig", {"SubAppId": app, **events})
    return app


def pull_app(server: ServerProcess) -> int:
    return new_app(server, Mode="PULL", UploadMediaCompleteEventSwitch="ON")


def push_app(server: ServerProcess, rec: Receiver) -> int:
    return new_app(
        server,
        Mode="PUSH",
        NotificationUrl=rec.url,
        SignKey=SIGN_KEY,
        UploadMediaCompleteEventSwitch="ON",
    )


def rule(server: ServerProcess, app: int, **params: Any) -> str:
    return str(server.call("CreateFaultRule", {"SubAppId": app, **params})["RuleId"])


def described(server: ServerProcess, app: int) -> dict[str, Any]:
    return server.call("DescribeFaultRules", {"SubAppId": app})


def fired(server: ServerProcess, app: int) -> list[dict[str, Any]]:
    return list(described(server, app)["FiredSet"])


def wait_fired(server: ServerProcess, app: int, n: int = 1) -> list[dict[str, Any]]:
    return list(
        wait_until(lambda: described(server, app), lambda d: len(d["FiredSet"]) >= n, 120)[
            "FiredSet"
        ]
    )


def logs(server: ServerProcess) -> str:
    """The server's log, and its worker's when scaled (where subtasks run)."""
    paths = [server.log_path, *(getattr(c, "log_path", None) for c in server.companions)]
    return "".join(p.read_text(errors="replace") for p in paths if p is not None)


def upload_clip(server: ServerProcess, app: int, clip: Path) -> str:
    return str(upload(server, clip, SubAppId=app)["FileId"])


def process(server: ServerProcess, app: int, file_id: str, mpt: dict[str, Any]) -> str:
    req = models.ProcessMediaRequest()
    req.from_json_string(json.dumps({"FileId": file_id, "SubAppId": app, "MediaProcessTask": mpt}))
    return str(server.vod().ProcessMedia(req).TaskId)


def detail(server: ServerProcess, app: int, task_id: str) -> dict[str, Any]:
    req = models.DescribeTaskDetailRequest()
    req.from_json_string(json.dumps({"TaskId": task_id, "SubAppId": app}))
    return dict(json.loads(server.vod().DescribeTaskDetail(req).to_json_string()))


def finished(server: ServerProcess, app: int, task_id: str) -> dict[str, Any]:
    got = wait_until(lambda: detail(server, app, task_id), lambda d: d["Status"] == "FINISH", 300)
    return dict(got["ProcedureTask"])


def results(task: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """MediaProcessResultSet by Type: the *Task object of each."""
    out = {}
    for r in task["MediaProcessResultSet"]:
        body = next(v for k, v in r.items() if k.endswith("Task") and isinstance(v, dict))
        out[r["Type"]] = body
    return out


def pull(server: ServerProcess, app: int) -> list[dict[str, Any]]:
    return list(server.call("PullEvents", {"SubAppId": app})["EventSet"])


def pull_until(server: ServerProcess, app: int, timeout: float = 120) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if got := pull(server, app):
            return got
    raise AssertionError("no event to pull")


def confirm(server: ServerProcess, app: int, handles: list[str]) -> None:
    server.call("ConfirmEvents", {"SubAppId": app, "EventHandles": handles})


def refused(fn: Any, *args: Any) -> TencentCloudSDKException:
    with pytest.raises(TencentCloudSDKException) as info:
        fn(*args)
    return info.value


def task_event(server: ServerProcess, app: int, task_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        for e in pull(server, app):
            confirm(server, app, [e["EventHandle"]])
            ev = e.get("ProcedureStateChangeEvent") or {}
            if ev.get("TaskId") == task_id and ev.get("Status") == "FINISH":
                return dict(ev)
    raise AssertionError("no FINISH event")


# ---------------------------------------------------------------- subtasks


@pytest.mark.slow
def test_subtask_fail_is_what_the_app_sees(faulty: ServerProcess, clip: Path) -> None:
    app = pull_app(faulty)
    file_id = upload_clip(faulty, app, clip)
    rule_id = rule(
        faulty,
        app,
        Kind="SubtaskFail",
        SubtaskKind="SnapshotByTimeOffset",
        FileId=file_id,
        ErrCodeExt="SourceFileError.ContentMalformed",
        Message="The source file is damaged.",
        Count=1,
    )
    mpt = {"TranscodeTaskSet": [TRANSCODE], "SnapshotByTimeOffsetTaskSet": [SNAPSHOT]}
    task_id = process(faulty, app, file_id, mpt)
    got = results(finished(faulty, app, task_id))
    snap = got["SnapshotByTimeOffset"]
    assert (snap["Status"], snap["ErrCode"], snap["ErrCodeExt"], snap["Message"]) == (
        "FAIL",
        60000,
        "SourceFileError.ContentMalformed",
        "The source file is damaged.",
    )
    assert not snap.get("Output")
    assert got["Transcode"]["Status"] == "SUCCESS"  # the rule matched one kind only
    # The event carries the same failure.
    event = task_event(faulty, app, task_id)
    snap_ev = results(event)["SnapshotByTimeOffset"]
    assert (snap_ev["Status"], snap_ev["ErrCode"], snap_ev["ErrCodeExt"]) == (
        "FAIL",
        60000,
        "SourceFileError.ContentMalformed",
    )
    assert "fault" not in json.dumps(event).lower()  # nothing of the rule leaks
    (one,) = fired(faulty, app)
    assert (one["RuleId"], one["Kind"], one["TaskId"], one["FileId"]) == (
        rule_id,
        "SubtaskFail",
        task_id,
        file_id,
    )
    assert one["SubtaskKind"] == "SnapshotByTimeOffset" and one["Definition"] == 10
    assert described(faulty, app)["RuleSet"][0]["RemainingCount"] == 0
    assert f"fault SubtaskFail fired (rule {rule_id}" in logs(faulty)
    # Count=1: the next flow of the same file succeeds (the fault was the only cause).
    again = results(finished(faulty, app, process(faulty, app, file_id, mpt)))
    assert again["SnapshotByTimeOffset"]["Status"] == "SUCCESS"
    assert again["SnapshotByTimeOffset"]["ErrCode"] == 0


@pytest.mark.slow
def test_subtask_fail_of_one_rendition_of_a_shared_decode(
    faulty: ServerProcess, clip: Path
) -> None:
    # Transcodes of one clip window are claimed together (one decode for all): the
    # rule fails the one Definition it names, the other rendition is made.
    app = new_app(faulty)
    file_id = upload_clip(faulty, app, clip)
    rule(faulty, app, Kind="SubtaskFail", Definition=100020, ErrCode=40000)
    mpt = {"TranscodeTaskSet": [{"Definition": 100010}, {"Definition": 100020}]}
    task = finished(faulty, app, process(faulty, app, file_id, mpt))
    got = {
        r["TranscodeTask"]["Input"]["Definition"]: r["TranscodeTask"]
        for r in task["MediaProcessResultSet"]
    }
    assert got[100010]["Status"] == "SUCCESS" and got[100010]["Output"]["Url"]
    assert (got[100020]["Status"], got[100020]["ErrCode"], got[100020]["ErrCodeExt"]) == (
        "FAIL",
        40000,
        "InvalidInput",
    )
    info = faulty.call("DescribeMediaInfos", {"FileIds": [file_id], "SubAppId": app})
    outputs = info["MediaInfoSet"][0]["TranscodeInfo"]["TranscodeSet"]
    assert [o["Definition"] for o in outputs if o["Definition"] != 0] == [100010]


@pytest.mark.slow
def test_subtask_stall_holds_progress_then_finishes(faulty: ServerProcess, clip: Path) -> None:
    app = new_app(faulty)
    file_id = upload_clip(faulty, app, clip)
    rule(faulty, app, Kind="SubtaskStall", SubtaskKind="Transcode", Progress=42, Seconds=6)
    task_id = process(faulty, app, file_id, {"TranscodeTaskSet": [TRANSCODE]})

    def stalled(d: dict[str, Any]) -> bool:
        body = results(d["ProcedureTask"])["Transcode"]
        return bool(body["Status"] == "PROCESSING" and body["Progress"] == 42)

    wait_until(lambda: detail(faulty, app, task_id), stalled, 120, every=0.2)
    done = results(finished(faulty, app, task_id))["Transcode"]
    assert (done["Status"], done["Progress"]) == ("SUCCESS", 100)
    assert fired(faulty, app)[0]["Kind"] == "SubtaskStall"


@pytest.mark.slow
def test_subtask_slow_adds_time(faulty: ServerProcess, clip: Path) -> None:
    app = new_app(faulty)
    file_id = upload_clip(faulty, app, clip)
    rule(faulty, app, Kind="SubtaskSlow", SubtaskKind="SnapshotByTimeOffset", Seconds=4)
    task_id = process(faulty, app, file_id, {"SnapshotByTimeOffsetTaskSet": [SNAPSHOT]})
    body = results(finished(faulty, app, task_id))["SnapshotByTimeOffset"]
    assert body["Status"] == "SUCCESS"
    took = _ts(body["FinishTime"]) - _ts(body["BeginProcessTime"])
    assert took >= 3  # at least the 4 s added (times are whole seconds)
    assert fired(faulty, app)[0]["Kind"] == "SubtaskSlow"


def _ts(iso: str) -> float:
    from datetime import datetime

    return datetime.strptime(iso, "%Y-%m-%dT%H:%M:%SZ").timestamp()


# ---------------------------------------------------------------- uploads and the API


def test_commit_upload_fail_then_retry(faulty: ServerProcess, clip: Path) -> None:
    app = new_app(faulty)
    rule(faulty, app, Kind="CommitUploadFail", Code="InternalError", Count=1)
    applied = apply(faulty, SubAppId=app)
    put(faulty, applied, clip, multipart=False)
    req = models.CommitUploadRequest()
    req.VodSessionKey, req.SubAppId = applied["VodSessionKey"], app
    err = refused(faulty.vod().CommitUpload, req)
    assert err.code == "InternalError"
    # The session is untouched: the app's retry commits it.
    assert faulty.vod().CommitUpload(req).FileId
    assert [f["Kind"] for f in fired(faulty, app)] == ["CommitUploadFail"]


def test_pull_upload_fail(faulty: ServerProcess) -> None:
    app = new_app(faulty)
    rule(faulty, app, Kind="PullUploadFail", Code="RequestLimitExceeded", Count=1)
    req = models.PullUploadRequest()
    req.MediaUrl, req.SubAppId = "http://127.0.0.1:9/clip.mp4", app
    assert refused(faulty.vod().PullUpload, req).code == "RequestLimitExceeded"
    assert faulty.vod().PullUpload(req).TaskId
    assert [f["Kind"] for f in fired(faulty, app)] == ["PullUploadFail"]


def test_pull_upload_task_fails_with_err_code(faulty: ServerProcess) -> None:
    # With ErrCode instead of Code, the call succeeds and the task fails, as a pull of
    # an unreachable source does: DescribeTaskDetail and PullComplete carry it.
    app = new_app(faulty, Mode="PULL")
    rule(faulty, app, Kind="PullUploadFail", ErrCode=40000, Message="Fetch failed.", Count=1)
    task_id = faulty.call(
        "PullUpload", {"SubAppId": app, "MediaUrl": "http://127.0.0.1:9/clip.mp4"}
    )["TaskId"]
    got = wait_until(
        lambda: faulty.call("DescribeTaskDetail", {"SubAppId": app, "TaskId": task_id}),
        lambda d: d["Status"] == "FINISH",
        120,
    )
    assert (got["PullUploadTask"]["ErrCode"], got["PullUploadTask"]["Message"]) == (
        40000,
        "Fetch failed.",
    )
    (event,) = pull_until(faulty, app)
    assert event["EventType"] == "PullComplete"
    assert (event["PullCompleteEvent"]["ErrCode"], event["PullCompleteEvent"]["TaskId"]) == (
        40000,
        task_id,
    )
    assert fired(faulty, app)[0]["TaskId"] == task_id


def test_api_error_for_chosen_actions(faulty: ServerProcess) -> None:
    app = new_app(faulty)
    rule(faulty, app, Kind="ApiError", Action="DescribeEventConfig", Code="RequestLimitExceeded")
    req = models.DescribeEventConfigRequest()
    req.SubAppId = app
    for _ in range(3):  # no Count: every call
        err = refused(faulty.vod().DescribeEventConfig, req)
        assert err.code == "RequestLimitExceeded" and err.requestId
    search = models.SearchMediaRequest()
    search.SubAppId = app
    assert faulty.vod().SearchMedia(search).TotalCount == 0  # other actions answer
    assert [f["Action"] for f in fired(faulty, app)] == ["DescribeEventConfig"] * 3
    # Fault actions themselves never fail by a rule.
    rule(faulty, app, Kind="ApiError", Code="InternalError")
    assert described(faulty, app)["TotalCount"] == 2


def test_count_fires_exactly_n_times(faulty: ServerProcess) -> None:
    app = new_app(faulty)
    rule(faulty, app, Kind="ApiError", Action="DescribeEventConfig", Code="InternalError", Count=2)
    outcomes = [_fails(faulty, app) for _ in range(5)]
    assert outcomes == [True, True, False, False, False]
    (r,) = described(faulty, app)["RuleSet"]
    assert (r["RemainingCount"], r["FiredCount"]) == (0, 2)


def test_seeded_probability_is_deterministic(faulty: ServerProcess) -> None:
    app = new_app(faulty)
    runs = []
    for _ in range(2):
        faulty.call("DeleteFaultRules", {"SubAppId": app})
        rule(faulty, app, Kind="ApiError", Action="DescribeEventConfig", Probability=0.5, Seed=7)
        runs.append([_fails(faulty, app) for _ in range(24)])
    rng = random.Random(7)
    assert runs[0] == runs[1] == [rng.random() < 0.5 for _ in range(24)]
    assert 0 < sum(runs[0]) < 24
    # Count and Probability together: at most Count firings, drawn the same way.
    faulty.call("DeleteFaultRules", {"SubAppId": app})
    rule(
        faulty, app, Kind="ApiError", Action="DescribeEventConfig", Probability=0.5, Seed=7, Count=3
    )
    rng = random.Random(7)
    want, left = [], 3
    for _ in range(24):
        hit = left > 0 and rng.random() < 0.5
        left -= hit
        want.append(hit)
    assert [_fails(faulty, app) for _ in range(24)] == want


def test_expiry(faulty: ServerProcess) -> None:
    app = new_app(faulty)
    rule(faulty, app, Kind="ApiError", Action="DescribeEventConfig", ExpireSeconds=600)
    assert _fails(faulty, app)
    faulty.call("DeleteFaultRules", {"SubAppId": app})
    rule(faulty, app, Kind="ApiError", Action="DescribeEventConfig", ExpireSeconds=1)
    time.sleep(1.5)
    assert not _fails(faulty, app)
    assert fired(faulty, app) == []


def _fails(server: ServerProcess, app: int) -> bool:
    try:
        server.call("DescribeEventConfig", {"SubAppId": app})
    except TencentCloudSDKException:
        return True
    return False


# ---------------------------------------------------------------- PULL


def test_pull_duplicate_hands_the_event_out_twice(faulty: ServerProcess, clip: Path) -> None:
    app = pull_app(faulty)
    rule(faulty, app, Kind="PullDuplicate", EventType="NewFileUpload", Count=1)
    file_id = upload_clip(faulty, app, clip)
    (first,) = pull_until(faulty, app)
    confirm(faulty, app, [first["EventHandle"]])
    (second,) = pull(faulty, app)
    assert second == first  # the very same event, handle and all
    assert second["FileUploadEvent"]["FileId"] == file_id
    confirm(faulty, app, [second["EventHandle"]])  # confirming twice is fine
    assert pull(faulty, app) == []
    assert fired(faulty, app)[0]["EventType"] == "NewFileUpload"


def test_pull_handle_expires_early(faulty: ServerProcess, clip: Path) -> None:
    app = pull_app(faulty)
    rule(faulty, app, Kind="PullHandleExpire", Count=1)
    upload_clip(faulty, app, clip)
    (first,) = pull_until(faulty, app)
    req = models.ConfirmEventsRequest()
    req.EventHandles, req.SubAppId = [first["EventHandle"]], app
    err = refused(faulty.vod().ConfirmEvents, req)
    assert err.code == "InvalidParameterValue" and "expired" in err.message
    # The event comes back with a new handle, which confirms.
    (again,) = pull_until(faulty, app)
    assert again["EventHandle"] != first["EventHandle"]
    assert again["FileUploadEvent"] == first["FileUploadEvent"]
    confirm(faulty, app, [again["EventHandle"]])
    assert pull(faulty, app) == []


# ---------------------------------------------------------------- PUSH


def _file_ids(bodies: list[dict[str, Any]]) -> list[str]:
    return [b["FileUploadEvent"]["FileId"] for b in bodies]


def test_push_duplicate(faulty: ServerProcess, clip: Path) -> None:
    with receiver() as rec:
        app = push_app(faulty, rec)
        rule(faulty, app, Kind="PushDuplicate", NotificationUrl=rec.url)
        file_id = upload_clip(faulty, app, clip)
        wait_until(lambda: {"n": len(rec.bodies)}, lambda d: d["n"] >= 2, 120)
        a, b = rec.attempts[:2]
        assert a["body"] == b["body"]  # the very same request, Sign and all
        assert verify(b["body"], SIGN_KEY)["FileUploadEvent"]["FileId"] == file_id
        assert a["headers"]["x-vodflow-event-id"] == b["headers"]["x-vodflow-event-id"]


def test_push_bad_sign_then_good_retry(faulty: ServerProcess, clip: Path) -> None:
    with receiver(script=[401]) as rec:  # the app rejects the bad Sign
        app = push_app(faulty, rec)
        rule(faulty, app, Kind="PushBadSign", Count=1)
        upload_clip(faulty, app, clip)
        wait_until(lambda: {"n": len(rec.bodies)}, lambda d: d["n"] >= 1, 120)
        bad, good = rec.attempts[0]["body"], rec.attempts[1]["body"]
        assert set(bad) == set(good)  # a normal push, T and Sign included
        with pytest.raises(InvalidCallback, match="Sign"):
            verify(bad, SIGN_KEY)
        verify(good, SIGN_KEY)


def test_push_drop(faulty: ServerProcess, clip: Path) -> None:
    with receiver() as rec:
        app = push_app(faulty, rec)
        rule(faulty, app, Kind="PushDrop", Count=1)
        dropped = upload_clip(faulty, app, clip)
        wait_fired(faulty, app)
        kept = upload_clip(faulty, app, clip)
        rec.got_one.wait(120)
        wait_until(lambda: {"n": len(rec.bodies)}, lambda d: d["n"] >= 1, 120)
        assert _file_ids(rec.bodies) == [kept]
        assert dropped not in json.dumps(rec.attempts)
        assert fired(faulty, app)[0]["FileId"] == dropped


def test_push_delay(faulty: ServerProcess, clip: Path) -> None:
    with receiver() as rec:
        app = push_app(faulty, rec)
        rule(faulty, app, Kind="PushDelay", DelaySeconds=3)
        before = time.time()
        upload_clip(faulty, app, clip)
        wait_until(lambda: {"n": len(rec.bodies)}, lambda d: d["n"] >= 1, 120)
        assert rec.attempts[0]["at"] - before >= 3
        verify(rec.bodies[0], SIGN_KEY)


def test_push_reorder(faulty: ServerProcess, clip: Path) -> None:
    with receiver() as rec:
        app = push_app(faulty, rec)
        rule(faulty, app, Kind="PushReorder", Count=1, DelaySeconds=300)
        first = upload_clip(faulty, app, clip)
        wait_fired(faulty, app)
        second = upload_clip(faulty, app, clip)
        wait_until(lambda: {"n": len(rec.bodies)}, lambda d: d["n"] >= 2, 120)
        assert _file_ids(rec.bodies) == [second, first]
