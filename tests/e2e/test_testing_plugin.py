"""The pytest plugin (`vodflow.testing`), its context manager and `serve --ephemeral`,
used as an application's test suite uses them: the official SDKs, real FFmpeg clips."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tencentcloud.common.credential import EnvironmentVariableCredential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.vod.v20180717 import models
from tencentcloud.vod.v20180717.vod_client import VodClient

from vodflow.receiver import verify
from vodflow.testing import Faults, PullWaiter, PushReceiver, VodflowApp, VodflowServer, plugin

pytestmark = pytest.mark.e2e


def process_media(vod: VodClient, app: VodflowApp, file_id: str) -> str:
    """ProcessMedia (one Transcode, preset 100010) through the SDK's models: the TaskId."""
    req = models.ProcessMediaRequest()
    req.from_json_string(
        json.dumps(
            {
                "SubAppId": app.sub_app_id,
                "FileId": file_id,
                "MediaProcessTask": {"TranscodeTaskSet": [{"Definition": 100010}]},
            }
        )
    )
    return str(vod.ProcessMedia(req).TaskId)


def test_upload_process_and_wait_by_pull(
    vodflow_app: VodflowApp,
    vodflow_vod: VodClient,
    vodflow_clip: Callable[..., Path],
    vodflow_upload: Callable[..., dict[str, Any]],
    vodflow_events: PullWaiter,
) -> None:
    clip = vodflow_clip(seconds=1, width=96, height=64)
    file_id = vodflow_upload(clip)["FileId"]
    task_id = process_media(vodflow_vod, vodflow_app, file_id)
    event = vodflow_events.wait_for(task_id, status="FINISH", timeout=300)
    task = event["ProcedureStateChangeEvent"]
    assert event["EventType"] == "ProcedureStateChanged" and task["FileId"] == file_id
    (result,) = task["MediaProcessResultSet"]
    assert result["TranscodeTask"]["Status"] == "SUCCESS"
    # Read and confirmed: nothing left to pull.
    assert vodflow_app.call("DescribeEventsState")["CountOfEventsToPull"] == 0


def test_wait_by_push_with_a_sign_key(
    vodflow_app: VodflowApp,
    vodflow_vod: VodClient,
    vodflow_clip: Callable[..., Path],
    vodflow_upload: Callable[..., dict[str, Any]],
) -> None:
    receiver = vodflow_app.push_receiver(sign_key="pluginKey42")
    file_id = vodflow_upload(vodflow_clip())["FileId"]
    task_id = process_media(vodflow_vod, vodflow_app, file_id)
    event = receiver.wait_for(task_id, timeout=300)
    assert event["ProcedureStateChangeEvent"]["Status"] == "FINISH"
    delivery = receiver.deliveries[-1]
    assert verify(delivery.body, "pluginKey42")["EventType"] == "ProcedureStateChanged"


def test_the_push_receiver_plays_an_outage(
    vodflow_app: VodflowApp,
    vodflow_vod: VodClient,
    vodflow_clip: Callable[..., Path],
    vodflow_upload: Callable[..., dict[str, Any]],
    vodflow_push: PushReceiver,
) -> None:
    vodflow_push.answer = 503
    file_id = vodflow_upload(vodflow_clip())["FileId"]
    task_id = process_media(vodflow_vod, vodflow_app, file_id)
    with pytest.raises(AssertionError, match="no delivery"):
        vodflow_push.wait_for(task_id, timeout=2)
    vodflow_push.answer = 200
    # The test speed knobs retry a refused PUSH within seconds, not minutes.
    vodflow_push.wait_for(task_id, timeout=300)
    assert [d.answered for d in vodflow_push.deliveries][-1] == 200


def test_each_test_has_an_application_of_its_own(
    vodflow_server: VodflowServer,
    vodflow_app: VodflowApp,
    vodflow_clip: Callable[..., Path],
) -> None:
    other = vodflow_server.new_app("other")
    assert other.sub_app_id != vodflow_app.sub_app_id != vodflow_server.app_id
    vodflow_app.upload(vodflow_clip())
    assert vodflow_app.call("SearchMedia")["TotalCount"] == 1
    assert other.call("SearchMedia")["TotalCount"] == 0


