"""Issue 11 through the official SDK: nothing accepted and silently dropped, and one
type rule. Each call below was answered SUCCESS before (the field dropped, or "5" read
as 5); now each answers the documented code naming the field."""

from __future__ import annotations

from typing import Any

import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.vod.v20180717 import models

from tests.flows_support import add_media
from tests.mediagen import make_video
from tests.servers import ServerProcess

pytestmark = pytest.mark.e2e


def error(server: ServerProcess, action: str, params: dict[str, Any]) -> tuple[str, str]:
    with pytest.raises(TencentCloudSDKException) as info:
        server.call(action, params)
    return str(info.value.get_code()), str(info.value.get_message())


@pytest.fixture(scope="module")
def clip_id(server: ServerProcess, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = make_video(tmp_path_factory.mktemp("fidelity") / "clip.mp4", duration=1)
    return add_media(server, path)


MPT = {"TranscodeTaskSet": [{"Definition": 100010}]}


@pytest.mark.parametrize(
    ("mpt", "field"),
    [
        ({"TranscodeTaskSet": [{"Definition": 100010, "MosaicSet": [{"Width": 10}]}]},
         "MediaProcessTask.TranscodeTaskSet.0.MosaicSet"),
        ({"TranscodeTaskSet": [{"Definition": 100010, "BlindWatermark": {"Definition": 1}}]},
         "MediaProcessTask.TranscodeTaskSet.0.BlindWatermark"),
        ({"TranscodeTaskSet": [{"Definition": 100010, "TraceWatermark": {"Switch": "ON"}}]},
         "MediaProcessTask.TranscodeTaskSet.0.TraceWatermark"),
        ({"AdaptiveDynamicStreamingTaskSet": [{"Definition": 10,
                                               "SubtitleInfoSet": [{"Definition": 1}]}]},
         "MediaProcessTask.AdaptiveDynamicStreamingTaskSet.0.SubtitleInfoSet"),
    ],
)  # fmt: skip
def test_media_extras_are_refused_in_flows_and_procedures(
    server: ServerProcess, clip_id: str, mpt: dict[str, Any], field: str
) -> None:
    for action, params in [
        ("ProcessMedia", {"FileId": clip_id, "MediaProcessTask": mpt}),
        ("CreateProcedureTemplate", {"Name": "fid-p", "MediaProcessTask": mpt}),
        ("ResetProcedureTemplate", {"Name": "QCVB_SimpleProcessFile", "MediaProcessTask": mpt}),
    ]:
        code, message = error(server, action, params)
        assert code == "UnsupportedOperation", (action, code, message)
        assert f"`{field}`" in message and "vodflow does not support" in message


@pytest.mark.parametrize(
    "task", ["AiRecognitionTask", "AiContentReviewTask", "AiAnalysisTask", "ReviewAudioVideoTask"]
)
def test_ai_and_review_tasks_are_refused(server: ServerProcess, clip_id: str, task: str) -> None:
    actions = ["CreateProcedureTemplate"]
    if task != "ReviewAudioVideoTask":
        actions.append("ProcessMedia")
    for action in actions:
        params = {"FileId": clip_id} if action == "ProcessMedia" else {"Name": "fid-ai"}
        code, message = error(
            server, action, {**params, "MediaProcessTask": MPT, task: {"Definition": 10}}
        )
        assert code == "UnsupportedOperation" and f"`{task}`" in message, (action, message)


def test_through_the_sdk_s_own_models(server: ServerProcess, clip_id: str) -> None:
    """What an app writes with the SDK's models is checked the same way: an unknown
    watermark template (SUCCESS before watermarks were refused, then refused by name)
    answers Tencent's code naming the watermarks."""
    vod = server.vod()
    req = models.ProcessMediaRequest()
    req.FileId = clip_id
    req.MediaProcessTask = models.MediaProcessTaskInput()
    item = models.TranscodeTaskInput()
    item.Definition = 100010
    mark = models.WatermarkInput()
    mark.Definition = 12345678  # an unknown watermark template was SUCCESS before
    item.WatermarkSet = [mark]
    req.MediaProcessTask.TranscodeTaskSet = [item]
    with pytest.raises(TencentCloudSDKException) as info:
        vod.ProcessMedia(req)
    assert info.value.get_code() == "InvalidParameterValue.Watermarks"
    assert "WatermarkSet.0.Definition" in info.value.get_message()


def test_persistence_events_on_is_refused_and_off_reads_back(server: ServerProcess) -> None:
    code, message = error(server, "ModifyEventConfig", {"PersistenceCompleteEventSwitch": "ON"})
    assert code == "UnsupportedOperation" and "PersistenceCompleteEventSwitch" in message
    server.call("ModifyEventConfig", {"PersistenceCompleteEventSwitch": "OFF"})
    assert server.call("DescribeEventConfig")["PersistenceCompleteEventSwitch"] == "OFF"


@pytest.mark.parametrize(
    ("action", "params", "field"),
    [
        ("DescribeTasks", {"Foo": 1}, "Foo"),
        ("ProcessMedia", {"FileId": "1", "MediaProcessTask": MPT, "TaskNotifyMode": "None"},
         "TaskNotifyMode"),
        ("ProcessMedia", {"FileId": "1", "MediaProcessTask": {"TranscodeTaskSet": [
            {"Definition": 100010, "Defintion": 20}]}},
         "MediaProcessTask.TranscodeTaskSet.0.Defintion"),
        ("DescribeTasks", {"Sort": {"Field": "CreateTime", "Ordr": "Asc"}}, "Sort.Ordr"),
    ],
)  # fmt: skip
def test_unknown_parameters_are_named(
    server: ServerProcess, action: str, params: dict[str, Any], field: str
) -> None:
    code, message = error(server, action, params)
    assert code == "UnknownParameter" and f"`{field}`" in message


@pytest.mark.parametrize(
    ("action", "params", "field"),
    [
        ("ProcessMedia", {"FileId": 123, "MediaProcessTask": MPT}, "FileId"),
        ("ProcessMedia", {"FileId": "1", "MediaProcessTask": MPT, "TasksPriority": "5"},
         "TasksPriority"),
        ("ProcessMedia", {"FileId": "1", "MediaProcessTask": {"TranscodeTaskSet": [
            {"Definition": "100010"}]}}, "MediaProcessTask.TranscodeTaskSet.0.Definition"),
        ("DescribeTasks", {"SubAppId": "1500000001"}, "SubAppId"),
        ("DescribeTasks", {"Limit": 5.0}, "Limit"),
        ("DescribeTasks", {"Limit": True}, "Limit"),
    ],
)  # fmt: skip
def test_strings_and_floats_for_integers_are_invalid_parameter(
    server: ServerProcess, action: str, params: dict[str, Any], field: str
) -> None:
    code, message = error(server, action, params)
    assert code == "InvalidParameter" and f"`{field}`" in message, message


def test_override_parameter_is_honoured_not_refused(server: ServerProcess, clip_id: str) -> None:
    mpt = {"TranscodeTaskSet": [{"Definition": 100010, "OverrideParameter": {"Container": "avi"}}]}
    code, _ = error(server, "ProcessMedia", {"FileId": clip_id, "MediaProcessTask": mpt})
    assert code == "InvalidParameterValue.Container"  # checked by the template's rules
