"""Library actions, serving, deletion and PullUpload through the official SDK."""

from __future__ import annotations

import base64
import http.client
import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.vod.v20180717 import models

from tests import mediagen
from tests.assertions import code_of
from tests.flows_support import wait_until
from tests.servers import ServerProcess
from tests.uploadkit import upload

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("media-files")
    mediagen.make_video(root / "clip.mp4", duration=1.0)
    mediagen.make_png(root / "cover.png", width=32, height=24)
    mediagen.make_text_renamed(root / "notes.mp4")
    return root


@pytest.fixture
def media(server: ServerProcess, files: Path) -> dict[str, Any]:
    return upload(server, files / "clip.mp4", MediaName="library-clip")


@pytest.fixture(scope="module")
def origin(files: Path) -> Iterator[str]:
    """A plain HTTP server on loopback serving `files`, with a redirect."""

    class Handler(SimpleHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.startswith("/redirect/"):
                self.send_response(302)
                self.send_header("Location", "/" + self.path.split("/", 2)[2])
                self.end_headers()
                return
            if self.path.startswith("/stream/"):
                # No Content-Length: the size is known only by reading (HTTP/1.0 close).
                body = (files / self.path.split("/", 2)[2]).read_bytes()
                self.send_response(200)
                self.send_header("Content-Type", "video/mp4")
                self.end_headers()
                self.wfile.write(body)
                return
            if self.path.startswith("/loop"):
                self.send_response(302)
                self.send_header("Location", "/loop")
                self.end_headers()
                return
            super().do_GET()

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(files)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()


# --- DescribeMediaInfos ---------------------------------------------------------------


def test_describe_with_the_sdk_models(server: ServerProcess, media: dict[str, Any]) -> None:
    vod = server.vod()
    req = models.DescribeMediaInfosRequest()
    req.FileIds = [media["FileId"], "1234567890123456789"]
    resp = vod.DescribeMediaInfos(req)
    assert resp.NotExistFileIdSet == ["1234567890123456789"]
    info = resp.MediaInfoSet[0]
    assert info.FileId == media["FileId"]
    assert info.BasicInfo.Name == "library-clip"
    assert info.BasicInfo.ExpireTime == "9999-12-31T23:59:59Z"
    assert info.MetaData.VideoStreamSet[0].Codec == "h264"
    assert info.MetaData.AudioStreamSet[0].SamplingRate == 48000

    only_meta = server.call(
        "DescribeMediaInfos", {"FileIds": [media["FileId"]], "Filters": ["metaData"]}
    )["MediaInfoSet"][0]
    assert set(only_meta) == {"FileId", "MetaData"}


def test_describe_bad_input(server: ServerProcess) -> None:
    call = server.call
    assert code_of(call, "DescribeMediaInfos", {}) == "MissingParameter"
    assert code_of(call, "DescribeMediaInfos", {"FileIds": []}) == (
        "InvalidParameterValue.FileIdsEmpty"
    )
    many = {"FileIds": [str(10**18 + i) for i in range(21)]}
    assert code_of(call, "DescribeMediaInfos", many) == "InvalidParameterValue.FileIdsTooMany"
    assert code_of(call, "DescribeMediaInfos", {"FileIds": "x"}) == "InvalidParameter"
    assert code_of(call, "DescribeMediaInfos", {"FileIds": [1]}) == "InvalidParameter"
    assert code_of(call, "DescribeMediaInfos", {"FileIds": ["x" * 20000]}) == (
        "InvalidParameterValue.FileIds"
    )
    # Past 20 the count answers its own code, however long the list.
    for count in (101, 5000, 100_000):
        assert code_of(call, "DescribeMediaInfos", {"FileIds": ["x"] * count}) == (
            "InvalidParameterValue.FileIdsTooMany"
        )


def test_other_application_cannot_see_media(server: ServerProcess, media: dict[str, Any]) -> None:
    other = server.call("CreateSubAppId", {"Name": "media-other"})["SubAppId"]
    seen = server.call("DescribeMediaInfos", {"FileIds": [media["FileId"]], "SubAppId": other})
    assert seen["MediaInfoSet"] == [] and seen["NotExistFileIdSet"] == [media["FileId"]]
    code = code_of(server.call, "DeleteMedia", {"FileId": media["FileId"], "SubAppId": other})
    assert code == "ResourceNotFound.FileNotExist"


# --- ModifyMediaInfo -----------------------------------------------------------------


def test_modify_media_info(server: ServerProcess, media: dict[str, Any], files: Path) -> None:
    cover = (files / "cover.png").read_bytes()
    answer = server.call(
        "ModifyMediaInfo",
        {
            "FileId": media["FileId"],
            "Name": "renamed",
            "Description": "a description",
            "ExpireTime": "2099-01-01T00:00:00Z",
            "CoverData": base64.b64encode(cover).decode(),
        },
    )
    assert answer["CoverUrl"].endswith(".png")
    assert httpx.get(answer["CoverUrl"]).content == cover
    basic = server.call("DescribeMediaInfos", {"FileIds": [media["FileId"]]})["MediaInfoSet"][0][
        "BasicInfo"
    ]
    assert basic["Name"] == "renamed"
    assert basic["Description"] == "a description"
    assert basic["ExpireTime"] == "2099-01-01T00:00:00Z"
    assert basic["CoverUrl"] == answer["CoverUrl"]


def test_modify_bad_input(server: ServerProcess, media: dict[str, Any], files: Path) -> None:
    fid = media["FileId"]
    call = server.call
    assert code_of(call, "ModifyMediaInfo", {"Name": "x"}) == "MissingParameter"
    assert code_of(call, "ModifyMediaInfo", {"FileId": "1" * 19, "Name": "x"}) == (
        "ResourceNotFound.FileNotExist"
    )
    assert code_of(call, "ModifyMediaInfo", {"FileId": fid, "Name": "n" * 20000}) == (
        "InvalidParameterValue.Name"
    )
    assert code_of(call, "ModifyMediaInfo", {"FileId": fid, "Name": 5}) == "InvalidParameter"
    assert code_of(call, "ModifyMediaInfo", {"FileId": fid, "ExpireTime": "soon"}) == (
        "InvalidParameterValue.ExpireTime"
    )
    assert code_of(call, "ModifyMediaInfo", {"FileId": fid, "CoverData": "@@@"}) == (
        "InvalidParameterValue.ImageDecodeError"
    )
    text = base64.b64encode((files / "notes.mp4").read_bytes()).decode()
    assert code_of(call, "ModifyMediaInfo", {"FileId": fid, "CoverData": text}) == (
        "InvalidParameterValue.CoverType"
    )


# --- SearchMedia -----------------------------------------------------------------------


def test_search_paging(server: ServerProcess, files: Path) -> None:
    other = server.call("CreateSubAppId", {"Name": "search-app"})["SubAppId"]
    made = [
        upload(server, files / "clip.mp4", MediaName=f"page-{i}", SubAppId=other)["FileId"]
        for i in range(5)
    ]
    first = server.call("SearchMedia", {"SubAppId": other, "Limit": 2})
    assert first["TotalCount"] == 5
    ids = [m["FileId"] for m in first["MediaInfoSet"]]
    second = server.call("SearchMedia", {"SubAppId": other, "Limit": 2, "Offset": 2})
    ids += [m["FileId"] for m in second["MediaInfoSet"]]
    third = server.call("SearchMedia", {"SubAppId": other, "Limit": 2, "Offset": 4})
    ids += [m["FileId"] for m in third["MediaInfoSet"]]
    assert ids == list(reversed(made))  # newest first
    # ScrollToken (a vodflow extension) pages the same way.
    scrolled, token = [], None
    while True:
        params: dict[str, Any] = {
            "SubAppId": other,
            "Limit": 2,
            "Sort": {"Field": "CreateTime", "Order": "Asc"},
        }
        if token:
            params["ScrollToken"] = token
        page = server.call("SearchMedia", params)
        scrolled += [m["FileId"] for m in page["MediaInfoSet"]]
        token = page.get("ScrollToken")
        if not token:
            break
    assert scrolled == made
    by_name = server.call("SearchMedia", {"SubAppId": other, "Names": ["page-3"]})
    assert [m["FileId"] for m in by_name["MediaInfoSet"]] == [made[3]]
    by_prefix = server.call("SearchMedia", {"SubAppId": other, "NamePrefixes": ["page-"]})
    assert by_prefix["TotalCount"] == 5
    later = server.call(
        "SearchMedia",
        {"SubAppId": other, "CreateTime": {"After": "2099-01-01T00:00:00Z"}},
    )
    assert later["TotalCount"] == 0
    by_type = server.call("SearchMedia", {"SubAppId": other, "MediaTypes": ["MP4"]})
    assert by_type["TotalCount"] == 5


def test_search_filters(server: ServerProcess, files: Path, tmp_path: Path) -> None:
    app = server.call("CreateSubAppId", {"Name": "search-filters"})["SubAppId"]
    audio = mediagen.make_audio_only(tmp_path / "song.m4a", duration=1.0)
    video = upload(server, files / "clip.mp4", MediaName="Holiday Trip 100%", SubAppId=app)
    music = server.call("CreateClass", {"SubAppId": app, "ParentId": -1, "ClassName": "music"})
    song = upload(
        server, audio, "m4a", MediaName="holiday song", SubAppId=app, ClassId=music["ClassId"]
    )
    image = upload(server, files / "cover.png", "png", MediaName="a picture", SubAppId=app)
    server.call(
        "ModifyMediaInfo",
        {"FileId": image["FileId"], "SubAppId": app, "Description": "At the Beach"},
    )

    def found(**params: Any) -> set[str]:
        answer = server.call("SearchMedia", {"SubAppId": app, **params})
        assert answer["TotalCount"] == len(answer["MediaInfoSet"])
        return {m["FileId"] for m in answer["MediaInfoSet"]}

    v, a, i = video["FileId"], song["FileId"], image["FileId"]
    # Names: fuzzy (case-insensitive substring), any of the list.
    assert found(Names=["trip"]) == {v}
    assert found(Names=["HOLIDAY"]) == {v, a}
    assert found(Names=["song", "picture"]) == {a, i}
    assert found(Names=["0%"]) == {v}  # LIKE wildcards are plain characters
    assert found(Names=["_"]) == set()
    assert found(Names=["holiday song"]) == {a}
    # Text: fuzzy over name and description; Descriptions: over descriptions.
    assert found(Text="beach") == {i}
    assert found(Text="holiday") == {v, a}
    assert found(Descriptions=["the bea"]) == {i}
    # Categories from what the file is.
    assert found(Categories=["Video"]) == {v}
    assert found(Categories=["Audio"]) == {a}
    assert found(Categories=["Image"]) == {i}
    assert found(Categories=["Audio", "Image"]) == {a, i}
    assert found(ClassIds=[music["ClassId"]]) == {a}
    assert found(SourceTypes=["Upload"]) == {v, a, i}
    assert found(SourceTypes=["Record"]) == set()
    assert found(SourceType="Record") == set()
    assert found(Names=["holiday"], Categories=["Audio"]) == {a}
    assert found(StartTime="2099-01-01T00:00:00Z") == set()
    assert found(EndTime="2099-01-01T00:00:00Z") == {v, a, i}


def test_search_refuses_filters_it_cannot_honour(server: ServerProcess) -> None:
    unsupported = {
        "Tags": ["t"],
        "StreamIds": ["s"],
        "StreamId": "s",
        "ExpireTime": {"After": "2030-01-01T00:00:00Z"},
        "StorageRegions": ["ap-guangzhou"],
        "StorageClasses": ["STANDARD"],
        "Status": ["Normal"],
        "ReviewResults": ["pass"],
        "TrtcSdkAppIds": [1],
        "TrtcRoomIds": ["r"],
        "Vids": ["v"],
        "Vid": "v",
        "StreamDomains": ["d"],
        "StreamPaths": ["p"],
        "KnowledgeBases": ["k"],
    }
    for name, value in unsupported.items():
        with pytest.raises(TencentCloudSDKException) as info:
            server.call("SearchMedia", {name: value})
        assert info.value.get_code() == "UnsupportedOperation"
        assert f"`{name}`" in info.value.get_message()
    # Given empty, a filter is not given.
    assert server.call("SearchMedia", {"Tags": [], "Vid": ""})["TotalCount"] >= 0


def test_search_bad_input(server: ServerProcess) -> None:
    call = server.call
    assert code_of(call, "SearchMedia", {"Limit": 0}) == "InvalidParameterValue.Limit"
    assert code_of(call, "SearchMedia", {"Limit": "ten"}) == "InvalidParameter"
    assert code_of(call, "SearchMedia", {"Offset": 4999, "Limit": 10}) == (
        "InvalidParameterValue.OffsetTooLarge"
    )
    for count in (11, 101, 10_000):
        assert code_of(call, "SearchMedia", {"Names": ["a"] * count}) == (
            "InvalidParameterValue.Names"
        )
        assert code_of(call, "SearchMedia", {"FileIds": ["1"] * count}) == (
            "InvalidParameterValue.FileIds"
        )
        assert code_of(call, "SearchMedia", {"ClassIds": [1] * count}) == (
            "InvalidParameterValue.ClassIds"
        )
        assert code_of(call, "SearchMedia", {"SourceTypes": ["Upload"] * count}) == (
            "InvalidParameterValue.SourceTypes"
        )
        assert code_of(call, "SearchMedia", {"NamePrefixes": ["a"] * count}) == (
            "InvalidParameterValue.NamePrefixes"
        )
    assert code_of(call, "SearchMedia", {"Categories": ["Movie"]}) == (
        "InvalidParameterValue.Categories"
    )
    assert code_of(call, "SearchMedia", {"Categories": ["Video"] * 4}) == (
        "InvalidParameterValue.Categories"
    )
    assert code_of(call, "SearchMedia", {"Text": "t" * 65}) == "InvalidParameterValue.Text"
    assert code_of(call, "SearchMedia", {"Names": ["a" * 20000]}) == "InvalidParameterValue.Names"
    assert code_of(call, "SearchMedia", {"ScrollToken": "nonsense"}) == "InvalidParameterValue"
    assert code_of(call, "SearchMedia", {"Sort": {"Field": "Name"}}) == "InvalidParameterValue.Sort"


# --- serving and deletion ----------------------------------------------------------------


def test_serving_range_etag_and_deletion(
    server: ServerProcess, media: dict[str, Any], files: Path
) -> None:
    url = media["MediaUrl"]
    whole = httpx.get(url)
    assert whole.status_code == 200
    assert whole.headers["content-type"] == "video/mp4"
    assert whole.headers["accept-ranges"] == "bytes"
    assert whole.headers["etag"] and whole.headers["last-modified"]
    assert whole.content == (files / "clip.mp4").read_bytes()
    part = httpx.get(url, headers={"Range": "bytes=10-19"})
    assert part.status_code == 206
    assert part.content == whole.content[10:20]
    assert part.headers["content-range"] == f"bytes 10-19/{len(whole.content)}"
    assert httpx.get(url, headers={"Range": f"bytes={len(whole.content) + 5}-"}).status_code == 416
    assert httpx.head(url).status_code == 200
    # The unguessable token is part of the URL.
    token = url.split("/")[-2]
    assert httpx.get(url.replace(token, "0" * len(token))).status_code == 404
    assert httpx.get(server.url + "/vod/../vodflow.db").status_code == 404

    with sqlite3.connect(server.data_dir / "vodflow.db") as conn:
        conn.execute("UPDATE apps SET delete_event_switch='ON'")
    server.call("DeleteMedia", {"FileId": media["FileId"]})
    assert httpx.get(url).status_code == 404
    gone = server.call("DescribeMediaInfos", {"FileIds": [media["FileId"]]})
    assert gone["NotExistFileIdSet"] == [media["FileId"]]
    code = code_of(server.call, "DeleteMedia", {"FileId": media["FileId"]})
    assert code == "ResourceNotFound.FileNotExist"
    with sqlite3.connect(server.data_dir / "vodflow.db") as conn:
        bodies = [
            json.loads(r[0])
            for r in conn.execute("SELECT body FROM events WHERE event_type='FileDeleted'")
        ]
    assert any(b["FileDeleteEvent"]["FileIdSet"] == [media["FileId"]] for b in bodies)


def _raw_get(server: ServerProcess, raw_path: str) -> tuple[int, bytes]:
    """GET with the path sent exactly as written (httpx would normalise `..` away)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.putrequest("GET", raw_path, skip_accept_encoding=True)
        conn.endheaders()
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def test_serving_refuses_path_traversal(server: ServerProcess, media: dict[str, Any]) -> None:
    secret = b"canary-outside-the-blob-dir"
    (server.data_dir / "canary.txt").write_bytes(secret)
    folder = media["MediaUrl"].split("/vod/", 1)[1].rsplit("/", 1)[0]
    up = "/".join([".."] * 4)
    encoded = "/".join(["%2e%2e"] * 4)
    attempts = [
        "/vod/../canary.txt",
        "/vod/%2e%2e/canary.txt",
        "/vod/%2E%2E/%2E%2E/etc/passwd",
        "/vod/..%2fcanary.txt",
        "/vod/%2e%2e%2fcanary.txt",
        f"/vod/{folder}/../../../../canary.txt",
        f"/vod/{folder}/{up}/canary.txt",
        f"/vod/{folder}/{encoded}/canary.txt",
        f"/vod/{folder}/{encoded}/vodflow.db",
        f"/vod/{folder}/%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2fcanary.txt",
        f"/vod/{folder}/..\\..\\..\\..\\canary.txt",
        "/vod//etc/passwd",
        "/vod/%2fetc%2fpasswd",
    ]
    for raw in attempts:
        status, body = _raw_get(server, raw)
        assert status in (403, 404), (raw, status)
        assert secret not in body and b"SQLite format" not in body and b"root:" not in body
    # The same raw client reaches the real file: the refusals above are not an accident.
    status, body = _raw_get(server, f"/vod/{folder}/" + media["MediaUrl"].rsplit("/", 1)[1])
    assert status == 200 and body[4:8] == b"ftyp"


def test_delete_parts(server: ServerProcess, media: dict[str, Any]) -> None:
    fid = media["FileId"]
    bad = {"FileId": fid, "DeleteParts": [{"Type": "Everything"}]}
    assert code_of(server.call, "DeleteMedia", bad) == "InvalidParameterValue.Type"
    server.call("DeleteMedia", {"FileId": fid, "DeleteParts": [{"Type": "TranscodeFiles"}]})
    assert httpx.get(media["MediaUrl"]).status_code == 200
    server.call("DeleteMedia", {"FileId": fid, "DeleteParts": [{"Type": "OriginalFiles"}]})
    assert httpx.get(media["MediaUrl"]).status_code == 404
    basic = server.call("DescribeMediaInfos", {"FileIds": [fid]})["MediaInfoSet"][0]["BasicInfo"]
    assert basic["MediaUrl"] == ""


def _wait_flow(server: ServerProcess, task_id: str, app_id: int | None = None) -> dict[str, Any]:
    """DescribeTaskDetail of a task flow until it ends."""
    sub = {"SubAppId": app_id} if app_id else {}
    return wait_until(
        lambda: server.call("DescribeTaskDetail", {"TaskId": task_id, **sub}),
        lambda d: d["Status"] in ("FINISH", "ABORTED"),
    )


def _transcoded(server: ServerProcess, files: Path, app_id: int) -> tuple[str, dict[str, Any]]:
    """A media of `app_id` with a real Transcode 100010 output: (FileId, its MediaInfo)."""
    fid = upload(server, files / "clip.mp4", MediaName="to-transcode", SubAppId=app_id)["FileId"]
    task_id = server.call(
        "ProcessMedia",
        {
            "FileId": fid,
            "SubAppId": app_id,
            "MediaProcessTask": {"TranscodeTaskSet": [{"Definition": 100010}]},
        },
    )["TaskId"]
    detail = _wait_flow(server, task_id, app_id)
    assert detail["Status"] == "FINISH", detail
    info = server.call("DescribeMediaInfos", {"FileIds": [fid], "SubAppId": app_id})
    return fid, info["MediaInfoSet"][0]


def test_delete_transcode_part_of_real_outputs(server: ServerProcess, files: Path) -> None:
    app_id = server.call("CreateSubAppId", {"Name": "delete-parts"})["SubAppId"]
    server.call("ModifyEventConfig", {"SubAppId": app_id, "DeleteMediaCompleteEventSwitch": "ON"})
    fid, info = _transcoded(server, files, app_id)
    (output,) = info["TranscodeInfo"]["TranscodeSet"]
    assert output["Definition"] == 100010
    out_url, media_url = output["Url"], info["BasicInfo"]["MediaUrl"]
    assert httpx.get(out_url).status_code == 200

    # Wechat parts exist in Tencent only: accepted, and nothing is removed.
    wechat = [{"Type": "WechatPublishFiles"}, {"Type": "WechatMiniProgramPublishFiles"}]
    server.call("DeleteMedia", {"FileId": fid, "SubAppId": app_id, "DeleteParts": wechat})
    assert httpx.get(out_url).status_code == 200

    part = [{"Type": "TranscodeFiles", "Definition": 100010}]
    server.call("DeleteMedia", {"FileId": fid, "SubAppId": app_id, "DeleteParts": part})
    assert httpx.get(out_url).status_code == 404
    assert httpx.get(media_url).content == (files / "clip.mp4").read_bytes()
    after = server.call("DescribeMediaInfos", {"FileIds": [fid], "SubAppId": app_id})
    assert "TranscodeInfo" not in after["MediaInfoSet"][0]
    assert after["MediaInfoSet"][0]["BasicInfo"]["MediaUrl"] == media_url

    # The FileDeleted events, read as an app would in PULL mode with the SDK's models.
    vod = server.vod()
    pull = models.PullEventsRequest()
    pull.SubAppId = app_id
    deleted = [e for e in vod.PullEvents(pull).EventSet if e.EventType == "FileDeleted"]
    assert len(deleted) == 2
    wechat_event, transcode_event = (e.FileDeleteEvent for e in deleted)
    assert transcode_event.FileIdSet == [fid]
    (result,) = transcode_event.FileDeleteResultInfo
    assert result.FileId == fid
    assert [(p.Type, p.Definition) for p in result.DeleteParts] == [("TranscodeFiles", 100010)]
    assert [p.Type for p in wechat_event.FileDeleteResultInfo[0].DeleteParts] == [
        "WechatPublishFiles",
        "WechatMiniProgramPublishFiles",
    ]


# --- PullUpload ------------------------------------------------------------------------


def _wait_task(server: ServerProcess, task_id: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with sqlite3.connect(server.data_dir / "vodflow.db") as conn:
            row = conn.execute(
                "SELECT status, output FROM tasks WHERE task_id=?", (task_id,)
            ).fetchone()
        if row and row[0] == "FINISH":
            return dict(json.loads(row[1]))
        time.sleep(0.2)
    raise AssertionError(f"task {task_id} did not finish")


def _pull_events(server: ServerProcess, task_id: str) -> list[dict[str, Any]]:
    with sqlite3.connect(server.data_dir / "vodflow.db") as conn:
        rows = conn.execute("SELECT body FROM events WHERE event_type='PullComplete'").fetchall()
    bodies = [json.loads(r[0])["PullCompleteEvent"] for r in rows]
    return [b for b in bodies if b["TaskId"] == task_id]


def test_pull_upload_from_loopback(server: ServerProcess, origin: str, files: Path) -> None:
    answer = server.call(
        "PullUpload",
        {
            "MediaUrl": f"{origin}/redirect/clip.mp4",
            "MediaType": "mp4",
            "MediaName": "pulled",
            "SessionContext": "pull-ctx",
            "SessionId": f"pull-{time.time_ns()}",
        },
    )
    task_id = answer["TaskId"]
    assert "-PullUpload-" in task_id
    out = _wait_task(server, task_id)
    assert out["ErrCode"] == 0 and out["Status"] == "FINISH"
    assert httpx.get(out["FileUrl"]).content == (files / "clip.mp4").read_bytes()
    info = server.call("DescribeMediaInfos", {"FileIds": [out["FileId"]]})["MediaInfoSet"][0]
    assert info["BasicInfo"]["Name"] == "pulled"
    detail = server.call("DescribeTaskDetail", {"TaskId": task_id})
    assert detail["TaskType"] == "PullUpload"
    assert detail["PullUploadTask"]["FileId"] == out["FileId"]
    assert detail["PullUploadTask"]["Status"] == "FINISH"
    (event,) = _pull_events(server, task_id)
    assert event["FileId"] == out["FileId"]
    assert event["SessionContext"] == "pull-ctx"
    assert event["MediaBasicInfo"]["Name"] == "pulled"
    assert event["ErrCode"] == 0


def test_pull_upload_failures(server: ServerProcess, origin: str) -> None:
    cases = {
        f"{origin}/missing.mp4": "HTTP 404",
        f"{origin}/notes.mp4": "SourceFileError",
        f"{origin}/loop.mp4": "redirects",
    }
    for url, words in cases.items():
        task_id = server.call("PullUpload", {"MediaUrl": url})["TaskId"]
        out = _wait_task(server, task_id)
        assert out["ErrCode"] != 0 and words in out["Message"], out
        (event,) = _pull_events(server, task_id)
        assert event["ErrCode"] == out["ErrCode"]


def _pull_task(server: ServerProcess, task_id: str, app_id: int | None = None) -> dict[str, Any]:
    """The PullUploadTask of DescribeTaskDetail once the task has finished."""
    sub = {"SubAppId": app_id} if app_id else {}
    detail = wait_until(
        lambda: server.call("DescribeTaskDetail", {"TaskId": task_id, **sub}),
        lambda d: d["Status"] == "FINISH",
        timeout=60,
    )
    assert detail["TaskType"] == "PullUpload"
    return dict(detail["PullUploadTask"])


def _pulled_complete(server: ServerProcess, task_id: str, app_id: int | None = None) -> Any:
    """The PullComplete event of a task, read with the SDK in PULL mode and confirmed."""
    vod = server.vod()
    req = models.PullEventsRequest()
    if app_id:
        req.SubAppId = app_id
    found = []
    for event in vod.PullEvents(req).EventSet:
        if event.EventType == "PullComplete" and event.PullCompleteEvent.TaskId == task_id:
            found.append(event.PullCompleteEvent)
        server.call(
            "ConfirmEvents",
            {"EventHandles": [event.EventHandle], **({"SubAppId": app_id} if app_id else {})},
        )
    (event,) = found
    return event


@pytest.mark.parametrize("route", ["", "stream/"], ids=["content-length", "streamed"])
def test_pull_upload_over_the_maximum_size(
    fresh_server: ServerProcess, origin: str, files: Path, route: str
) -> None:
    limit = (files / "clip.mp4").stat().st_size - 1
    fresh_server.env["VODFLOW_MAX_UPLOAD_BYTES"] = str(limit)
    fresh_server.start()
    task_id = fresh_server.call("PullUpload", {"MediaUrl": f"{origin}/{route}clip.mp4"})["TaskId"]
    out = _pull_task(fresh_server, task_id)
    assert out["ErrCode"] == 40000
    assert out["Message"] == f"The file is larger than {limit} bytes."
    assert "FileId" not in out
    event = _pulled_complete(fresh_server, task_id)
    assert (event.ErrCode, event.Message, event.FileId) == (40000, out["Message"], None)
    # Nothing stored: no media, no file left in the blob store.
    assert fresh_server.call("SearchMedia", {})["TotalCount"] == 0
    blobs = fresh_server.data_dir / "blobs"
    assert [p for p in blobs.rglob("*") if p.is_file()] == []


def test_pull_upload_with_a_procedure(server: ServerProcess, origin: str) -> None:
    app = server.call("CreateSubAppId", {"Name": "pull-procedure"})["SubAppId"]
    server.call(
        "CreateProcedureTemplate",
        {
            "SubAppId": app,
            "Name": "pull-proc",
            "MediaProcessTask": {"TranscodeTaskSet": [{"Definition": 100010}]},
        },
    )
    task_id = server.call(
        "PullUpload",
        {
            "SubAppId": app,
            "MediaUrl": f"{origin}/clip.mp4",
            "Procedure": "pull-proc",
            "SessionContext": "pp",
        },
    )["TaskId"]
    out = _pull_task(server, task_id, app)
    assert out["ErrCode"] == 0, out
    event = _pulled_complete(server, task_id, app)
    flow_id = event.ProcedureTaskId
    assert flow_id and flow_id == out["ProcedureTaskId"]
    assert event.FileId == out["FileId"]
    flow = _wait_flow(server, flow_id, app)
    assert flow["Status"] == "FINISH" and flow["TaskType"] == "Procedure"
    procedure = flow["ProcedureTask"]
    assert procedure["FileId"] == out["FileId"] and procedure["ErrCode"] == 0
    assert procedure["SessionContext"] == "pp"
    (transcode,) = procedure["MediaProcessResultSet"]
    assert transcode["TranscodeTask"]["Status"] == "SUCCESS"
    info = server.call("DescribeMediaInfos", {"FileIds": [out["FileId"]], "SubAppId": app})
    (output,) = info["MediaInfoSet"][0]["TranscodeInfo"]["TranscodeSet"]
    assert httpx.get(output["Url"]).status_code == 200


def test_pull_upload_bad_input(server: ServerProcess) -> None:
    call = server.call
    assert code_of(call, "PullUpload", {}) == "MissingParameter"
    assert code_of(call, "PullUpload", {"MediaUrl": "file:///etc/passwd"}) == (
        "InvalidParameterValue.MediaUrl"
    )
    assert code_of(call, "PullUpload", {"MediaUrl": "http://example.com/noext"}) == (
        "InvalidParameterValue.MediaType"
    )
    long_url = "http://example.com/" + "a" * 20000 + ".mp4"
    assert code_of(call, "PullUpload", {"MediaUrl": long_url}) == "InvalidParameterValue.MediaUrl"
    params = {"MediaUrl": "http://example.com/a.mp4", "TasksPriority": 11}
    assert code_of(call, "PullUpload", params) == "InvalidParameterValue"
    session = {"MediaUrl": "http://127.0.0.1:9/a.mp4", "SessionId": f"dup-{time.time_ns()}"}
    call("PullUpload", session)
    assert code_of(call, "PullUpload", session) == "InvalidParameterValue.SessionId"


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("SessionContext", "c" * 1001, "InvalidParameterValue.SessionContextTooLong"),
        ("SessionId", "s" * 51, "InvalidParameterValue.SessionIdTooLong"),
    ],
)
def test_session_fields_answer_one_code_in_every_action(
    server: ServerProcess, field: str, value: str, code: str
) -> None:
    """PullUpload, ApplyUpload and ProcessMedia share one rule (core/task_options.py)."""
    call = server.call
    assert code_of(call, "PullUpload", {"MediaUrl": "http://example.com/a.mp4", field: value}) == (
        code
    )
    if field == "SessionContext":  # ApplyUpload takes no SessionId
        assert code_of(call, "ApplyUpload", {"MediaType": "mp4", field: value}) == code
    mpt = {"TranscodeTaskSet": [{"Definition": 100010}]}
    process = {"FileId": "1" * 19, "MediaProcessTask": mpt, field: value}
    assert code_of(call, "ProcessMedia", process) == code


def test_pull_upload_refuses_private_addresses(fresh_server: ServerProcess, origin: str) -> None:
    fresh_server.env["VODFLOW_ALLOW_PRIVATE_URLS"] = "0"
    fresh_server.start()
    for url in (f"{origin}/clip.mp4", "http://169.254.169.254/latest/x.mp4", "http://[::1]/a.mp4"):
        task_id = fresh_server.call("PullUpload", {"MediaUrl": url})["TaskId"]
        out = _wait_task(fresh_server, task_id)
        assert out["ErrCode"] == 40000 and "private" in out["Message"], out