def test_the_plugin_is_inert_until_a_fixture_is_used() -> None:
    """Auto-loaded in every pytest session that has vodflow installed (this project's
    own too): it must import nothing of vodflow, and add only vodflow_* names."""
    code = (
        "import sys, vodflow.testing.plugin as p; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('vodflow', 'tencentcloud', 'qcloud_cos', 'httpx', 'starlette')))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    # Only the plugin's own small modules (standard library): no SDK, no server code.
    assert [m for m in eval(loaded) if not m.startswith("vodflow.testing")] == ["vodflow"]
    fixtures = [n for n, v in vars(plugin).items() if type(v).__name__.startswith("Fixture")]
    assert fixtures and all(n.startswith("vodflow_") for n in fixtures)


def test_the_context_manager_outside_pytest() -> None:
    with VodflowServer(speed=False) as server:
        data_dir = Path(server.env["VODFLOW_DATA_DIR"])
        assert data_dir.is_dir()
        assert server.call("DescribeSubAppIds")["TotalCount"] >= 1
    assert not data_dir.exists()


def test_serve_ephemeral_print_env(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VODFLOW_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "vodflow.cli", "serve", "--ephemeral", "--print-env"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:
            lines.append(line.strip())
            if line.strip() == "VODFLOW_READY=1":
                break
        printed = dict(line.split("=", 1) for line in lines)
        assert printed["TENCENTCLOUD_SECRET_ID"] == printed["VODFLOW_SECRET_ID"]
        assert printed["VODFLOW_ENDPOINT"] == "http://" + printed["VODFLOW_HOST"]
        # Fresh credentials, found by the SDK's own environment lookup.
        os.environ["TENCENTCLOUD_SECRET_ID"] = printed["TENCENTCLOUD_SECRET_ID"]
        os.environ["TENCENTCLOUD_SECRET_KEY"] = printed["TENCENTCLOUD_SECRET_KEY"]
        try:
            cred = EnvironmentVariableCredential().get_credential()
        finally:
            del os.environ["TENCENTCLOUD_SECRET_ID"], os.environ["TENCENTCLOUD_SECRET_KEY"]
        profile = ClientProfile(
            httpProfile=HttpProfile(protocol="http", endpoint=printed["VODFLOW_HOST"])
        )
        vod = VodClient(cred, "", profile)
        answer = vod.DescribeEventConfig(models.DescribeEventConfigRequest())
        assert answer.Mode == "PULL"
        data_dir = Path(printed["VODFLOW_DATA_DIR"])
        assert (data_dir / "vodflow.db").exists()
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0
    assert not data_dir.exists()  # removed at exit


def test_the_faults_helper(vodflow_app: VodflowApp, vodflow_faults: Faults) -> None:
    if not vodflow_faults.available():
        pytest.skip("this vodflow has no fault actions (CreateFaultRule)")
    rule_id = vodflow_faults.add(
        "ApiError", Action="DescribeEventsState", Code="RequestLimitExceeded", Count=1
    )
    assert [r["RuleId"] for r in vodflow_faults.rules()] == [rule_id]
    with pytest.raises(TencentCloudSDKException) as refused:
        vodflow_app.call("DescribeEventsState")
    assert refused.value.get_code() == "RequestLimitExceeded"
    assert vodflow_app.call("DescribeEventsState")["CountOfEventsToPull"] == 0  # Count: 1
    assert [f["RuleId"] for f in vodflow_faults.fired()] == [rule_id]
    vodflow_faults.clear()
    assert vodflow_faults.rules() == [] and vodflow_faults.fired() == []


def test_a_killed_test_run_leaves_no_server_behind() -> None:
    script = (
        "import os; from vodflow.testing import VodflowServer; s = VodflowServer().start(); "
        "print(s.proc.pid, s.env['VODFLOW_DATA_DIR'], flush=True); os.kill(os.getpid(), 9)"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == -signal.SIGKILL
    pid, data_dir = done.stdout.split()
    deadline = time.monotonic() + 60
    while Path(f"/proc/{pid}").exists() or Path(data_dir).exists():
        assert time.monotonic() < deadline, "the server outlived the test run"
        time.sleep(0.1)


def test_cheap_media_writes_tiny_files_that_report_the_template_shape(
    vodflow_app: VodflowApp,
    vodflow_vod: VodClient,
    vodflow_clip: Callable[..., Path],
    vodflow_upload: Callable[..., dict[str, Any]],
    vodflow_events: PullWaiter,
    tmp_path: Path,
) -> None:
    """The plugin's server runs with VODFLOW_TEST_CHEAP_MEDIA=1: the file is tiny, the
    answers are what preset 100010 (360 on the short side) makes of a 640x360 source."""
    import av
    import httpx

    clip = vodflow_clip(seconds=1, width=640, height=360, fps=25)
    file_id = vodflow_upload(clip)["FileId"]
    task_id = process_media(vodflow_vod, vodflow_app, file_id)
    event = vodflow_events.wait_for(task_id, status="FINISH", timeout=300)
    (result,) = event["ProcedureStateChangeEvent"]["MediaProcessResultSet"]
    output = result["TranscodeTask"]["Output"]
    (tpl,) = vodflow_app.call("DescribeTranscodeTemplates", {"Definitions": [100010]})[
        "TranscodeTemplateSet"
    ]
    video_tpl = tpl["VideoTemplate"]
    fps = video_tpl["Fps"] or 25
    assert (output["Definition"], output["Width"], output["Height"]) == (100010, 640, 360)
    (stream,) = output["VideoStreamSet"]
    assert (stream["Width"], stream["Height"], stream["Fps"]) == (640, 360, fps)
    assert stream["Bitrate"] == video_tpl["Bitrate"] * 1000
    assert output["Container"].startswith("mov") and 0.9 <= output["Duration"] <= 1.2
    detail = vodflow_app.call("DescribeTaskDetail", {"TaskId": task_id})
    (described,) = detail["ProcedureTask"]["MediaProcessResultSet"]
    assert described["TranscodeTask"]["Output"] == output

    # The file behind the Url is the cheap one: real H.264, at most 64 px, 5 fps.
    local = tmp_path / "out.mp4"
    local.write_bytes(httpx.get(output["Url"], timeout=60).content)
    assert len(local.read_bytes()) == output["Size"]
    with av.open(str(local)) as container:
        video = container.streams.video[0]
        assert video.codec_context.name == "h264"
        assert max(video.width, video.height) <= 64 and (video.width, video.height) == (64, 36)
        frames = sum(1 for _ in container.decode(video=0))
    assert frames <= 7  # 5 fps over about a second (25 in normal mode)


def test_cheap_media_is_announced_by_the_banner_and_a_warning(
    vodflow_server: VodflowServer,
) -> None:
    assert vodflow_server.log_path is not None
    log = vodflow_server.log_path.read_text()
    assert "cheap media   ON: TEST ONLY" in log
    assert "WARNING vodflow: VODFLOW_TEST_CHEAP_MEDIA is on: TEST ONLY" in log
