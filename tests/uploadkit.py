"""Uploading through the public API as an app would: VOD SDK + cos-python-sdk-v5."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from qcloud_cos import CosConfig, CosS3Client

from tests.servers import ServerProcess

# The COS SDK logs every request at INFO; keep test output readable.
logging.getLogger("qcloud_cos").setLevel(logging.WARNING)


def cos_client(server: ServerProcess, applied: dict[str, Any]) -> CosS3Client:
    cert = applied["TempCertificate"]
    config = CosConfig(
        Region=applied["StorageRegion"],
        SecretId=cert["SecretId"],
        SecretKey=cert["SecretKey"],
        Token=cert["Token"],
        Domain=server.host,
        Scheme=server.scheme,
    )
    return CosS3Client(config, retry=0)


def apply(server: ServerProcess, media_type: str = "mp4", **params: Any) -> dict[str, Any]:
    return server.call("ApplyUpload", {"MediaType": media_type, **params})


def put(server: ServerProcess, applied: dict[str, Any], path: Path, *, multipart: bool) -> None:
    cos = cos_client(server, applied)
    if multipart:
        cos.upload_file(
            Bucket=applied["StorageBucket"],
            Key=applied["MediaStoragePath"],
            LocalFilePath=str(path),
            PartSize=1,
            MAXThread=2,
        )
    else:
        with open(path, "rb") as fh:
            cos.put_object(
                Bucket=applied["StorageBucket"], Key=applied["MediaStoragePath"], Body=fh
            )


def upload(
    server: ServerProcess,
    path: Path,
    media_type: str = "mp4",
    *,
    multipart: bool = False,
    **params: Any,
) -> dict[str, Any]:
    """ApplyUpload, write the bytes, CommitUpload; the CommitUpload response."""
    applied = apply(server, media_type, **params)
    put(server, applied, path, multipart=multipart)
    return server.call("CommitUpload", {"VodSessionKey": applied["VodSessionKey"], **_sub(params)})


def _sub(params: dict[str, Any]) -> dict[str, Any]:
    return {"SubAppId": params["SubAppId"]} if "SubAppId" in params else {}


def signed_sender(server: ServerProcess, applied: dict[str, Any]) -> Any:
    """Raw COS requests on the session's media key, signed as the COS SDK signs them.

    `body` may be bytes or an iterator of bytes (sent chunked, without Content-Length).
    """
    import requests
    from qcloud_cos import CosConfig
    from qcloud_cos.cos_auth import CosS3Auth

    cert = applied["TempCertificate"]
    conf = CosConfig(
        Region="ap-local",
        SecretId=cert["SecretId"],
        SecretKey=cert["SecretKey"],
        Token=cert["Token"],
        Domain=server.host,
        Scheme="http",
    )
    key = applied["MediaStoragePath"]
    url = server.url + key
    token = {"x-cos-security-token": cert["Token"]}

    def send(method: str, params: dict[str, str], body: Any = b"") -> requests.Response:
        auth = CosS3Auth(conf, key, params=params)
        return requests.request(
            method, url, params=params, data=body, headers=token, auth=auth, timeout=60
        )

    return send
