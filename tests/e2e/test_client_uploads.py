"""Uploads from clients: client upload signatures, the UGC API, S3 clients (SigV4), CORS.

What a browser or phone app does (PrepareUploadUGC, ApplyUploadUGC, the bytes to
COS, CommitUploadUGC), driven here with httpx and boto3 against a real server.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import subprocess
import sys
import time
import zlib
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.mediagen import make_png, make_video
from tests.servers import SECRET_ID, SECRET_KEY, ServerProcess
from tests.ugckit import (
    apply,
    bucket,
    new_app,
    pull_until,
    s3,
    signature,
    start_https,
    ugc,
)
from vodflow.upload_signature import decode, sign

pytestmark = pytest.mark.e2e

MIB = 1024 * 1024


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_video(tmp_path_factory.mktemp("ugc") / "clip.mp4", duration=2.0)


@pytest.fixture(scope="module")
def big_ts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 12 MiB of valid MPEG-TS (a clip repeated), for multipart uploads."""
    folder = tmp_path_factory.mktemp("ugc-big")
    unit = make_video(folder / "unit.ts", duration=4.0, vbitrate="4000k").read_bytes()
    path = folder / "big.ts"
    path.write_bytes(unit * (12 * MIB // len(unit) + 1))
    return path


def procedure(server: ServerProcess, app_id: int, name: str) -> str:
    server.call(
        "CreateProcedureTemplate",
        {
            "SubAppId": app_id,
            "Name": name,
            "MediaProcessTask": {
                "SnapshotByTimeOffsetTaskSet": [{"Definition": 10, "ExtTimeOffsetSet": ["1s"]}]
            },
        },
    )
    return name


def key_of(data: dict[str, Any]) -> str:
    return str(data["video"]["storagePath"]).lstrip("/")


def md5_of(server: ServerProcess, app_id: int, file_id: str) -> tuple[str, int]:
    info = server.call("DescribeMediaInfos", {"SubAppId": app_id, "FileIds": [file_id]})
    meta = info["MediaInfoSet"][0]["MetaData"]
    return meta["Md5"], meta["Size"]


def refusal(server: ServerProcess, action: str, body: dict[str, Any]) -> tuple[int, str]:
    answer = ugc(server, action, body)
    assert answer["data"] == {}
    return answer["code"], answer["message"]


# --- the whole path -----------------------------------------------------------------------


def test_signed_procedure_runs_after_commit_with_the_signatures_options(
    server: ServerProcess, clip: Path
) -> None:
    app_id = new_app(server, "ugc-flow")
    name = procedure(server, app_id, "ugc-snapshot")
    sig = signature(
        procedure=name,
        sub_app_id=app_id,
        class_id=0,
        source_context="user=7",
        session_context="ctx-7",
        task_priority=7,
        task_notify_mode="Finish",
    )
    prepared = ugc(server, "PrepareUploadUGC", {"signature": sig})
    assert prepared["code"] == 0
    assert prepared["data"]["appId"] == app_id
    assert [r["region"] for r in prepared["data"]["cosRegionList"]] == ["ap-local"]

    data = apply(server, sig, videoName="phone clip", videoSize=clip.stat().st_size)
    assert (data["appId"], data["storageAppId"], data["StorageRegionV5"]) == (
        app_id,
        app_id,
        "ap-local",
    )
    assert data["video"]["storagePath"].startswith("/upload/")
    put = s3(server, data).put_object(Bucket=bucket(data), Key=key_of(data), Body=clip.read_bytes())
    assert put["ETag"] == f'"{hashlib.md5(clip.read_bytes()).hexdigest()}"'
    committed = ugc(
        server, "CommitUploadUGC", {"signature": sig, "vodSessionKey": data["vodSessionKey"]}
    )
    assert committed["code"] == 0, committed
    file_id = committed["data"]["fileId"]
    assert committed["data"]["video"]["url"].startswith(f"{server.url}/vod/{app_id}/{file_id}/")

    events = pull_until(
        server, app_id, lambda got: any(e["EventType"] == "ProcedureStateChanged" for e in got)
    )
    upload = next(e["FileUploadEvent"] for e in events if e["EventType"] == "NewFileUpload")
    assert upload["FileId"] == file_id
    assert upload["MediaBasicInfo"]["Name"] == "phone clip"
    assert upload["MediaBasicInfo"]["SourceInfo"]["SourceContext"] == "user=7"
    flow = next(
        e["ProcedureStateChangeEvent"] for e in events if e["EventType"] == "ProcedureStateChanged"
    )
    assert (flow["Status"], flow["FileId"], flow["SessionContext"]) == ("FINISH", file_id, "ctx-7")
    detail = server.call("DescribeTaskDetail", {"SubAppId": app_id, "TaskId": flow["TaskId"]})
    assert detail["ProcedureTask"]["TasksPriority"] == 7
    assert detail["ProcedureTask"]["TasksNotifyMode"] == "Finish"
    assert md5_of(server, app_id, file_id) == (
        hashlib.md5(clip.read_bytes()).hexdigest(),
        clip.stat().st_size,
    )
    # The session committed: the signature cannot commit it twice.
    again = ugc(
        server, "CommitUploadUGC", {"signature": sig, "vodSessionKey": data["vodSessionKey"]}
    )
    assert again["code"] == 10001
    assert "InvalidParameterValue.VodSessionKey" in again["message"]


def test_task_notify_mode_none_sends_no_flow_event(server: ServerProcess, clip: Path) -> None:
    app_id = new_app(server, "ugc-quiet")
    name = procedure(server, app_id, "ugc-quiet")
    sig = signature(procedure=name, sub_app_id=app_id, task_notify_mode="None")
    data = apply(server, sig)
    s3(server, data).put_object(Bucket=bucket(data), Key=key_of(data), Body=clip.read_bytes())
    done = ugc(
        server, "CommitUploadUGC", {"signature": sig, "vodSessionKey": data["vodSessionKey"]}
    )
    file_id = done["data"]["fileId"]
    tasks = server.call("DescribeTasks", {"SubAppId": app_id, "FileId": file_id})["TaskSet"]
    (task,) = tasks
    deadline = time.monotonic() + 120
    while (
        server.call("DescribeTaskDetail", {"SubAppId": app_id, "TaskId": task["TaskId"]})["Status"]
        != "FINISH"
    ):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    events = pull_until(server, app_id, lambda got: len(got) >= 1)
    time.sleep(1)
    events += server.call("PullEvents", {"SubAppId": app_id})["EventSet"]
    assert [e["EventType"] for e in events] == ["NewFileUpload"]


def test_resumed_session_gets_a_fresh_credential(server: ServerProcess, clip: Path) -> None:
    sig = signature()
    first = apply(server, sig)
    again = ugc(
        server, "ApplyUploadUGC", {"signature": sig, "vodSessionKey": first["vodSessionKey"]}
    )
    assert again["code"] == 0
    resumed = again["data"]
    assert resumed["vodSessionKey"] == first["vodSessionKey"]
    assert resumed["video"] == first["video"]
    assert resumed["tempCertificate"]["secretId"] != first["tempCertificate"]["secretId"]
    s3(server, resumed).put_object(
        Bucket=bucket(resumed), Key=key_of(resumed), Body=clip.read_bytes()
    )
    done = ugc(
        server, "CommitUploadUGC", {"signature": sig, "vodSessionKey": first["vodSessionKey"]}
    )
    assert done["code"] == 0


def test_android_sdk_request_shapes(server: ServerProcess, clip: Path) -> None:
    """The bodies Tencent's Android upload module (UGCClient) sends, field for field."""
    sig = signature()
    prepared = ugc(server, "PrepareUploadUGC", {"clientVersion": "12.0.0", "signature": sig})
    assert prepared["code"] == 0, prepared
    applied = ugc(
        server,
        "ApplyUploadUGC",
        {
            "signature": sig,
            "videoName": "android",
            "videoType": "mp4",
            "videoSize": clip.stat().st_size,
            "clientReportId": "report-1",
            "clientVersion": "12.0.0",
            "storageRegion": "ap-local",
        },
    )
    assert applied["code"] == 0, applied
    data = applied["data"]
    s3(server, data).put_object(Bucket=bucket(data), Key=key_of(data), Body=clip.read_bytes())
    body = {
        "signature": sig,
        "clientReportId": "report-1",
        "clientVersion": "12.0.0",
        "vodSessionKey": data["vodSessionKey"],
    }
    assert ugc(server, "CommitUploadUGC", body)["code"] == 0


def test_video_with_cover(server: ServerProcess, clip: Path, tmp_path: Path) -> None:
    cover = make_png(tmp_path / "cover.png", width=64, height=48)
    sig = signature()
    data = apply(
        server,
        sig,
        videoName="with cover",
        coverName="thumb",
        coverType="png",
        coverSize=cover.stat().st_size,
    )
    assert data["cover"]["storagePath"].endswith("/cover.png")
    client = s3(server, data)
    client.put_object(Bucket=bucket(data), Key=key_of(data), Body=clip.read_bytes())
    cover_key = data["cover"]["storagePath"].lstrip("/")
    client.put_object(Bucket=bucket(data), Key=cover_key, Body=cover.read_bytes())
    done = ugc(
        server, "CommitUploadUGC", {"signature": sig, "vodSessionKey": data["vodSessionKey"]}
    )
    assert done["code"] == 0, done
    served = httpx.get(done["data"]["cover"]["url"])
    assert served.content == cover.read_bytes()
    info = server.call("DescribeMediaInfos", {"FileIds": [done["data"]["fileId"]]})
    assert info["MediaInfoSet"][0]["BasicInfo"]["CoverUrl"] == done["data"]["cover"]["url"]


def test_cli_sign_upload_issues_a_signature_vodflow_takes(server: ServerProcess) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "vodflow.cli", "sign-upload", "--procedure", "p1", "--one-time"],
        env={"VODFLOW_SECRET_ID": SECRET_ID, "VODFLOW_SECRET_KEY": SECRET_KEY, "PATH": ""},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    sig = out.stdout.strip()
    _, _, params = decode(sig)
    assert (params["secretId"], params["procedure"], params["oneTimeValid"]) == (
        SECRET_ID,
        "p1",
        "1",
    )
    assert int(params["expireTime"]) - int(params["currentTimeStamp"]) == 3600
    # The procedure p1 does not exist: the server checked it by name.
    code, message = refusal(server, "ApplyUploadUGC", {"signature": sig, "videoType": "mp4"})
    assert code == 10001 and "p1" in message


# --- refused signatures -------------------------------------------------------------------


def test_forged_signature(server: ServerProcess) -> None:
    forged = sign(SECRET_ID, "not-the-secret-key")
    code, message = refusal(server, "ApplyUploadUGC", {"signature": forged, "videoType": "mp4"})
    assert code == 10004
    assert message == "ugc upload | invalid signature: the signature does not match its parameters"
    # The same digest over changed parameters (a longer validity) is as forged.
    raw = base64.b64decode(signature(expire_in=60))
    stretched = raw[:20] + raw[20:].replace(b"expireTime=", b"expireTime=9")
    code, message = refusal(
        server,
        "ApplyUploadUGC",
        {"signature": base64.b64encode(stretched).decode(), "videoType": "mp4"},
    )
    assert (code, message.endswith("does not match its parameters")) == (10004, True)
    code, message = refusal(server, "PrepareUploadUGC", {"signature": sign("AKIDnobody", "x")})
    assert (code, message) == (10004, "ugc upload | invalid signature: the secretId is unknown")


def test_expired_signature(server: ServerProcess) -> None:
    old = signature(now=int(time.time()) - 7200, expire_in=3600)
    code, message = refusal(server, "ApplyUploadUGC", {"signature": old, "videoType": "mp4"})
    assert code == 10004 and "the signature expired at" in message
    too_long = signature(expire_in=7_776_001)
    code, message = refusal(server, "ApplyUploadUGC", {"signature": too_long, "videoType": "mp4"})
    assert code == 10004 and "by at most 7776000 s" in message


def test_one_time_signature_is_used_once(server: ServerProcess) -> None:
    once = signature(one_time_valid=True)
    assert ugc(server, "ApplyUploadUGC", {"signature": once, "videoType": "mp4"})["code"] == 0
    code, message = refusal(server, "ApplyUploadUGC", {"signature": once, "videoType": "mp4"})
    assert (code, message) == (
        10004,
        "ugc upload | invalid signature: this one-time signature (oneTimeValid=1) was already used",
    )
    reusable = signature()
    for _ in range(2):
        assert (
            ugc(server, "ApplyUploadUGC", {"signature": reusable, "videoType": "mp4"})["code"] == 0
        )


def test_other_applications_signature(server: ServerProcess, clip: Path) -> None:
    mine, other = new_app(server, "ugc-mine"), new_app(server, "ugc-other")
    temp = server.call("CreateTempCredential", {"SubAppId": mine, "DurationSeconds": 600})
    cred = temp.get("Credentials", temp)
    key_id, secret = cred["TmpSecretId"], cred["TmpSecretKey"]
    # A credential limited to one application signs for it only.
    code, message = refusal(
        server,
        "ApplyUploadUGC",
        {"signature": sign(key_id, secret, sub_app_id=other), "videoType": "mp4"},
    )
    assert code == 10004 and f"limited to application {mine}, not {other}" in message
    data = apply(server, sign(key_id, secret))
    assert data["appId"] == mine
    # A session is its application's: another application's signature cannot commit it.
    s3(server, data).put_object(Bucket=bucket(data), Key=key_of(data), Body=clip.read_bytes())
    code, message = refusal(
        server,
        "CommitUploadUGC",
        {"signature": signature(sub_app_id=other), "vodSessionKey": data["vodSessionKey"]},
    )
    assert code == 10001 and "InvalidParameterValue.VodSessionKey" in message
    # An application that does not exist, and a disabled one.
    code, message = refusal(
        server, "PrepareUploadUGC", {"signature": signature(sub_app_id=1999999999)}
    )
    assert code == 10004 and "vodSubAppId" in message and "1999999999" in message
    server.call("ModifySubAppIdStatus", {"SubAppId": other, "Status": "Off"})
    code, message = refusal(server, "PrepareUploadUGC", {"signature": signature(sub_app_id=other)})
    assert code == 10004 and "disabled" in message
    # An upload credential (what ApplyUploadUGC hands out) cannot sign uploads.
    upload_cred = data["tempCertificate"]
    code, message = refusal(
        server,
        "PrepareUploadUGC",
        {"signature": sign(upload_cred["secretId"], upload_cred["secretKey"])},
    )
    assert code == 10004 and "cannot sign uploads" in message


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"extra": {"isTranscode": "1"}}, "does not support the signature parameter isTranscode"),
        ({"task_notify_mode": "Sometimes"}, "taskNotifyMode must be Finish, Change or None"),
        ({"task_priority": 11}, "taskPriority must be between -10 and 10"),
        ({"storage_region": "ap-guangzhou"}, "storageRegion ap-guangzhou does not exist"),
        ({"source_context": "x" * 251}, "sourceContext is longer than 250"),
        ({"session_context": "x" * 1001}, "sessionContext is longer than 1000"),
        ({"extra": {"oneTimeValid": "2"}}, "oneTimeValid must be between 0 and 1"),
        ({"random": 2**32}, "random must be between 0 and 4294967295"),
        ({"extra": {"classId": "abc"}}, "classId must be an integer"),
    ],
)
def test_signature_parameters_refused_by_name(
    server: ServerProcess, params: dict[str, Any], named: str
) -> None:
    code, message = refusal(
        server, "ApplyUploadUGC", {"signature": signature(**params), "videoType": "mp4"}
    )
    assert code == 10004
    assert named in message


