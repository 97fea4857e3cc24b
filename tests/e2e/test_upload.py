"""Uploads with the official VOD SDK plus cos-python-sdk-v5 against a real vodflow."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from qcloud_cos.cos_exception import CosServiceError
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from tests import mediagen
from tests.assertions import code_of
from tests.flows_support import wait_task, wait_until
from tests.servers import ServerProcess
from tests.uploadkit import apply, cos_client, put, signed_sender, upload
from vodflow.core.credentials import token_digest

pytestmark = pytest.mark.e2e


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def describe(server: ServerProcess, file_id: str, **params: Any) -> dict[str, Any]:
    return server.call("DescribeMediaInfos", {"FileIds": [file_id], **params})


def db(server: ServerProcess) -> sqlite3.Connection:
    return sqlite3.connect(server.data_dir / "vodflow.db")


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("upload-media")


@pytest.fixture(scope="session")
def small_clip(media_dir: Path) -> Path:
    return mediagen.make_video(media_dir / "small.mp4", duration=2.0)


@pytest.fixture(scope="session")
def big_clip(media_dir: Path) -> Path:
    """More than 1 MiB, so `upload_file(PartSize=1)` goes multipart."""
    path = mediagen.make_video(
        media_dir / "big.mp4",
        duration=6.0,
        vbitrate="3000k",
        extra=["-x264-params", "nal-hrd=cbr", "-bufsize", "1000k"],
    )
    assert path.stat().st_size > 1.5 * 1024 * 1024
    return path


@pytest.fixture(scope="session")
def seed_clip(media_dir: Path) -> Path:
    return mediagen.make_seed_clip(media_dir / "seed.mp4")


# --- the happy paths -------------------------------------------------------------------


def test_simple_put_commit_and_describe(server: ServerProcess, small_clip: Path) -> None:
    applied = apply(server, "mp4", MediaName="small clip", SourceContext="ctx-1")
    assert applied["StorageRegion"] and applied["StorageBucket"]
    assert applied["MediaStoragePath"].startswith("/upload/")
    cert = applied["TempCertificate"]
    assert cert["ExpiredTime"] > time.time() + 3000
    put(server, applied, small_clip, multipart=False)
    done = server.call("CommitUpload", {"VodSessionKey": applied["VodSessionKey"]})
    assert done["MediaUrl"].startswith(server.url + "/vod/")
    info = describe(server, done["FileId"])["MediaInfoSet"][0]
    basic, meta = info["BasicInfo"], info["MetaData"]
    assert basic["Name"] == "small clip"
    assert basic["Type"] == "mp4"
    assert basic["MediaUrl"] == done["MediaUrl"]
    assert basic["SourceInfo"]["SourceContext"] == "ctx-1"
    assert basic["CreateTime"].endswith("Z")
    assert meta["Size"] == small_clip.stat().st_size
    assert meta["Md5"] == md5(small_clip)
    assert (meta["Width"], meta["Height"]) == (320, 240)
    assert meta["Container"] == "mov,mp4,m4a,3gp,3g2,mj2"
    body = httpx.get(done["MediaUrl"]).content
    assert hashlib.md5(body).hexdigest() == md5(small_clip)


def test_multipart_upload(server: ServerProcess, big_clip: Path) -> None:
    done = upload(server, big_clip, multipart=True)
    meta = describe(server, done["FileId"])["MediaInfoSet"][0]["MetaData"]
    assert meta["Size"] == big_clip.stat().st_size
    assert meta["Md5"] == md5(big_clip)


def test_multipart_resumes_with_parts_already_sent(server: ServerProcess, big_clip: Path) -> None:
    applied = apply(server)
    cos = cos_client(server, applied)
    bucket, key = applied["StorageBucket"], applied["MediaStoragePath"]
    upload_id = cos.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    first = big_clip.read_bytes()[: 1024 * 1024]
    cos.upload_part(bucket, key, first, 1, upload_id)
    listed = cos.list_parts(Bucket=bucket, Key=key, UploadId=upload_id)
    assert [p["PartNumber"] for p in listed["Part"]] == ["1"]
    assert listed["Part"][0]["ETag"] == f'"{hashlib.md5(first).hexdigest()}"'
    # upload_file finds the open upload, checks part 1 and sends only the rest.
    cos.upload_file(Bucket=bucket, Key=key, LocalFilePath=str(big_clip), PartSize=1)
    done = server.call("CommitUpload", {"VodSessionKey": applied["VodSessionKey"]})
    meta = describe(server, done["FileId"])["MediaInfoSet"][0]["MetaData"]
    assert meta["Md5"] == md5(big_clip)


def test_multipart_abort_and_bad_complete(server: ServerProcess, big_clip: Path) -> None:
    applied = apply(server)
    cos = cos_client(server, applied)
    bucket, key = applied["StorageBucket"], applied["MediaStoragePath"]
    upload_id = cos.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    answer = cos.upload_part(bucket, key, b"x" * 1000, 1, upload_id)
    etag = {k.lower(): v for k, v in answer.items()}["etag"]
    with pytest.raises(CosServiceError) as info:
        cos.complete_multipart_upload(
            Bucket=bucket,
            Key=key,
            UploadId=upload_id,
            MultipartUpload={"Part": [{"PartNumber": 2, "ETag": etag}]},
        )
    assert info.value.get_error_code() == "InvalidPart"
    cos.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
    with pytest.raises(CosServiceError) as info:
        cos.list_parts(Bucket=bucket, Key=key, UploadId=upload_id)
    assert info.value.get_error_code() == "NoSuchUpload"
    assert code_of(server.call, "CommitUpload", {"VodSessionKey": applied["VodSessionKey"]}) == (
        "ResourceNotFound.FileNotExist"
    )


def test_new_file_upload_event_in_outbox(server: ServerProcess, small_clip: Path) -> None:
    server.call("ModifyEventConfig", {"UploadMediaCompleteEventSwitch": "ON"}) if _has_event_config(
        server
    ) else _switch_upload_event(server)
    done = upload(server, small_clip, MediaName="evented")
    with db(server) as conn:
        rows = conn.execute(
            "SELECT body FROM events WHERE event_type='NewFileUpload' ORDER BY id"
        ).fetchall()
    bodies = [json.loads(r[0]) for r in rows]
    mine = [b for b in bodies if b["FileUploadEvent"]["FileId"] == done["FileId"]]
    assert len(mine) == 1
    event = mine[0]["FileUploadEvent"]
    assert event["MediaBasicInfo"]["Name"] == "evented"
    assert event["MediaBasicInfo"]["MediaUrl"] == done["MediaUrl"]


def _has_event_config(server: ServerProcess) -> bool:
    try:
        server.call("DescribeEventConfig", {})
        return True
    except TencentCloudSDKException:
        return False


def _switch_upload_event(server: ServerProcess) -> None:
    with db(server) as conn:
        conn.execute("UPDATE apps SET upload_event_switch='ON'")


def test_cover_upload(server: ServerProcess, small_clip: Path, media_dir: Path) -> None:
    cover = mediagen.make_png(media_dir / "cover.png", width=64, height=48)
    applied = apply(server, "mp4", CoverType="png")
    assert applied["CoverStoragePath"].endswith(".png")
    put(server, applied, small_clip, multipart=False)
    cos = cos_client(server, applied)
    cos.put_object(
        Bucket=applied["StorageBucket"], Key=applied["CoverStoragePath"], Body=cover.read_bytes()
    )
    done = server.call("CommitUpload", {"VodSessionKey": applied["VodSessionKey"]})
    assert done["CoverUrl"].endswith(".png")
    got = httpx.get(done["CoverUrl"])
    assert got.status_code == 200 and got.headers["content-type"] == "image/png"
    assert got.content == cover.read_bytes()


def test_audio_only_m4a_is_kept(server: ServerProcess, media_dir: Path) -> None:
    audio = mediagen.make_audio_only(media_dir / "a.m4a", duration=1.0)
    done = upload(server, audio, "m4a")
    info = describe(server, done["FileId"])["MediaInfoSet"][0]
    assert info["MetaData"]["VideoStreamSet"] == []
    assert info["MetaData"]["AudioStreamSet"][0]["Codec"] == "aac"
    assert info["BasicInfo"]["Category"] == "Audio"


def test_png_is_kept_as_image_media(server: ServerProcess, media_dir: Path) -> None:
    png = mediagen.make_png(media_dir / "picture.png", width=64, height=48)
    done = upload(server, png, "png", MediaName="picture")
    assert done["MediaUrl"].endswith(".png")
    info = describe(server, done["FileId"])["MediaInfoSet"][0]
    basic, meta = info["BasicInfo"], info["MetaData"]
    assert (basic["Type"], basic["Category"]) == ("png", "Image")
    assert meta["Container"] == "png_pipe"
    assert (meta["Width"], meta["Height"]) == (64, 48)
    assert meta["Size"] == png.stat().st_size and meta["Md5"] == md5(png)
    assert meta["AudioStreamSet"] == []
    served = httpx.get(done["MediaUrl"])
    assert served.headers["content-type"] == "image/png"
    assert served.content == png.read_bytes()


@pytest.mark.parametrize("cover", ["text", "video"])
def test_cover_that_is_not_an_image(
    server: ServerProcess, small_clip: Path, tmp_path: Path, cover: str
) -> None:
    bad = (
        mediagen.make_text_renamed(tmp_path / "cover.png")
        if cover == "text"
        else mediagen.make_video(tmp_path / "cover.mp4", duration=1.0)
    )
    before = server.call("SearchMedia", {"Limit": 1})["TotalCount"]
    applied = apply(server, "mp4", CoverType="png")
    put(server, applied, small_clip, multipart=False)
    cos = cos_client(server, applied)
    bucket, cover_key = applied["StorageBucket"], applied["CoverStoragePath"]
    cos.put_object(Bucket=bucket, Key=cover_key, Body=bad.read_bytes())
    session = {"VodSessionKey": applied["VodSessionKey"]}
    assert code_of(server.call, "CommitUpload", session) == "InvalidParameterValue.CoverType"
    assert server.call("SearchMedia", {"Limit": 1})["TotalCount"] == before
    # The session stays open: a real image in its place, and the commit goes through.
    good = mediagen.make_png(tmp_path / "good.png", width=32, height=24)
    cos.put_object(Bucket=bucket, Key=cover_key, Body=good.read_bytes())
    done = server.call("CommitUpload", session)
    assert httpx.get(done["CoverUrl"]).content == good.read_bytes()


@pytest.mark.slow
@pytest.mark.parametrize("multipart", [False, True], ids=["put", "multipart"])
def test_acceptance_seed_clip(server: ServerProcess, seed_clip: Path, multipart: bool) -> None:
    done = upload(server, seed_clip, multipart=multipart, MediaName="seed")
    meta = describe(server, done["FileId"])["MediaInfoSet"][0]["MetaData"]
    assert (meta["Width"], meta["Height"]) == (640, 480)
    assert abs(meta["Duration"] - 60) < 0.2
    assert abs(meta["VideoDuration"] - 60) < 0.2
    video, audio = meta["VideoStreamSet"][0], meta["AudioStreamSet"][0]
    assert video["Codec"] == "h264" and video["Fps"] == 23
    assert 450_000 < video["Bitrate"] < 850_000
    assert audio["Codec"] == "aac" and audio["SamplingRate"] == 48000
    assert meta["Size"] == seed_clip.stat().st_size
    assert meta["Md5"] == md5(seed_clip)
    assert meta["Container"] == "mov,mp4,m4a,3gp,3g2,mj2"


# --- bad input -----------------------------------------------------------------------


class _Counter(BaseHTTPRequestHandler):
    hits = 0

    def do_GET(self) -> None:
        type(self).hits += 1
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"\0" * 188)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def canary() -> Iterator[tuple[str, type[_Counter]]]:
    """An HTTP server on loopback that counts hits: playlists must never reach it."""
    handler = type("Canary", (_Counter,), {"hits": 0})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}/seg.ts", handler
    httpd.shutdown()


BAD_FILES = {
    "zero-byte": (mediagen.make_zero_byte, "mp4", "InvalidParameterValue.SrcFile"),
    "truncated": (mediagen.make_truncated, "mp4", "InvalidParameterValue.SrcFile"),
    "text": (mediagen.make_text_renamed, "mp4", "InvalidParameterValue.SrcFile"),
    "random": (mediagen.make_corrupt, "mp4", "InvalidParameterValue.SrcFile"),
    "png-as-mp4": (mediagen.make_png, "mp4", "InvalidParameterValue.MediaType"),
    "huge-png": (mediagen.make_huge_png_header, "png", "InvalidParameterValue.SrcFile"),
    "concat": (mediagen.make_concat_list, "mp4", "InvalidParameterValue.SrcFile"),
    "mp4-as-flv": (
        lambda p: mediagen.make_video(p.with_suffix(".mp4"), duration=1.0),
        "flv",
        "InvalidParameterValue.MediaType",
    ),
}


def _staged_files(server: ServerProcess) -> list[Path]:
    root = server.data_dir / "blobs" / "uploads"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_files_refused_at_commit(server: ServerProcess, tmp_path: Path, case: str) -> None:
    make, media_type, expected = BAD_FILES[case]
    path = make(tmp_path / f"bad.{media_type}")
    before = server.call("SearchMedia", {"Limit": 1})["TotalCount"]
    applied = apply(server, media_type)
    put(server, applied, path, multipart=False)
    session = applied["VodSessionKey"]
    assert code_of(server.call, "CommitUpload", {"VodSessionKey": session}) == expected
    # Nothing half-stored: no media, no staged bytes, and the session is spent.
    assert server.call("SearchMedia", {"Limit": 1})["TotalCount"] == before
    staged = [p for p in _staged_files(server) if applied["MediaStoragePath"][8:20] in str(p)]
    assert staged == []
    assert code_of(server.call, "CommitUpload", {"VodSessionKey": session}) == (
        "InvalidParameterValue.VodSessionKey"
    )


def test_hostile_playlist_never_read(
    server: ServerProcess, tmp_path: Path, canary: tuple[str, type[_Counter]]
) -> None:
    url, handler = canary
    playlist = mediagen.make_hostile_hls(
        tmp_path / "evil.mp4", targets=[url, "file:///etc/passwd", "http://169.254.169.254/"]
    )
    applied = apply(server, "mp4")
    put(server, applied, playlist, multipart=False)
    code = code_of(server.call, "CommitUpload", {"VodSessionKey": applied["VodSessionKey"]})
    assert code == "InvalidParameterValue.SrcFile"
    assert handler.hits == 0
    # A playlist cannot even be declared.
    assert code_of(apply, server, "m3u8") == "InvalidParameterValue.MediaType"


def test_commit_twice_and_before_bytes(server: ServerProcess, small_clip: Path) -> None:
    applied = apply(server)
    session = {"VodSessionKey": applied["VodSessionKey"]}
    assert code_of(server.call, "CommitUpload", session) == "ResourceNotFound.FileNotExist"
    put(server, applied, small_clip, multipart=False)
    server.call("CommitUpload", session)
    assert code_of(server.call, "CommitUpload", session) == "InvalidParameterValue.VodSessionKey"
    # After commit the credential writes nothing more.
    with pytest.raises(CosServiceError) as info:
        put(server, applied, small_clip, multipart=False)
    assert info.value.get_status_code() == 403


def test_expired_foreign_and_unknown_session(server: ServerProcess, small_clip: Path) -> None:
    other = server.call("CreateSubAppId", {"Name": "uploads-other"})["SubAppId"]
    applied = apply(server)
    put(server, applied, small_clip, multipart=False)
    key = applied["VodSessionKey"]
    foreign = {"VodSessionKey": key, "SubAppId": other}
    assert code_of(server.call, "CommitUpload", foreign) == "InvalidParameterValue.VodSessionKey"
    unknown = {"VodSessionKey": "0" * 64}
    assert code_of(server.call, "CommitUpload", unknown) == "InvalidParameterValue.VodSessionKey"
    with db(server) as conn:
        stored = token_digest(key)  # the database keeps the key's digest
        conn.execute("UPDATE upload_sessions SET expires_at=1 WHERE session_key=?", (stored,))
    expired = {"VodSessionKey": key}
    assert code_of(server.call, "CommitUpload", expired) == "InvalidParameterValue.VodSessionKey"
    # An expired session's credential writes nothing either.
    with pytest.raises(CosServiceError) as info:
        put(server, applied, small_clip, multipart=False)
    assert info.value.get_status_code() == 403


def test_credential_scoped_to_its_session(server: ServerProcess, small_clip: Path) -> None:
    mine, theirs = apply(server), apply(server, CoverType="png")
    cos = cos_client(server, mine)
    sneaky = mine["MediaStoragePath"].rsplit("/", 1)[0] + "/../x/evil.mp4"
    keys = (
        theirs["MediaStoragePath"],  # another session's media key
        theirs["CoverStoragePath"],  # and its cover key
        "/upload/elsewhere/x.mp4",
        sneaky,  # traversal: a key that climbs out of the session folder
    )
    for key in keys:
        with pytest.raises(CosServiceError) as info:
            cos.put_object(Bucket=mine["StorageBucket"], Key=key, Body=b"data")
        assert (info.value.get_status_code(), info.value.get_error_code()) == (
            403,
            "AccessDenied",
        ), key
        with pytest.raises(CosServiceError) as info:
            cos.create_multipart_upload(Bucket=mine["StorageBucket"], Key=key)
        assert (info.value.get_status_code(), info.value.get_error_code()) == (
            403,
            "AccessDenied",
        ), key
    # Outside /upload/ there is no object endpoint at all.
    with pytest.raises(CosServiceError) as info:
        cos.put_object(Bucket=mine["StorageBucket"], Key="/etc/passwd", Body=b"data")
    assert info.value.get_status_code() == 404
    # Nothing was written for the other session.
    assert code_of(server.call, "CommitUpload", {"VodSessionKey": theirs["VodSessionKey"]}) == (
        "ResourceNotFound.FileNotExist"
    )
    # A temporary COS credential is not an API credential for anything else.
    assert not (server.data_dir / "blobs" / "x").exists()


def test_disabled_application_takes_no_bytes_and_serves_nothing(
    server: ServerProcess, small_clip: Path
) -> None:
    app = server.call("CreateSubAppId", {"Name": "to-disable"})["SubAppId"]
    done = upload(server, small_clip, SubAppId=app)
    applied = apply(server, SubAppId=app)
    cos = cos_client(server, applied)
    bucket, key = applied["StorageBucket"], applied["MediaStoragePath"]

    server.call("ModifySubAppIdStatus", {"SubAppId": app, "Status": "Off"})
    served = httpx.get(done["MediaUrl"])
    assert served.status_code == 403 and served.content != small_clip.read_bytes()
    assert httpx.get(done["MediaUrl"], headers={"Range": "bytes=0-9"}).status_code == 403
    for write in (
        lambda: put(server, applied, small_clip, multipart=False),
        lambda: cos.create_multipart_upload(Bucket=bucket, Key=key),
        lambda: put(server, applied, small_clip, multipart=True),
    ):
        with pytest.raises(CosServiceError) as info:
            write()
        assert (info.value.get_status_code(), info.value.get_error_code()) == (
            403,
            "AccessDenied",
        )
    assert not [p for p in _staged_files(server) if key[8:20] in str(p)]

    # Enabled again, the same URL and the same session work.
    server.call("ModifySubAppIdStatus", {"SubAppId": app, "Status": "On"})
    assert httpx.get(done["MediaUrl"]).content == small_clip.read_bytes()
    put(server, applied, small_clip, multipart=False)
    server.call("CommitUpload", {"VodSessionKey": applied["VodSessionKey"], "SubAppId": app})


def test_unsigned_and_badly_signed_requests(server: ServerProcess) -> None:
    applied = apply(server)
    url = server.url + applied["MediaStoragePath"]
    r = httpx.put(url, content=b"abc")
    assert r.status_code == 403 and b"<Code>AccessDenied</Code>" in r.content
    cert = applied["TempCertificate"]
    forged = (
        f"q-sign-algorithm=sha1&q-ak={cert['SecretId']}&q-sign-time=1;9999999999"
        "&q-key-time=1;9999999999&q-header-list=&q-url-param-list=&q-signature=00"
    )
    r = httpx.put(url, content=b"abc", headers={"Authorization": forged})
    assert r.status_code == 403
    now = int(time.time())
    forged = forged.replace("1;9999999999", f"{now - 10};{now + 100}")
    r = httpx.put(
        url,
        content=b"abc",
        headers={"Authorization": forged, "x-cos-security-token": cert["Token"]},
    )
    assert r.status_code == 403 and b"SignatureDoesNotMatch" in r.content


def test_api_root_still_answers(server: ServerProcess) -> None:
    assert server.call("DescribeSubAppIds", {})["TotalCount"] >= 1


def test_names_and_parameters(server: ServerProcess) -> None:
    assert code_of(apply, server, "mp4", MediaName="n" * 20000) == "InvalidParameterValue"
    assert code_of(server.call, "ApplyUpload", {}) == "MissingParameter"
    assert code_of(server.call, "ApplyUpload", {"MediaType": 5}) == "InvalidParameter"
    assert code_of(apply, server, "exe") == "InvalidParameterValue.MediaType"
    assert code_of(apply, server, "../mp4") == "InvalidParameterValue.MediaType"
    assert code_of(apply, server, "mp4", CoverType="svg") == "InvalidParameterValue.CoverType"
    assert code_of(apply, server, "mp4", ExpireTime="yesterday") == (
        "InvalidParameterValue.ExpireTime"
    )
    assert code_of(apply, server, "mp4", ExpireTime="2001-01-01T00:00:00Z") == (
        "InvalidParameterValue.ExpireTime"
    )
    assert code_of(apply, server, "mp4", ClassId=-1) == "InvalidParameterValue.ClassId"
    # The same code as ProcessMedia and PullUpload answer for the same mistake.
    assert code_of(apply, server, "mp4", SessionContext="c" * 1001) == (
        "InvalidParameterValue.SessionContextTooLong"
    )
    assert code_of(server.call, "CommitUpload", {"VodSessionKey": "k" * 20000}) == (
        "InvalidParameterValue.VodSessionKey"
    )
    # A name with traversal is only a name: the key is vodflow's own.
    applied = apply(server, "mp4", MediaName="../../etc/passwd")
    assert ".." not in applied["MediaStoragePath"]


def test_upload_over_the_maximum_size(fresh_server: ServerProcess, small_clip: Path) -> None:
    fresh_server.env["VODFLOW_MAX_UPLOAD_BYTES"] = str(small_clip.stat().st_size - 1)
    fresh_server.start()
    applied = apply(fresh_server)
    with pytest.raises(CosServiceError) as info:
        put(fresh_server, applied, small_clip, multipart=False)
    assert info.value.get_error_code() == "EntityTooLarge"
    code = code_of(fresh_server.call, "CommitUpload", {"VodSessionKey": applied["VodSessionKey"]})
    assert code == "ResourceNotFound.FileNotExist"
    assert list((fresh_server.data_dir / "blobs" / ".tmp").iterdir()) == []


def test_procedure_on_upload_starts_the_flow(server: ServerProcess, small_clip: Path) -> None:
    _switch_upload_event(server)
    server.call(
        "CreateProcedureTemplate",
        {
            "Name": "upload-proc",
            "MediaProcessTask": {
                "CoverBySnapshotTaskSet": [
                    {"Definition": 10, "PositionType": "Time", "PositionValue": 0}
                ]
            },
        },
    )
    assert code_of(apply, server, "mp4", Procedure="no-such") == (
        "InvalidParameterValue.ProcedureName"
    )
    done = upload(server, small_clip, Procedure="upload-proc", SessionContext="proc-ctx")
    with db(server) as conn:
        tasks = conn.execute(
            "SELECT task_id, type, session_context FROM tasks WHERE file_id=?", (done["FileId"],)
        ).fetchall()
        bodies = [
            json.loads(r[0])["FileUploadEvent"]
            for r in conn.execute("SELECT body FROM events WHERE event_type='NewFileUpload'")
        ]
    assert [(t[1], t[2]) for t in tasks] == [("Procedure", "proc-ctx")]
    (event,) = [b for b in bodies if b["FileId"] == done["FileId"]]
    assert event["ProcedureTaskId"] == tasks[0][0]
    # The flow runs to its end and its cover becomes the media's.
    flow = wait_task(server, event["ProcedureTaskId"])
    assert flow["Status"] == "FINISH", flow
    procedure = flow["ProcedureTask"]
    assert procedure["ErrCode"] == 0 and procedure["FileId"] == done["FileId"]
    assert procedure["SessionContext"] == "proc-ctx"
    (result,) = procedure["MediaProcessResultSet"]
    assert result["Type"] == "CoverBySnapshot"
    assert result["CoverBySnapshotTask"]["Status"] == "SUCCESS"
    cover_url = describe(server, done["FileId"])["MediaInfoSet"][0]["BasicInfo"]["CoverUrl"]
    cover = httpx.get(cover_url)
    assert cover.status_code == 200 and cover.headers["content-type"].startswith("image/")


def test_cos_edge_requests(server: ServerProcess) -> None:
    applied = apply(server)
    send = signed_sender(server, applied)

    upload_id = ET.fromstring(send("POST", {"uploads": ""}).content).findtext("UploadId")
    assert upload_id
    bad_part = send("PUT", {"partNumber": "0", "uploadId": upload_id}, b"x")
    assert bad_part.status_code == 400 and b"InvalidArgument" in bad_part.content
    dtd = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "boom">]><CompleteMultipartUpload/>'
    refused = send("POST", {"uploadId": upload_id}, dtd)
    assert refused.status_code == 400 and b"MalformedXML" in refused.content
    garbage = send("POST", {"uploadId": upload_id}, b"<not xml")
    assert garbage.status_code == 400
    empty = send("POST", {"uploadId": upload_id}, b"<CompleteMultipartUpload/>")
    assert empty.status_code == 400
    unknown = send("PUT", {"partNumber": "1", "uploadId": "nope"}, b"x")
    assert unknown.status_code == 404 and b"NoSuchUpload" in unknown.content
    assert send("GET", {}).status_code == 405
    assert send("HEAD", {}).status_code == 404
    assert send("PUT", {}, b"hello").status_code == 200
    head = send("HEAD", {})
    assert head.status_code == 200 and head.headers["Content-Length"] == "5"


# --- the size limit on every path ------------------------------------------------------

LIMIT = 1000


@pytest.fixture
def small_limit(fresh_server: ServerProcess) -> ServerProcess:
    fresh_server.env["VODFLOW_MAX_UPLOAD_BYTES"] = str(LIMIT)
    return fresh_server.start()


def _nothing_kept(server: ServerProcess, applied: dict[str, Any]) -> None:
    code = code_of(server.call, "CommitUpload", {"VodSessionKey": applied["VodSessionKey"]})
    assert code == "ResourceNotFound.FileNotExist"
    assert _staged_files(server) == []
    assert list((server.data_dir / "blobs" / ".tmp").iterdir()) == []


def test_chunked_put_over_the_maximum_size(small_limit: ServerProcess) -> None:
    applied = apply(small_limit)
    send = signed_sender(small_limit, applied)
    refused = send("PUT", {}, iter([b"x" * 600, b"y" * 600]))
    assert "Content-Length" not in refused.request.headers
    assert refused.request.headers["Transfer-Encoding"] == "chunked"
    assert refused.status_code == 400 and b"<Code>EntityTooLarge</Code>" in refused.content
    _nothing_kept(small_limit, applied)
    # At the limit it is taken.
    assert send("PUT", {}, iter([b"x" * 600, b"y" * 400])).status_code == 200


def test_multipart_parts_over_the_maximum_size(small_limit: ServerProcess) -> None:
    applied = apply(small_limit)
    send = signed_sender(small_limit, applied)
    upload_id = ET.fromstring(send("POST", {"uploads": ""}).content).findtext("UploadId")
    assert upload_id
    part = {"uploadId": upload_id}
    assert send("PUT", part | {"partNumber": "1"}, b"a" * 600).status_code == 200
    # Part 2 would take the sum past the maximum: refused while it is sent.
    refused = send("PUT", part | {"partNumber": "2"}, iter([b"b" * 300, b"b" * 300]))
    assert refused.status_code == 400 and b"EntityTooLarge" in refused.content
    listed = ET.fromstring(send("GET", part).content)
    assert [p.findtext("PartNumber") for p in listed.iter("Part")] == ["1"]
    # Re-sending part 1 replaces it, so its own size does not count twice.
    assert send("PUT", part | {"partNumber": "1"}, b"a" * 900).status_code == 200
    assert send("DELETE", part).status_code == 204
    _nothing_kept(small_limit, applied)


def test_multipart_complete_over_the_maximum_size(small_limit: ServerProcess) -> None:
    """Parts sent at the same time each fit; their sum is refused at complete."""
    applied = apply(small_limit)
    send = signed_sender(small_limit, applied)
    upload_id = ET.fromstring(send("POST", {"uploads": ""}).content).findtext("UploadId")
    assert upload_id
    part = {"uploadId": upload_id}
    half_sent, release = threading.Event(), threading.Event()

    def slow_body() -> Iterator[bytes]:
        yield b"a" * 300
        half_sent.set()
        release.wait(30)
        yield b"a" * 300

    answers: dict[str, Any] = {}
    first = threading.Thread(
        target=lambda: answers.update(one=send("PUT", part | {"partNumber": "1"}, slow_body()))
    )
    first.start()
    assert half_sent.wait(30)
    # Part 1 is being received (its temporary file exists, so the server has already
    # measured the other parts) but is not stored yet when part 2 arrives.
    tmp_dir = small_limit.data_dir / "blobs" / ".tmp"
    wait_until(lambda: {"files": list(tmp_dir.iterdir())}, lambda d: bool(d["files"]), 30, 0.05)
    two = send("PUT", part | {"partNumber": "2"}, b"b" * 600)
    release.set()
    first.join(60)
    one = answers["one"]
    assert (one.status_code, two.status_code) == (200, 200)
    listing = "".join(
        f"<Part><PartNumber>{n}</PartNumber><ETag>{r.headers['ETag']}</ETag></Part>"
        for n, r in ((1, one), (2, two))
    )
    body = f"<CompleteMultipartUpload>{listing}</CompleteMultipartUpload>".encode()
    refused = send("POST", part, body)
    assert refused.status_code == 400 and b"EntityTooLarge" in refused.content
    # The upload can never complete: it is gone with its parts.
    assert b"NoSuchUpload" in send("GET", part).content
    _nothing_kept(small_limit, applied)
