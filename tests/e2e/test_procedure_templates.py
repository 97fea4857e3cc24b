"""Procedure (task-flow) templates through the official SDK, against a real vodflow."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from tencentcloud.vod.v20180717 import models

from tests.assertions import call_code as raw_code
from tests.assertions import code_of
from tests.flows_support import add_media, wait_task
from tests.mediagen import make_video
from tests.servers import ServerProcess

pytestmark = pytest.mark.e2e


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def mpt(*transcodes: int, cover: int | None = None) -> models.MediaProcessTaskInput:
    task = models.MediaProcessTaskInput()
    items = []
    for d in transcodes:
        t = models.TranscodeTaskInput()
        t.Definition = d
        items.append(t)
    task.TranscodeTaskSet = items
    if cover is not None:
        c = models.CoverBySnapshotTaskInput()
        c.Definition, c.PositionType, c.PositionValue = cover, "Time", 0.0
        task.CoverBySnapshotTaskSet = [c]
    return task


def create(server: ServerProcess, name: str, task: models.MediaProcessTaskInput, **kw) -> None:  # type: ignore[no-untyped-def]
    req = models.CreateProcedureTemplateRequest()
    req.Name = name
    req.MediaProcessTask = task
    for k, v in kw.items():
        setattr(req, k, v)
    server.vod().CreateProcedureTemplate(req)


def describe(server: ServerProcess, **kw) -> models.DescribeProcedureTemplatesResponse:  # type: ignore[no-untyped-def]
    req = models.DescribeProcedureTemplatesRequest()
    for k, v in kw.items():
        setattr(req, k, v)
    return server.vod().DescribeProcedureTemplates(req)


def test_procedure_lifecycle(server: ServerProcess) -> None:
    vod = server.vod()
    name = unique("flow")
    create(server, name, mpt(20, 100030, cover=10), Comment="seed flow")
    got = describe(server, Names=[name])
    assert got.TotalCount == 1
    (p,) = got.ProcedureTemplateSet
    assert p.Name == name and p.Type == "Custom" and p.Comment == "seed flow"
    assert [t.Definition for t in p.MediaProcessTask.TranscodeTaskSet] == [20, 100030]
    cover = p.MediaProcessTask.CoverBySnapshotTaskSet[0]
    assert (cover.Definition, cover.PositionType, cover.PositionValue) == (10, "Time", 0.0)
    assert p.CreateTime.endswith("Z")

    reset = models.ResetProcedureTemplateRequest()
    reset.Name = name
    reset.Comment = "just SD"
    reset.MediaProcessTask = mpt(100020)
    vod.ResetProcedureTemplate(reset)
    (p,) = describe(server, Names=[name]).ProcedureTemplateSet
    assert p.Comment == "just SD"
    assert [t.Definition for t in p.MediaProcessTask.TranscodeTaskSet] == [100020]
    assert not p.MediaProcessTask.CoverBySnapshotTaskSet

    dele = models.DeleteProcedureTemplateRequest()
    dele.Name = name
    vod.DeleteProcedureTemplate(dele)
    assert describe(server, Names=[name]).TotalCount == 0
    assert code_of(vod.DeleteProcedureTemplate, dele) == "InvalidParameter.ProcedureNameNotExist"
    assert code_of(vod.ResetProcedureTemplate, reset) == "InvalidParameter.ProcedureNameNotExist"


def test_custom_templates_in_procedures(server: ServerProcess) -> None:
    vod = server.vod()
    req = models.CreateImageSpriteTemplateRequest()
    req.SampleType, req.SampleInterval, req.RowCount, req.ColumnCount = "Percent", 10, 2, 5
    sprite = vod.CreateImageSpriteTemplate(req).Definition
    name = unique("sprites")
    task = models.MediaProcessTaskInput()
    s = models.ImageSpriteTaskInput()
    s.Definition = sprite
    task.ImageSpriteTaskSet = [s]
    create(server, name, task)
    (p,) = describe(server, Names=[name]).ProcedureTemplateSet
    assert p.MediaProcessTask.ImageSpriteTaskSet[0].Definition == sprite


def test_preset_procedures(server: ServerProcess) -> None:
    vod = server.vod()
    got = describe(server, Type="Preset")
    names = {p.Name for p in got.ProcedureTemplateSet}
    assert "QCVB_SimpleProcessFile" in names
    assert all(p.Type == "Preset" for p in got.ProcedureTemplateSet)
    assert code_of(
        vod.CreateProcedureTemplate,
        _req(models.CreateProcedureTemplateRequest(), "LongVideoPreset", mpt(20)),
    ) == ("InvalidParameter.ExistedProcedureName")
    dele = models.DeleteProcedureTemplateRequest()
    dele.Name = "QCVB_SimpleProcessFile"
    assert code_of(vod.DeleteProcedureTemplate, dele) == (
        "InvalidParameterValue.DeleteDefaultTemplate"
    )
    reset = _req(models.ResetProcedureTemplateRequest(), "QCVB_SimpleProcessFile", mpt(20))
    assert code_of(vod.ResetProcedureTemplate, reset) == (
        "InvalidParameterValue.ModifyDefaultTemplate"
    )
    custom = describe(server, Type="Custom")
    assert all(p.Type == "Custom" for p in custom.ProcedureTemplateSet)


def _req(req, name: str, task: models.MediaProcessTaskInput):  # type: ignore[no-untyped-def]
    req.Name = name
    req.MediaProcessTask = task
    return req


def test_paging(server: ServerProcess) -> None:
    names = [unique("page") for _ in range(3)]
    for n in names:
        create(server, n, mpt(10))
    first = describe(server, Names=names, Limit=2)
    second = describe(server, Names=names, Limit=2, Offset=2)
    assert first.TotalCount == second.TotalCount == 3
    assert len(first.ProcedureTemplateSet) == 2 and len(second.ProcedureTemplateSet) == 1
    seen = {p.Name for p in first.ProcedureTemplateSet + second.ProcedureTemplateSet}
    assert seen == set(names)


def test_bad_input(server: ServerProcess) -> None:
    vod = server.vod()
    name = unique("dup")
    create(server, name, mpt(20))
    dup = _req(models.CreateProcedureTemplateRequest(), name, mpt(30))
    assert code_of(vod.CreateProcedureTemplate, dup) == "InvalidParameter.ExistedProcedureName"

    # 20 characters is the limit (Chinese counts one per character).
    create(server, "流" * 20, mpt(20))
    too_long = _req(models.CreateProcedureTemplateRequest(), "a" * 21, mpt(20))
    assert code_of(vod.CreateProcedureTemplate, too_long) == "InvalidParameterValue.Name"
    comment = _req(models.CreateProcedureTemplateRequest(), unique("c"), mpt(20))
    comment.Comment = "c" * 257
    assert code_of(vod.CreateProcedureTemplate, comment) == "InvalidParameterValue.Comment"

    unknown = _req(models.CreateProcedureTemplateRequest(), unique("u"), mpt(20, 123456))
    assert code_of(vod.CreateProcedureTemplate, unknown) == "InvalidParameterValue.Definition"
    unknown_cover = _req(models.CreateProcedureTemplateRequest(), unique("u"), mpt(20, cover=77))
    assert code_of(vod.CreateProcedureTemplate, unknown_cover) == (
        "InvalidParameterValue.Definition"
    )
    # A definition of one kind is not a template of another kind.
    task = models.MediaProcessTaskInput()
    g = models.AnimatedGraphicTaskInput()
    g.Definition, g.StartTimeOffset, g.EndTimeOffset = 100010, 0.0, 2.0
    task.AnimatedGraphicTaskSet = [g]
    wrong_kind = _req(models.CreateProcedureTemplateRequest(), unique("k"), task)
    assert code_of(vod.CreateProcedureTemplate, wrong_kind) == "InvalidParameterValue.Definition"
    empty = _req(
        models.CreateProcedureTemplateRequest(), unique("e"), models.MediaProcessTaskInput()
    )
    assert code_of(vod.CreateProcedureTemplate, empty) == "InvalidParameterValue"

    assert raw_code(server, "CreateProcedureTemplate", {"MediaProcessTask": {}}) == (
        "MissingParameter"
    )
    assert raw_code(server, "CreateProcedureTemplate", {"Name": unique("m")}) == (
        "MissingParameter"
    )
    assert raw_code(server, "CreateProcedureTemplate", {"Name": 5, "MediaProcessTask": {}}) == (
        "InvalidParameter"
    )
    bad_task = {
        "Name": unique("t"),
        "MediaProcessTask": {"TranscodeTaskSet": [{"Definition": "x"}]},
    }
    assert raw_code(server, "CreateProcedureTemplate", bad_task) == "InvalidParameter"
    no_def = {"Name": unique("t"), "MediaProcessTask": {"TranscodeTaskSet": [{}]}}
    assert raw_code(server, "CreateProcedureTemplate", no_def) == "MissingParameter"
    bad_pos = {
        "Name": unique("t"),
        "MediaProcessTask": {
            "CoverBySnapshotTaskSet": [
                {"Definition": 10, "PositionType": "Frame", "PositionValue": 0}
            ]
        },
    }
    assert raw_code(server, "CreateProcedureTemplate", bad_pos) == "InvalidParameterValue"
    too_many = {
        "Name": unique("t"),
        "MediaProcessTask": {"TranscodeTaskSet": [{"Definition": 20}] * 101},
    }
    assert raw_code(server, "CreateProcedureTemplate", too_many) == "InvalidParameterValue"
    assert (
        raw_code(server, "DescribeProcedureTemplates", {"Limit": 0})
        == "InvalidParameterValue.Limit"
    )
    assert raw_code(server, "DescribeProcedureTemplates", {"Type": "All"}) == (
        "InvalidParameterValue.Type"
    )
    assert raw_code(server, "DescribeProcedureTemplates", {"Names": ["n"] * 101}) == (
        "InvalidParameterValue.Names"
    )
    assert raw_code(server, "DeleteProcedureTemplate", {}) == "MissingParameter"
    assert raw_code(server, "DeleteProcedureTemplate", {"Name": ["x"]}) == "InvalidParameter"
    reset_unknown = {"Name": name, "MediaProcessTask": {"TranscodeTaskSet": [{"Definition": 9}]}}
    assert raw_code(server, "ResetProcedureTemplate", reset_unknown) == (
        "InvalidParameterValue.Definition"
    )


def test_isolation(server: ServerProcess) -> None:
    vod = server.vod()
    app = models.CreateSubAppIdRequest()
    app.Name = "proc-isolation"
    other = vod.CreateSubAppId(app).SubAppId
    name = unique("mine")
    create(server, name, mpt(20))
    assert describe(server, SubAppId=other, Names=[name]).TotalCount == 0
    dele = models.DeleteProcedureTemplateRequest()
    dele.SubAppId, dele.Name = other, name
    assert code_of(vod.DeleteProcedureTemplate, dele) == "InvalidParameter.ProcedureNameNotExist"
    # The same name is free in the other application.
    create(server, name, mpt(30), SubAppId=other)
    (mine,) = describe(server, Names=[name]).ProcedureTemplateSet
    (theirs,) = describe(server, SubAppId=other, Names=[name]).ProcedureTemplateSet
    assert mine.MediaProcessTask.TranscodeTaskSet[0].Definition == 20
    assert theirs.MediaProcessTask.TranscodeTaskSet[0].Definition == 30


def test_procedure_limit_through_the_api(server: ServerProcess) -> None:
    """50 procedure templates per application, then LimitExceeded.TooMuchTemplate."""
    vod = server.vod()
    app = models.CreateSubAppIdRequest()
    app.Name = "proc-limit"
    other = vod.CreateSubAppId(app).SubAppId
    for n in range(50):
        create(server, f"limit-{n}", mpt(20), SubAppId=other)
    full = _req(models.CreateProcedureTemplateRequest(), "limit-50", mpt(20))
    full.SubAppId = other
    assert code_of(vod.CreateProcedureTemplate, full) == "LimitExceeded.TooMuchTemplate"
    # The default application's allowance is its own.
    create(server, unique("free"), mpt(20))


def test_sprite_template_limit_through_the_api(server: ServerProcess) -> None:
    vod = server.vod()
    app = models.CreateSubAppIdRequest()
    app.Name = "sprite-limit"
    other = vod.CreateSubAppId(app).SubAppId
    params = {"SubAppId": other, "SampleType": "Time", "SampleInterval": 5}
    params |= {"RowCount": 2, "ColumnCount": 2}
    for _ in range(16):
        server.call("CreateImageSpriteTemplate", params)
    assert raw_code(server, "CreateImageSpriteTemplate", params) == (
        "LimitExceeded.TooMuchTemplate"
    )


def test_long_video_preset_is_tencents(server: ServerProcess, tmp_path: Path) -> None:
    """Adaptive-HLS(10) + SpriteScreenshot(10) + TimepointScreenshot(10), and it runs."""
    (p,) = describe(server, Names=["LongVideoPreset"]).ProcedureTemplateSet
    task = p.MediaProcessTask
    assert [t.Definition for t in task.AdaptiveDynamicStreamingTaskSet] == [10]
    assert [t.Definition for t in task.ImageSpriteTaskSet] == [10]
    assert [t.Definition for t in task.SnapshotByTimeOffsetTaskSet] == [10]
    assert not task.TranscodeTaskSet and not task.CoverBySnapshotTaskSet
    file_id = add_media(server, make_video(tmp_path / "long.mp4", duration=3), name="long")
    task_id = server.call(
        "ProcessMediaByProcedure", {"FileId": file_id, "ProcedureName": "LongVideoPreset"}
    )["TaskId"]
    results = wait_task(server, task_id)["ProcedureTask"]["MediaProcessResultSet"]
    assert sorted(r["Type"] for r in results) == [
        "AdaptiveDynamicStreaming",
        "ImageSprites",
        "SnapshotByTimeOffset",
    ]
    for r in results:
        (body,) = [v for k, v in r.items() if k != "Type"]
        assert body["Status"] == "SUCCESS", r