def test_bad_requests_answer_10001(server: ServerProcess) -> None:
    sig = signature()
    cases = [
        ({"signature": sig, "videoType": "mp4", "isWeb": 1}, "isWeb"),
        ({"signature": sig}, "videoType is required"),
        ({"signature": sig, "videoType": "mp4", "fileId": "123"}, "fileId"),
        ({"signature": sig, "videoType": "mp4", "videoSize": 2**50}, "videoSize exceeds"),
        ({"signature": sig, "videoType": "exe"}, "InvalidParameterValue"),
        ({"videoType": "mp4"}, "signature"),
    ]
    for body, named in cases:
        code, message = refusal(server, "ApplyUploadUGC", body)
        assert code == 10001, (body, message)
        assert named in message, (body, message)
    code, message = refusal(server, "DeleteEverythingUGC", {"signature": sig})
    assert code == 10001 and "DeleteEverythingUGC" in message
    hostile = [
        b"[1,2]",
        b"[" * 60000,  # nested past the JSON decoder's recursion limit
        b"\xff\xfe{}",
        b'{"signature": "' + b"A" * 70000 + b'"}',  # past the 64 KiB body limit
        rb'{"signature": "\u0000\ud800", "videoType": "mp4"}',
        b'{"signature": 7, "videoType": "mp4"}',
    ]
    for body in hostile:
        r = httpx.post(f"{server.url}/v3/index.php?Action=ApplyUploadUGC", content=body)
        assert r.status_code == 200
        assert r.json()["code"] in (10001, 10004), (body[:40], r.text)
    forged = base64.b64encode(b"\x00" * 20 + b"secretId=%FF%FE&currentTimeStamp=1").decode()
    code, _ = refusal(server, "PrepareUploadUGC", {"signature": forged})
    assert code == 10004


