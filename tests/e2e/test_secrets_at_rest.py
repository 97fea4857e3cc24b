"""Secrets at rest (issue 12 item 14): file modes of the data dir, and what `serve` prints."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import stat
from pathlib import Path

import pytest
from tencentcloud.common import credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.vod.v20180717 import models, vod_client

from tests.mediagen import make_video
from tests.servers import SECRET_ID, SECRET_KEY, ServerProcess
from tests.uploadkit import apply, put

pytestmark = pytest.mark.e2e


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_data_dir_0700_and_database_files_0600(tmp_path: Path) -> None:
    old = os.umask(0o022)  # a usual umask: what a default would create 0755/0644
    data = tmp_path / "fresh" / "data"
    srv = ServerProcess(tmp_path / "harness", args=["--data-dir", str(data)])
    try:
        srv.env = {"VODFLOW_SECRET_ID": "", "VODFLOW_SECRET_KEY": ""}  # generate a root key
        srv.start()
        assert "SecretKey" in (data / "credentials.json").read_text()
        files = {p.name: mode(p) for p in data.iterdir() if p.is_file()}
    finally:
        srv.stop()
        os.umask(old)
    assert mode(data) == 0o700
    assert files["vodflow.db"] == 0o600
    assert files["vodflow.db-wal"] == 0o600
    assert files["vodflow.db-shm"] == 0o600
    assert files["credentials.json"] == 0o600


def test_existing_database_files_are_tightened(tmp_path: Path) -> None:
    data = tmp_path / "data"
    srv = ServerProcess(data)
    srv.start()
    srv.stop()
    for name in ("vodflow.db", "credentials.json"):
        if (data / name).exists():
            os.chmod(data / name, 0o644)  # as older versions left them
    srv.start()
    try:
        srv.call("DescribeEventConfig", {})
        assert mode(data / "vodflow.db") == 0o600
        assert mode(data / "vodflow.db-wal") == 0o600
    finally:
        srv.stop()


def test_serve_never_prints_a_secret_key_from_the_environment(tmp_path: Path) -> None:
    srv = ServerProcess(tmp_path / "d")
    srv.start()
    try:
        log = srv.log()
    finally:
        srv.stop()
    assert SECRET_ID in log  # the SecretId is not a secret: it says which key to use
    assert SECRET_KEY not in log
    assert "SecretKey" in log and "not shown" in log


def test_tokens_are_stored_as_digests(server: ServerProcess) -> None:
    """The database never holds a temporary credential's token; the token still works."""
    creds = server.call("CreateTempCredential", {"DurationSeconds": 600})["Credentials"]
    token = creds["Token"]
    cred = credential.Credential(creds["TmpSecretId"], creds["TmpSecretKey"], token)
    vod = vod_client.VodClient(cred, "", server.profile())
    assert vod.DescribeEventConfig(models.DescribeEventConfigRequest()).Mode
    wrong = credential.Credential(creds["TmpSecretId"], creds["TmpSecretKey"], token[:-1] + "x")
    with pytest.raises(TencentCloudSDKException) as info:
        vod_client.VodClient(wrong, "", server.profile()).DescribeEventConfig(
            models.DescribeEventConfigRequest()
        )
    assert info.value.get_code() == "AuthFailure.TokenFailure"
    with sqlite3.connect(server.data_dir / "vodflow.db") as conn:
        (stored,) = conn.execute(
            "SELECT token FROM credentials WHERE secret_id=?", (creds["TmpSecretId"],)
        ).fetchone()
    assert stored == "sha256:" + hashlib.sha256(token.encode()).hexdigest()
    raw = b"".join(
        p.read_bytes() for p in server.data_dir.iterdir() if p.name.startswith("vodflow.db")
    )
    assert token.encode() not in raw


def test_upload_session_keys_are_stored_as_digests(server: ServerProcess, tmp_path: Path) -> None:
    """ApplyUpload's VodSessionKey and COS token are checked, never used as keys: the
    database holds digests, and the upload commits with the key as handed out."""
    clip = make_video(tmp_path / "c.mp4", duration=1, width=64, height=48)
    applied = apply(server)
    put(server, applied, clip, multipart=False)
    secrets = [applied["VodSessionKey"], applied["TempCertificate"]["Token"]]
    raw = b"".join(
        p.read_bytes() for p in server.data_dir.iterdir() if p.name.startswith("vodflow.db")
    )
    assert not [s for s in secrets if s.encode() in raw]
    # The digest itself is not a key.
    digest = "sha256:" + hashlib.sha256(secrets[0].encode()).hexdigest()
    with pytest.raises(TencentCloudSDKException) as info:
        server.call("CommitUpload", {"VodSessionKey": digest})
    assert info.value.get_code() == "InvalidParameterValue.VodSessionKey"
    file_id = server.call("CommitUpload", {"VodSessionKey": secrets[0]})["FileId"]
    assert server.call("DescribeMediaInfos", {"FileIds": [file_id]})["MediaInfoSet"]
