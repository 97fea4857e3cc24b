"""Media categories through the official SDK: the tree, its limits, and media in it."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from tencentcloud.vod.v20180717 import models

from tests import mediagen
from tests.assertions import call_code, code_of
from tests.servers import ServerProcess
from tests.uploadkit import apply, upload

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("class-media") / "clip.mp4"
    mediagen.make_video(path, duration=0.5)
    return path


@pytest.fixture
def app(server: ServerProcess) -> int:
    """An application of its own, so the class tree starts empty."""
    name = f"classes-{time.time_ns()}"
    return int(server.call("CreateSubAppId", {"Name": name})["SubAppId"])


def _create(server: ServerProcess, app: int, parent: int, name: str) -> int:
    answer = server.call("CreateClass", {"SubAppId": app, "ParentId": parent, "ClassName": name})
    return int(answer["ClassId"])


def test_tree_with_the_sdk_models(server: ServerProcess, app: int) -> None:
    vod = server.vod()
    req = models.CreateClassRequest()
    req.SubAppId, req.ParentId, req.ClassName = app, -1, "电影"
    top = vod.CreateClass(req).ClassId
    mid = _create(server, app, top, "喜剧")
    low = _create(server, app, mid, "2026")
    leaf = _create(server, app, low, "十一月")

    listing = models.DescribeAllClassRequest()
    listing.SubAppId = app
    infos = {c.ClassId: c for c in vod.DescribeAllClass(listing).ClassInfoSet}
    assert list(infos) == [top, mid, low, leaf]
    assert [(infos[c].ParentId, infos[c].Level) for c in infos] == [
        (-1, 0),
        (top, 1),
        (mid, 2),
        (low, 3),
    ]
    assert infos[top].SubClassIdSet == [mid]
    assert infos[leaf].SubClassIdSet == []
    assert infos[mid].Name == infos[mid].ClassName == "喜剧"

    # A fifth level is refused; so is a sibling of the same name.
    assert call_code(
        server, "CreateClass", {"SubAppId": app, "ParentId": leaf, "ClassName": "x"}
    ) == ("FailedOperation.ClassLevelLimitExceeded")
    assert call_code(
        server, "CreateClass", {"SubAppId": app, "ParentId": top, "ClassName": "喜剧"}
    ) == ("FailedOperation.ClassNameDuplicate")
    # The same name under another parent is fine.
    _create(server, app, mid, "喜剧")

    modify = models.ModifyClassRequest()
    modify.SubAppId, modify.ClassId, modify.ClassName = app, mid, "动作"
    vod.ModifyClass(modify)
    names = {c["ClassId"]: c["Name"] for c in _all(server, app)}
    assert names[mid] == "动作"

    delete = models.DeleteClassRequest()
    delete.SubAppId, delete.ClassId = app, leaf
    vod.DeleteClass(delete)
    assert leaf not in {c["ClassId"] for c in _all(server, app)}
    assert _by_id(server, app)[low]["SubClassIdSet"] == []
    # A class with subclasses is not deleted.
    delete.ClassId = top
    assert code_of(vod.DeleteClass, delete) == "UnsupportedOperation.ClassNotEmpty"
    assert top in _by_id(server, app)


def _all(server: ServerProcess, app: int) -> list[dict[str, Any]]:
    return list(server.call("DescribeAllClass", {"SubAppId": app})["ClassInfoSet"])


def _by_id(server: ServerProcess, app: int) -> dict[int, dict[str, Any]]:
    return {c["ClassId"]: c for c in _all(server, app)}


def test_classes_belong_to_their_application(server: ServerProcess, app: int) -> None:
    mine = _create(server, app, -1, "mine")
    other = int(server.call("CreateSubAppId", {"Name": f"other-{time.time_ns()}"})["SubAppId"])
    assert _all(server, other) == []
    assert call_code(
        server, "ModifyClass", {"SubAppId": other, "ClassId": mine, "ClassName": "x"}
    ) == ("FailedOperation.ClassNoFound")
    assert call_code(server, "DeleteClass", {"SubAppId": other, "ClassId": mine}) == (
        "FailedOperation.ClassNoFound"
    )
    assert (
        call_code(server, "CreateClass", {"SubAppId": other, "ParentId": mine, "ClassName": "x"})
        == "FailedOperation.ParentIdNoFound"
    )


def test_class_bad_input(server: ServerProcess, app: int) -> None:
    top = _create(server, app, -1, "top")

    def code(action: str, params: dict[str, Any]) -> str:
        return call_code(server, action, {"SubAppId": app, **params})

    assert code("CreateClass", {"ParentId": -1}) == "MissingParameter"
    assert (
        code("CreateClass", {"ParentId": -1, "ClassName": ""}) == "InvalidParameterValue.ClassName"
    )
    assert code("CreateClass", {"ParentId": -1, "ClassName": "x" * 65}) == (
        "InvalidParameterValue.ClassName"
    )
    assert code("CreateClass", {"ParentId": -1, "ClassName": "   "}) == (
        "InvalidParameterValue.ClassName"
    )
    assert code("CreateClass", {"ParentId": -2, "ClassName": "x"}) == (
        "InvalidParameterValue.ParentId"
    )
    assert code("CreateClass", {"ParentId": 999999, "ClassName": "x"}) == (
        "FailedOperation.ParentIdNoFound"
    )
    assert code("CreateClass", {"ParentId": "-1", "ClassName": "x"}) == "InvalidParameter"
    assert code("ModifyClass", {"ClassId": 999999, "ClassName": "x"}) == (
        "FailedOperation.ClassNoFound"
    )
    assert code("ModifyClass", {"ClassId": top, "ClassName": ""}) == (
        "InvalidParameterValue.ClassName"
    )
    assert code("DeleteClass", {"ClassId": 999999}) == "FailedOperation.ClassNoFound"
    assert code("DeleteClass", {"ClassId": 0}) == "InvalidParameterValue.ClassId"
    assert code("DescribeAllClass", {"Unknown": 1}) == "UnknownParameter"


def test_media_in_classes(server: ServerProcess, app: int, clip: Path) -> None:
    top = _create(server, app, -1, "体育")
    sub = _create(server, app, top, "足球")

    # ApplyUpload refuses an unknown class before any byte is sent.
    assert code_of(apply, server, SubAppId=app, ClassId=424242) == "InvalidParameterValue.ClassId"
    filed = upload(server, clip, SubAppId=app, ClassId=sub, MediaName="goal")
    plain = upload(server, clip, SubAppId=app, MediaName="plain")
    basic = _basic(server, app, filed["FileId"])
    assert (basic["ClassId"], basic["ClassName"], basic["ClassPath"]) == (sub, "足球", "体育-足球")
    assert _basic(server, app, plain["FileId"])["ClassName"] == "其他"

    # Renaming a class shows in the media's path at once.
    server.call("ModifyClass", {"SubAppId": app, "ClassId": top, "ClassName": "运动"})
    assert _basic(server, app, filed["FileId"])["ClassPath"] == "运动-足球"

    # SearchMedia by a class matches its subclasses too.
    found = server.call("SearchMedia", {"SubAppId": app, "ClassIds": [top]})
    assert [m["FileId"] for m in found["MediaInfoSet"]] == [filed["FileId"]]
    assert found["MediaInfoSet"][0]["BasicInfo"]["ClassPath"] == "运动-足球"
    found = server.call("SearchMedia", {"SubAppId": app, "ClassIds": [0]})
    assert [m["FileId"] for m in found["MediaInfoSet"]] == [plain["FileId"]]
    assert call_code(server, "SearchMedia", {"SubAppId": app, "ClassIds": [424242]}) == (
        "InvalidParameterValue.ClassIds"
    )

    # A class holding media is not deleted; once the media moves, it is.
    assert call_code(server, "DeleteClass", {"SubAppId": app, "ClassId": sub}) == (
        "UnsupportedOperation.ClassNotEmpty"
    )
    assert (
        call_code(
            server,
            "ModifyMediaInfo",
            {"SubAppId": app, "FileId": filed["FileId"], "ClassId": 424242},
        )
        == "InvalidParameterValue.ClassId"
    )
    assert _basic(server, app, filed["FileId"])["ClassId"] == sub
    server.call("ModifyMediaInfo", {"SubAppId": app, "FileId": filed["FileId"], "ClassId": top})
    assert _basic(server, app, filed["FileId"])["ClassPath"] == "运动"
    server.call("DeleteClass", {"SubAppId": app, "ClassId": sub})

    # PullUpload refuses an unknown class at once.
    assert (
        call_code(
            server,
            "PullUpload",
            {"SubAppId": app, "MediaUrl": "http://127.0.0.1:9/x.mp4", "ClassId": 424242},
        )
        == "InvalidParameterValue.ClassId"
    )


def _basic(server: ServerProcess, app: int, file_id: str) -> dict[str, Any]:
    answer = server.call("DescribeMediaInfos", {"SubAppId": app, "FileIds": [file_id]})
    return dict(answer["MediaInfoSet"][0]["BasicInfo"])