# --- S3 clients: boto3 with the temporary credential --------------------------------------


@pytest.mark.parametrize("https", [False, True], ids=["http-signed-payload", "https-aws-chunked"])
def test_boto3_single_and_multipart(
    server: ServerProcess, big_ts: Path, clip: Path, https: bool, tmp_path: Path
) -> None:
    """Over HTTP boto3 signs the payload's SHA-256 and sends x-amz-checksum-crc32; over
    HTTPS it streams aws-chunked with a CRC32 trailer (STREAMING-UNSIGNED-PAYLOAD-TRAILER)."""
    srv = start_https(tmp_path) if https else server
    try:
        sent: list[str] = []
        for path, multipart in ((clip, False), (big_ts, True)):
            data = apply(srv, signature(), "ts" if multipart else "mp4")
            client = s3(srv, data)
            client.meta.events.register(
                "before-send.s3",
                lambda request, **_: sent.append(request.headers["x-amz-content-sha256"].decode()),
            )
            config = TransferConfig(
                multipart_threshold=5 * MIB if multipart else 1024 * MIB,
                multipart_chunksize=5 * MIB,
            )
            client.upload_file(str(path), bucket(data), key_of(data), Config=config)
            done = ugc(
                srv,
                "CommitUploadUGC",
                {"signature": signature(), "vodSessionKey": data["vodSessionKey"]},
            )
            assert done["code"] == 0, done
            digest = hashlib.md5(path.read_bytes()).hexdigest()
            assert md5_of(srv, 1250000000, done["data"]["fileId"]) == (digest, path.stat().st_size)
        if https:
            assert sent.count("STREAMING-UNSIGNED-PAYLOAD-TRAILER") == 4  # 1 PUT + 3 parts
        else:
            assert all(len(s) == 64 for s in sent)  # the payload's SHA-256, verified
        assert len(sent) == 1 + 1 + 3 + 1  # PUT; initiate, 3 parts, complete
    finally:
        if srv is not server:
            srv.stop()


