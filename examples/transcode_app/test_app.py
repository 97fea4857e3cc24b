"""The example app against vodflow, through the vodflow pytest plugin only.

Each fault test makes vodflow misbehave as Tencent may (CreateFaultRule) and checks
the app copes; each asserts something that only happens because of its fault, so it
fails when the rule is removed (checked once by hand: docs/testing-your-app.md).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from examples.transcode_app.conftest import RunningApp
from vodflow.testing import Faults, VodflowApp


def post_video(app: RunningApp, clip: Path) -> int:
    answer = app.http.post("/videos", content=clip.read_bytes(), headers={"x-filename": "a.mp4"})
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


def wait_for(what: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not what():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_happy_path_by_push(example_app: RunningApp, vodflow_clip: Callable[..., Path]) -> None:
    video_id = post_video(example_app, vodflow_clip())
    video = example_app.wait_video(video_id, "READY")
    assert video["attempts"] == 1 and len(video["outputs"]) == 1  # type: ignore[arg-type]
    assert example_app.store.rejected == 0
    assert [t[2] for t in example_app.store.transitions] == ["READY"]


def test_happy_path_by_pull(
    example_app: RunningApp, vodflow_app: VodflowApp, vodflow_clip: Callable[..., Path]
) -> None:
    vodflow_app.call("ModifyEventConfig", {"Mode": "PULL"})
    video_id = post_video(example_app, vodflow_clip())

    def synced() -> bool:
        example_app.http.post("/vod/sync")
        return example_app.video(video_id)["status"] == "READY"

    wait_for(synced, timeout=120)
    assert example_app.store.callbacks == []


def test_failed_transcode_is_retried(
    example_app: RunningApp,
    vodflow_app: VodflowApp,
    faults: Faults,
    vodflow_clip: Callable[..., Path],
) -> None:
    faults.add(
        "SubtaskFail",
        SubtaskKind="Transcode",
        Count=1,
        ErrCode=70000,
        ErrCodeExt="InternalError",
        Message="injected",
    )
    video_id = post_video(example_app, vodflow_clip())
    video = example_app.wait_video(video_id, "READY")
    assert video["attempts"] == 2  # the first flow failed, the retry succeeded


def test_failed_transcode_twice_marks_the_video_failed(
    example_app: RunningApp,
    vodflow_app: VodflowApp,
    faults: Faults,
    vodflow_clip: Callable[..., Path],
) -> None:
    faults.add(
        "SubtaskFail",
        SubtaskKind="Transcode",
        Count=2,
        ErrCode=70000,
        ErrCodeExt="InternalError",
        Message="injected",
    )
    video_id = post_video(example_app, vodflow_clip())
    video = example_app.wait_video(video_id, "FAILED")
    assert video["attempts"] == 2 and "InternalError" in str(video["error"])


def test_callback_delivered_twice_is_handled_once(
    example_app: RunningApp,
    vodflow_app: VodflowApp,
    faults: Faults,
    vodflow_clip: Callable[..., Path],
) -> None:
    faults.add("PushDuplicate", EventType="ProcedureStateChanged", Count=1)
    video_id = post_video(example_app, vodflow_clip())
    example_app.wait_video(video_id, "READY")
    task_id = example_app.store.videos[video_id].task_id
    wait_for(lambda: example_app.store.callbacks.count((task_id, "FINISH")) == 2)
    assert [t[2] for t in example_app.store.transitions] == ["READY"]


def test_callback_with_a_bad_sign_is_rejected(
    example_app: RunningApp,
    vodflow_app: VodflowApp,
    faults: Faults,
    vodflow_clip: Callable[..., Path],
) -> None:
    faults.add("PushBadSign", EventType="ProcedureStateChanged", Count=1)
    video_id = post_video(example_app, vodflow_clip())
    # Refused (401), the retry is signed right and accepted.
    example_app.wait_video(video_id, "READY")
    assert example_app.store.rejected == 1


def test_throttled_api_calls_are_retried(
    example_app: RunningApp,
    vodflow_app: VodflowApp,
    faults: Faults,
    vodflow_clip: Callable[..., Path],
) -> None:
    faults.add("ApiError", Action="ProcessMediaByProcedure", Code="RequestLimitExceeded", Count=2)
    video_id = post_video(example_app, vodflow_clip())
    example_app.wait_video(video_id, "READY")
    assert example_app.service.vod.retries == 2


def test_receiver_outage_the_app_catches_up(
    example_app: RunningApp, vodflow_app: VodflowApp, vodflow_clip: Callable[..., Path]
) -> None:
    example_app.stop()  # the web process is down (its worker still uploads: the service)
    video = example_app.service.add(vodflow_clip())

    def refused_push() -> bool:
        deliveries = vodflow_app.call("DescribeEventDeliveries", {"Limit": 100})
        return any(
            d["EventType"] == "ProcedureStateChanged" and d["Attempts"] >= 1
            for d in deliveries["EventDeliverySet"]
        )

    wait_for(refused_push, 120)  # vodflow tried while the receiver was away
    assert example_app.store.callbacks == []
    example_app.start()  # back: a retried PUSH or its start-up reconcile catches up
    example_app.wait_video(video.id, "READY")
    assert [t[2] for t in example_app.store.transitions] == ["READY"]


def test_dropped_callbacks_are_caught_up_by_reconcile(
    example_app: RunningApp,
    vodflow_app: VodflowApp,
    faults: Faults,
    vodflow_clip: Callable[..., Path],
) -> None:
    faults.add("PushDrop", EventType="ProcedureStateChanged")
    video_id = post_video(example_app, vodflow_clip())
    task_id = example_app.store.videos[video_id].task_id
    wait_for(
        lambda: vodflow_app.call("DescribeTaskDetail", {"TaskId": task_id})["Status"] == "FINISH",
        120,
    )
    time.sleep(2)  # time enough for a callback that was not dropped
    assert example_app.video(video_id)["status"] == "PROCESSING"
    assert example_app.http.post("/vod/reconcile").json() == {"changed": 1}
    assert example_app.video(video_id)["status"] == "READY"
