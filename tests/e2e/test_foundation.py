"""The API front, driven by the official SDK against a real vodflow process."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from tencentcloud.common import credential
from tencentcloud.common.common_client import CommonClient
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.vod.v20180717 import models, vod_client

from tests import mediagen
from tests.servers import APP_ID, DEPLOYMENT, SECRET_ID, SECRET_KEY, ServerProcess
from tests.signing import signed_headers
from tests.uploadkit import apply, signed_sender, upload
from vodflow.config import Settings
from vodflow.ratelimit import RateLimiter

pytestmark = pytest.mark.e2e


def sdk_error(fn, *args) -> TencentCloudSDKException:  # type: ignore[no-untyped-def]
    with pytest.raises(TencentCloudSDKException) as info:
        fn(*args)
    return info.value


def test_application_lifecycle(server: ServerProcess) -> None:
    vod = server.vod()
    req = models.CreateSubAppIdRequest()
    req.Name = "media-team"
    req.Description = "team app"
    app_id = vod.CreateSubAppId(req).SubAppId
    assert app_id > 1500000000

    req = models.DescribeSubAppIdsRequest()
    listed = vod.DescribeSubAppIds(req)
    ids = {info.SubAppId: info for info in listed.SubAppIdInfoSet}
    assert APP_ID in ids and app_id in ids
    assert listed.TotalCount == len(ids)
    assert ids[app_id].Name == "media-team"
    assert ids[app_id].Status == "On"
    assert ids[app_id].CreateTime.endswith("Z")

    req = models.ModifySubAppIdInfoRequest()
    req.SubAppId = app_id
    req.Name = "renamed"
    vod.ModifySubAppIdInfo(req)

    req = models.ModifySubAppIdStatusRequest()
    req.SubAppId = app_id
    req.Status = "Off"
    vod.ModifySubAppIdStatus(req)

    # A disabled application refuses access to its resources...
    info = models.ModifySubAppIdInfoRequest()
    info.SubAppId = app_id
    info.Name = "still-renamable"
    vod.ModifySubAppIdInfo(info)
    probe = server.common()
    err = sdk_error(probe.call_json, "CreateTempCredential", {"SubAppId": app_id})
    assert err.get_code() == "UnauthorizedOperation"
    # ...until it is enabled again.
    req.Status = "On"
    vod.ModifySubAppIdStatus(req)
    server.call("CreateTempCredential", {"SubAppId": app_id})

    by_name = models.DescribeSubAppIdsRequest()
    by_name.Name = "still-renamable"
    assert [i.SubAppId for i in vod.DescribeSubAppIds(by_name).SubAppIdInfoSet] == [app_id]


def test_unknown_sub_app_id(server: ServerProcess) -> None:
    req = models.ModifySubAppIdInfoRequest()
    req.SubAppId = 1599999999
    req.Name = "x"
    err = sdk_error(server.vod().ModifySubAppIdInfo, req)
    assert err.get_code() == "InvalidParameterValue.SubAppId"


def test_default_application_cannot_be_disabled(server: ServerProcess) -> None:
    req = models.ModifySubAppIdStatusRequest()
    req.SubAppId = APP_ID
    req.Status = "Off"
    assert sdk_error(server.vod().ModifySubAppIdStatus, req).get_code() == "UnsupportedOperation"


@pytest.mark.parametrize(
    ("secret_id", "secret_key", "code"),
    [
        (SECRET_ID, "wrong-key", "AuthFailure.SignatureFailure"),
        ("AKIDnobodyHasThisSecretId000000000", SECRET_KEY, "AuthFailure.SecretIdNotFound"),
    ],
)
def test_bad_credentials(server: ServerProcess, secret_id: str, secret_key: str, code: str) -> None:
    vod = server.vod(secret_id, secret_key)
    err = sdk_error(vod.DescribeSubAppIds, models.DescribeSubAppIdsRequest())
    assert err.get_code() == code
    assert err.get_request_id()


def test_timestamp_an_hour_old(server: ServerProcess, monkeypatch: pytest.MonkeyPatch) -> None:
    import tencentcloud.common.abstract_client as ac

    real = time.time
    monkeypatch.setattr(ac.time, "time", lambda: real() - 3600)
    err = sdk_error(server.vod().DescribeSubAppIds, models.DescribeSubAppIdsRequest())
    assert err.get_code() == "AuthFailure.SignatureExpire"


def test_unknown_action(server: ServerProcess) -> None:
    err = sdk_error(server.common().call_json, "MakeCoffee", {})
    assert err.get_code() == "InvalidAction"


def test_wrong_types_and_values(server: ServerProcess) -> None:
    common = server.common()
    err = sdk_error(common.call_json, "DescribeSubAppIds", {"Limit": "many"})
    assert err.get_code() == "InvalidParameter"
    assert "Limit" in err.get_message()
    err = sdk_error(common.call_json, "DescribeSubAppIds", {"Limit": 500})
    assert err.get_code() == "InvalidParameterValue.Limit"
    err = sdk_error(common.call_json, "DescribeSubAppIds", {"Limit": True})
    assert err.get_code() == "InvalidParameter"
    err = sdk_error(common.call_json, "CreateSubAppId", {})
    assert err.get_code() == "MissingParameter"
    err = sdk_error(common.call_json, "CreateSubAppId", {"Name": "x" * 41})
    assert err.get_code() == "InvalidParameterValue.Name"
    err = sdk_error(
        common.call_json, "ModifySubAppIdStatus", {"SubAppId": APP_ID, "Status": "Maybe"}
    )
    assert err.get_code() == "InvalidParameterValue.Status"
    # Unknown fields answer UnknownParameter naming them, as Tencent's common errors have it.
    err = sdk_error(common.call_json, "DescribeSubAppIds", {"NoSuchField": 1})
    assert err.get_code() == "UnknownParameter" and "`NoSuchField`" in err.get_message()


def test_get_signed_request(server: ServerProcess) -> None:
    vod = server.vod(reqMethod="GET")
    req = models.DescribeSubAppIdsRequest()
    req.Limit = 5
    req.Offset = 0
    resp = vod.DescribeSubAppIds(req)
    assert any(i.SubAppId == APP_ID for i in resp.SubAppIdInfoSet)
    err = sdk_error(server.common(reqMethod="GET").call_json, "DescribeSubAppIds", {"Limit": "x"})
    assert err.get_code() == "InvalidParameter"


def test_oversize_body_refused(server: ServerProcess) -> None:
    err = sdk_error(
        server.common().call_json, "CreateSubAppId", {"Name": "a", "Pad": "x" * (10 << 20)}
    )
    assert err.get_code() == "RequestSizeLimitExceeded"


def test_unsigned_and_garbled_requests(server: ServerProcess) -> None:
    for headers in (
        {},
        {"Authorization": "Bearer nope", "X-TC-Timestamp": str(int(time.time()))},
        {"Authorization": "TC3-HMAC-SHA256 Credential=a/b/c", "X-TC-Timestamp": "x"},
    ):
        r = httpx.post(
            server.url + "/", content=b"{}", headers={"X-TC-Action": "DescribeSubAppIds", **headers}
        )
        assert r.status_code == 200
        body = r.json()["Response"]
        assert body["Error"]["Code"] == "AuthFailure.InvalidAuthorization"
        assert body["RequestId"]


def test_temporary_credentials(server: ServerProcess) -> None:
    creds = server.call("CreateTempCredential", {"DurationSeconds": 600})["Credentials"]
    cred = credential.Credential(creds["TmpSecretId"], creds["TmpSecretKey"], creds["Token"])
    vod = vod_client.VodClient(cred, "", server.profile())
    assert vod.DescribeEventConfig(models.DescribeEventConfigRequest()).Mode in ("PUSH", "PULL")
    # The same key without its token is refused; temp keys cannot mint more.
    no_token = vod_client.VodClient(
        credential.Credential(creds["TmpSecretId"], creds["TmpSecretKey"]), "", server.profile()
    )
    err = sdk_error(no_token.DescribeEventConfig, models.DescribeEventConfigRequest())
    assert err.get_code() == "AuthFailure.TokenFailure"
    err = sdk_error(vod.call_json, "CreateTempCredential", {})
    assert err.get_code() == "UnauthorizedOperation"
    err = sdk_error(server.common().call_json, "CreateTempCredential", {"DurationSeconds": 5})
    assert err.get_code() == "InvalidParameterValue"


def test_temporary_credential_limited_to_its_application(server: ServerProcess) -> None:
    other = server.call("CreateSubAppId", {"Name": "isolated"})["SubAppId"]
    creds = server.call("CreateTempCredential", {"SubAppId": other})["Credentials"]
    cred = credential.Credential(creds["TmpSecretId"], creds["TmpSecretKey"], creds["Token"])
    vod = vod_client.VodClient(cred, "", server.profile())
    req = models.DescribeEventConfigRequest()
    req.SubAppId = other
    vod.DescribeEventConfig(req)
    req.SubAppId = APP_ID
    assert sdk_error(vod.DescribeEventConfig, req).get_code() == "UnauthorizedOperation"


@pytest.mark.parametrize("scoped", [False, True])
def test_temporary_credentials_cannot_manage_applications(
    server: ServerProcess, scoped: bool
) -> None:
    """Application management needs the root credential: a temporary credential, even
    one limited to its own application, cannot list, create, rename, disable or
    destroy applications (issue 12 item 13)."""
    mine = server.call("CreateSubAppId", {"Name": f"scoped-{scoped}"})["SubAppId"]
    params = {"SubAppId": mine} if scoped else {}
    creds = server.call("CreateTempCredential", params)["Credentials"]
    cred = credential.Credential(creds["TmpSecretId"], creds["TmpSecretKey"], creds["Token"])
    common = CommonClient("vod", "2018-07-17", cred, "", server.profile())
    own = {"SubAppId": mine}
    attempts = [
        ("DescribeSubAppIds", {}),
        ("DescribeSubAppIds", own),
        ("CreateSubAppId", {"Name": "sneaky"}),
        ("ModifySubAppIdInfo", own | {"Name": "renamed"}),
        ("ModifySubAppIdStatus", own | {"Status": "Off"}),
        ("ModifySubAppIdStatus", own | {"Status": "Destroyed"}),
        ("CreateTempCredential", own),
    ]
    for action, body in attempts:
        err = sdk_error(common.call_json, action, body)
        assert err.get_code() == "UnauthorizedOperation", action
        assert "root credential" in err.get_message()
    # Nothing changed: the application is there, On, with its name; nothing created.
    infos = server.vod().DescribeSubAppIds(models.DescribeSubAppIdsRequest()).SubAppIdInfoSet
    names = {i.SubAppId: (i.Name, i.Status) for i in infos}
    assert names[mine] == (f"scoped-{scoped}", "On")
    assert "sneaky" not in {n for n, _ in names.values()}
    # The credential still works for its application's media and events.
    assert common.call_json("DescribeEventConfig", own)["Response"]["Mode"]


def test_rate_limit(fresh_server: ServerProcess) -> None:
    fresh_server.env["VODFLOW_RATE_LIMIT"] = "5"
    fresh_server.start()
    common = fresh_server.common()
    codes = []
    for _ in range(15):
        try:
            common.call_json("DescribeSubAppIds", {})
            codes.append("ok")
        except TencentCloudSDKException as exc:
            codes.append(exc.get_code())
    assert "ok" in codes
    assert "RequestLimitExceeded" in codes
    # Another action has its own bucket.
    assert "SubAppIdInfoSet" not in common.call_json("CreateTempCredential", {})["Response"]


def test_credentials_generated_once_and_printed(tmp_path) -> None:  # type: ignore[no-untyped-def]
    srv = ServerProcess(tmp_path / "d", env={"VODFLOW_SECRET_ID": "", "VODFLOW_SECRET_KEY": ""})
    srv.start()
    try:
        saved = json.loads((tmp_path / "d" / "credentials.json").read_text())
        assert saved["SecretId"] in srv.log() and saved["SecretKey"] in srv.log()
        assert "1250000000" in srv.log()
        vod = srv.vod(saved["SecretId"], saved["SecretKey"])
        assert vod.DescribeSubAppIds(models.DescribeSubAppIdsRequest()).TotalCount == 1
    finally:
        srv.stop()
    srv.start()
    try:
        again = json.loads((tmp_path / "d" / "credentials.json").read_text())
        assert again == saved
        assert (
            srv.vod(saved["SecretId"], saved["SecretKey"])
            .DescribeSubAppIds(models.DescribeSubAppIdsRequest())
            .TotalCount
            == 1
        )
    finally:
        # SIGTERM: graceful (uvicorn re-raises the signal once drained, hence -15).
        assert srv.stop(timeout=15) in (0, -signal.SIGTERM)


def _post_signed(server: ServerProcess, action: str, **header_changes: str | None) -> Any:
    headers = signed_headers(action, b"{}", server.host)
    for name, value in header_changes.items():
        headers.pop(name.replace("_", "-"), None)
        if value is not None:
            headers[name.replace("_", "-")] = value
    r = httpx.post(server.url + "/", content=b"{}", headers=headers, timeout=30)
    assert r.status_code == 200
    return r.json()["Response"]


def test_api_version_header(server: ServerProcess) -> None:
    # X-TC-Version is not signed (SignedHeaders=content-type;host): the signature holds.
    assert "SubAppIdInfoSet" in _post_signed(server, "DescribeSubAppIds")
    wrong = _post_signed(server, "DescribeSubAppIds", X_TC_Version="2017-03-12")
    assert wrong["Error"]["Code"] == "NoSuchVersion"  # Tencent's common code for it
    assert "2017-03-12" in wrong["Error"]["Message"] and wrong["RequestId"]
    missing = _post_signed(server, "DescribeSubAppIds", X_TC_Version=None)
    assert missing["Error"]["Code"] == "MissingParameter"
    assert "X-TC-Version" in missing["Error"]["Message"]


def test_rate_limit_zero_switches_it_off(
    fresh_server: ServerProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VODFLOW_RATE_LIMIT", "0")
    limiter = RateLimiter(Settings.from_env().rate_limit)
    assert all(limiter.allow(SECRET_ID, "DescribeEventsState") for _ in range(1000))

    fresh_server.env["VODFLOW_RATE_LIMIT"] = "0"
    fresh_server.start()

    def call(_: int) -> str:
        try:
            fresh_server.common().call_json("DescribeEventsState", {})
            return "ok"
        except TencentCloudSDKException as exc:
            return exc.get_code() or "?"

    # DescribeEventsState is limited to 20/s when the limiter is on: 150 calls at
    # once would be refused unless they were spread over more than 6 s.
    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(call, range(150)))
    assert codes == ["ok"] * 150, sorted(set(codes))


def test_sqlite_runs_in_wal_mode(server: ServerProcess) -> None:
    if DEPLOYMENT == "scaled" or server.settings().database_url:
        pytest.skip("the scaled deployment runs on PostgreSQL")
    server.call("DescribeSubAppIds")  # the server has written through its connection
    db = server.data_dir / "vodflow.db"
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.with_name("vodflow.db-wal").exists()


def _urls(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [u for v in value.values() for u in _urls(v)]
    if isinstance(value, list):
        return [u for v in value for u in _urls(v)]
    return [value] if isinstance(value, str) and "://" in value else []


def test_public_url_is_the_base_of_every_url(fresh_server: ServerProcess, tmp_path: Path) -> None:
    public = "https://media.vodflow.test:18443/cdn"
    fresh_server.env["VODFLOW_PUBLIC_URL"] = public + "/"
    fresh_server.start()
    assert f"public URL    {public}" in fresh_server.log()
    clip = mediagen.make_video(tmp_path / "clip.mp4", duration=1.0)
    committed = upload(fresh_server, clip)
    described = fresh_server.call("DescribeMediaInfos", {"FileIds": [committed["FileId"]]})
    urls = _urls(committed) + _urls(described)
    assert committed["MediaUrl"] in urls and len(urls) >= 2
    assert all(u.startswith(public + "/") for u in urls), urls
    # The path behind the public base is what vodflow itself serves.
    media = httpx.get(committed["MediaUrl"].replace(public, fresh_server.url), timeout=30)
    assert media.status_code == 200 and media.content == clip.read_bytes()


_FFMPEG_EXE = "from vodflow.media.ffmpeg import ffmpeg_exe; print(ffmpeg_exe())"


def _ffmpeg_exe_with_path(path: str) -> str:
    env = {**os.environ, "PATH": path}
    out = subprocess.run(
        [sys.executable, "-c", _FFMPEG_EXE], env=env, capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


def test_ffmpeg_on_path_wins_over_imageio(tmp_path: Path) -> None:
    import imageio_ffmpeg

    bundled = imageio_ffmpeg.get_ffmpeg_exe()
    wrapper_dir = tmp_path / "bin"
    wrapper_dir.mkdir()
    wrapper = wrapper_dir / "ffmpeg"
    wrapper.write_text(f'#!/bin/sh\nexec "{bundled}" "$@"\n')
    wrapper.chmod(0o755)
    assert _ffmpeg_exe_with_path(f"{wrapper_dir}{os.pathsep}{os.environ.get('PATH', '')}") == str(
        wrapper
    )
    # Nothing named ffmpeg on PATH: the wheel's binary.
    empty = tmp_path / "empty"
    empty.mkdir()
    assert _ffmpeg_exe_with_path(str(empty)) == bundled


def _slow_cos_put(
    server: ServerProcess, applied: dict[str, Any], data: bytes, release: threading.Event
) -> Any:
    """PUT the object as the COS SDK signs it; the second half waits for `release`."""

    def body() -> Iterator[bytes]:
        yield data[: len(data) // 2]
        release.wait(60)
        yield data[len(data) // 2 :]

    return signed_sender(server, applied)("PUT", {}, body())


def _pulls_held(server: ServerProcess) -> float:
    text = httpx.get(server.url + "/metrics", timeout=10).text
    found = re.search(r"^vodflow_pulls_held (\S+)$", text, re.M)
    return float(found.group(1)) if found else 0.0


def test_sigterm_lets_in_flight_requests_finish(
    fresh_server: ServerProcess, tmp_path: Path
) -> None:
    """SIGTERM during a PullEvents long poll and a half-sent upload: both get their
    answer, the process exits cleanly, nothing is left half-written in blobs/.tmp."""
    fresh_server.env["VODFLOW_PULL_WAIT_S"] = "8"  # still polling when SIGTERM comes
    fresh_server.start()
    clip = mediagen.make_video(tmp_path / "clip.mp4", duration=1.0).read_bytes()
    applied = apply(fresh_server)
    tmp_dir = fresh_server.settings().resolved_blob_dir / ".tmp"
    assert tmp_dir.is_dir() and not list(tmp_dir.iterdir())

    answers: dict[str, Any] = {}
    release = threading.Event()

    def pull() -> None:
        headers = signed_headers("PullEvents", b"{}", fresh_server.host)
        answers["pull"] = httpx.post(
            fresh_server.url + "/", content=b"{}", headers=headers, timeout=60
        )

    def put() -> None:
        answers["put"] = _slow_cos_put(fresh_server, applied, clip, release)

    threads = [threading.Thread(target=pull), threading.Thread(target=put)]
    for t in threads:
        t.start()
    try:
        # The pull is held once the server counts it; the upload is in flight once
        # its temporary file exists.
        deadline = time.monotonic() + 60
        while not _pulls_held(fresh_server) or not list(tmp_dir.iterdir()):
            assert time.monotonic() < deadline, "the requests never reached the server"
            time.sleep(0.05)
        assert fresh_server.proc is not None
        fresh_server.proc.send_signal(signal.SIGTERM)
    finally:
        release.set()
        for t in threads:
            t.join(90)

    put_answer = answers["put"]
    assert put_answer.status_code == 200 and put_answer.headers["ETag"], put_answer.text
    pulled = answers["pull"]
    assert pulled.status_code == 200
    inner = pulled.json()["Response"]
    assert inner["RequestId"] and ("EventSet" in inner or inner["Error"]["Code"])
    # uvicorn drains, then re-raises the signal: -15 (or 0).
    assert fresh_server.proc.wait(60) in (0, -signal.SIGTERM)
    assert list(tmp_dir.iterdir()) == []

    # What was uploaded during the drain is whole: it commits after a restart.
    fresh_server.start()
    committed = fresh_server.call("CommitUpload", {"VodSessionKey": applied["VodSessionKey"]})
    media = httpx.get(committed["MediaUrl"], timeout=30)
    assert media.content == clip