def _sigv4_put(
    server: ServerProcess,
    data: dict[str, Any],
    body: bytes,
    *,
    headers: dict[str, str] | None = None,
    payload_hash: str | None = None,
    host: str | None = None,
    path: str | None = None,
    token: str | None = None,
) -> httpx.Response:
    """A PUT signed with SigV4 by hand, so a test can change what it signed."""
    temp = data["tempCertificate"]
    t = datetime.datetime.now(datetime.UTC)
    amz_date, day = t.strftime("%Y%m%dT%H%M%SZ"), t.strftime("%Y%m%d")
    host = host or server.host
    path = path or f"/{bucket(data)}/{key_of(data)}"
    h = {
        "host": host,
        "x-amz-date": amz_date,
        "x-amz-content-sha256": payload_hash or hashlib.sha256(body).hexdigest(),
        "x-amz-security-token": token if token is not None else temp["token"],
        **(headers or {}),
    }
    signed = sorted(h)
    creq = "\n".join(
        [
            "PUT",
            path,
            "",
            "".join(f"{k}:{h[k]}\n" for k in signed),
            ";".join(signed),
            h["x-amz-content-sha256"],
        ]
    )
    scope = f"{day}/ap-local/s3/aws4_request"
    to_sign = f"AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{hashlib.sha256(creq.encode()).hexdigest()}"
    key = f"AWS4{temp['secretKey']}".encode()
    for part in (day, "ap-local", "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    sig = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    h["authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={temp['secretId']}/{scope}, "
        f"SignedHeaders={';'.join(signed)}, Signature={sig}"
    )
    return httpx.put(f"{server.url}{path}", headers=h, content=body, timeout=30)


def _code(r: httpx.Response) -> tuple[int, str]:
    import re

    m = re.search(r"<Code>([^<]+)</Code>", r.text)
    return r.status_code, m[1] if m else ""


def test_sigv4_tampering_is_refused(server: ServerProcess, clip: Path) -> None:
    data = apply(server, signature())
    body = clip.read_bytes()
    head = s3(server, data)

    def stored() -> bool:
        try:
            head.head_object(Bucket=bucket(data), Key=key_of(data))
            return True
        except ClientError:
            return False

    # The body differs from the SHA-256 that was signed.
    r = _sigv4_put(server, data, body + b"x", payload_hash=hashlib.sha256(body).hexdigest())
    assert _code(r) == (400, "XAmzContentSHA256Mismatch")
    assert not stored()  # nothing of a refused body is kept
    # A signed header changed after signing (the signature is the client's, the date is not).
    sent = _sigv4_put(server, data, body, headers={"x-amz-meta-user": "7"})
    assert sent.status_code == 200
    forged = dict(sent.request.headers)
    forged["x-amz-meta-user"] = "8"
    r = httpx.put(str(sent.request.url), headers=forged, content=body)
    assert _code(r) == (403, "SignatureDoesNotMatch")
    # Wrong secret key, wrong token, an unknown key id.
    wrong = s3(server, data, secret="0" * 32)
    with pytest.raises(ClientError) as info:
        wrong.put_object(Bucket=bucket(data), Key=key_of(data), Body=body)
    assert info.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    assert _code(_sigv4_put(server, data, body, token="stolen")) == (403, "InvalidToken")
    with pytest.raises(ClientError) as info:
        s3(server, data, key_id="AKIDnobody").put_object(
            Bucket=bucket(data), Key=key_of(data), Body=body
        )
    assert info.value.response["Error"]["Code"] == "InvalidAccessKeyId"
    # A checksum header that does not match the body; one vodflow cannot compute.
    bad_crc = base64.b64encode((zlib.crc32(body) ^ 1).to_bytes(4, "big")).decode()
    r = _sigv4_put(
        server,
        data,
        body,
        payload_hash="UNSIGNED-PAYLOAD",
        headers={"x-amz-checksum-crc32": bad_crc},
    )
    assert _code(r) == (400, "BadDigest")
    r = _sigv4_put(server, data, body, headers={"x-amz-checksum-crc32c": "AAAAAA=="})
    assert _code(r) == (400, "InvalidRequest") and "crc32c" in r.text
    # Another bucket, by Host (virtual-host style) and by path.
    r = _sigv4_put(
        server,
        data,
        body,
        host="vodflow-1.cos.ap-local.myqcloud.com",
        path=f"/{key_of(data)}",
    )
    assert _code(r) == (404, "NoSuchBucket")
    r = _sigv4_put(server, data, body, path=f"/vodflow-1/{key_of(data)}")
    assert _code(r) == (404, "NoSuchBucket")
    # Its own bucket by Host: accepted, with the right checksum too.
    good_crc = base64.b64encode(zlib.crc32(body).to_bytes(4, "big")).decode()
    r = _sigv4_put(
        server,
        data,
        body,
        host=f"{bucket(data)}.cos.ap-local.myqcloud.com",
        path=f"/{key_of(data)}",
        payload_hash="UNSIGNED-PAYLOAD",
        headers={"x-amz-checksum-crc32": good_crc},
    )
    assert r.status_code == 200, r.text
    assert stored()


@pytest.mark.parametrize("trailer", [False, True], ids=["signed-chunks", "signed-trailer"])
def test_streaming_signed_chunks(server: ServerProcess, clip: Path, trailer: bool) -> None:
    """STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]: each chunk signed, chained from the
    seed signature; with a trailer, a CRC32 checksum after the last chunk, signed too."""
    data = apply(server, signature())
    body = clip.read_bytes()
    temp = data["tempCertificate"]
    t = datetime.datetime.now(datetime.UTC)
    amz_date, day = t.strftime("%Y%m%dT%H%M%SZ"), t.strftime("%Y%m%d")
    scope = f"{day}/ap-local/s3/aws4_request"
    key = f"AWS4{temp['secretKey']}".encode()
    for part in (day, "ap-local", "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    chunks = [body[i : i + 65536] for i in range(0, len(body), 65536)] + [b""]

    def hmac_hex(text: str) -> str:
        return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()

    def encode(seed: str, tamper: str = "") -> bytes:
        out, previous = b"", seed
        empty = hashlib.sha256(b"").hexdigest()
        for chunk in chunks:
            digest = hashlib.sha256(chunk).hexdigest()
            previous = hmac_hex(
                f"AWS4-HMAC-SHA256-PAYLOAD\n{amz_date}\n{scope}\n{previous}\n{empty}\n{digest}"
            )
            sent = chunk[:-1] + b"!" if tamper == "chunk" and chunk else chunk
            out += f"{len(chunk):x};chunk-signature={previous}\r\n".encode() + sent
            out += b"\r\n" if chunk or not trailer else b""
        if trailer:
            crc = zlib.crc32(body) ^ (1 if tamper == "checksum" else 0)
            line = "x-amz-checksum-crc32:" + base64.b64encode(crc.to_bytes(4, "big")).decode()
            signed = hmac_hex(
                f"AWS4-HMAC-SHA256-TRAILER\n{amz_date}\n{scope}\n{previous}\n"
                + hashlib.sha256(f"{line}\n".encode()).hexdigest()
            )
            if tamper == "trailer":
                line = line[:-2] + ("AA" if line[-2:] != "AA" else "BB")
            out += f"{line}\r\nx-amz-trailer-signature:{signed}\r\n\r\n".encode()
        return out

    path = f"/{bucket(data)}/{key_of(data)}"
    h = {
        "host": server.host,
        "x-amz-date": amz_date,
        "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
        + ("-TRAILER" if trailer else ""),
        "x-amz-security-token": temp["token"],
        "x-amz-decoded-content-length": str(len(body)),
        "content-encoding": "aws-chunked",
    }
    if trailer:
        h["x-amz-trailer"] = "x-amz-checksum-crc32"
    signed = sorted(h)
    creq = "\n".join(
        [
            "PUT",
            path,
            "",
            "".join(f"{k}:{h[k]}\n" for k in signed),
            ";".join(signed),
            h["x-amz-content-sha256"],
        ]
    )
    seed = hmac_hex(
        f"AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{hashlib.sha256(creq.encode()).hexdigest()}"
    )
    h["authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={temp['secretId']}/{scope}, "
        f"SignedHeaders={';'.join(signed)}, Signature={seed}"
    )
    url = f"{server.url}{path}"
    assert _code(httpx.put(url, headers=h, content=encode(seed, "chunk"))) == (
        403,
        "SignatureDoesNotMatch",
    )
    if trailer:
        # A trailer changed after signing; a signed trailer whose checksum is wrong.
        r = httpx.put(url, headers=h, content=encode(seed, "trailer"))
        assert _code(r) == (403, "SignatureDoesNotMatch")
        assert _code(httpx.put(url, headers=h, content=encode(seed, "checksum"))) == (
            400,
            "BadDigest",
        )
    short = {**h, "x-amz-decoded-content-length": str(len(body) + 1)}
    assert _code(httpx.put(url, headers=short, content=encode(seed))) == (
        403,
        "SignatureDoesNotMatch",  # the length is a signed header
    )
    r = httpx.put(url, headers=h, content=encode(seed))
    assert r.status_code == 200, r.text
    assert r.headers["etag"] == f'"{hashlib.md5(body).hexdigest()}"'


# --- CORS ---------------------------------------------------------------------------------


def test_cors_preflight_and_headers(server: ServerProcess) -> None:
    origin = {"Origin": "https://app.example"}
    for path in ("/v3/index.php?Action=ApplyUploadUGC", "/upload/x/y.mp4?partNumber=1"):
        r = httpx.options(
            f"{server.url}{path}",
            headers={
                **origin,
                "Access-Control-Request-Method": "PUT",
                "Access-Control-Request-Headers": "authorization,x-amz-date,content-type",
            },
        )
        assert r.status_code == 200
        assert r.headers["access-control-allow-origin"] == "*"
        assert "PUT" in r.headers["access-control-allow-methods"]
        assert r.headers["access-control-allow-headers"] == "authorization,x-amz-date,content-type"
        assert "ETag" in r.headers["access-control-expose-headers"]
    answer = httpx.post(
        f"{server.url}/v3/index.php?Action=PrepareUploadUGC",
        json={"signature": signature()},
        headers=origin,
    )
    assert answer.headers["access-control-allow-origin"] == "*"
    # The VOD API itself stays closed to pages.
    api = httpx.options(
        f"{server.url}/", headers={**origin, "Access-Control-Request-Method": "POST"}
    )
    assert "access-control-allow-origin" not in api.headers


def test_boto3_virtual_host_style(server: ServerProcess, clip: Path) -> None:
    """boto3 addressing the bucket in the Host, as browsers do (the host is resolved here)."""
    data = apply(server, signature())
    temp = data["tempCertificate"]
    client = boto3.client(
        "s3",
        endpoint_url=f"http://cos.ap-local.myqcloud.com:{server.port}",
        region_name="ap-local",
        aws_access_key_id=temp["secretId"],
        aws_secret_access_key=temp["secretKey"],
        aws_session_token=temp["token"],
        config=Config(s3={"addressing_style": "virtual"}),
    )
    hosts: list[str] = []
    virtual = f"{bucket(data)}.cos.ap-local.myqcloud.com"

    def to_loopback(request: Any, **_: Any) -> None:
        hosts.append(request.url)
        request.headers["Host"] = f"{virtual}:{server.port}"
        request.url = request.url.replace(virtual, "127.0.0.1")

    client.meta.events.register("before-send.s3", to_loopback)
    client.put_object(Bucket=bucket(data), Key=key_of(data), Body=clip.read_bytes())
    assert hosts == [f"http://{virtual}:{server.port}/{key_of(data)}"]
    done = ugc(
        server,
        "CommitUploadUGC",
        {"signature": signature(), "vodSessionKey": data["vodSessionKey"]},
    )
    assert done["code"] == 0
