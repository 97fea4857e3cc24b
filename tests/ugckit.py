"""Client uploads as a browser or phone app makes them: the UGC API, then S3 (SigV4)."""

from __future__ import annotations

import ssl
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import httpx
from botocore.config import Config

from tests.servers import SECRET_ID, SECRET_KEY, ServerProcess
from tests.tlsutil import make_ca_and_server_cert
from vodflow.upload_signature import sign


@dataclass
class HttpsServer(ServerProcess):
    """A vodflow on HTTPS whose API calls (and UGC calls) trust the test CA."""

    ca: Path | None = None
    chain: Path | None = None  # the server certificate, then the CA's
    key: Path | None = None

    def call(self, action: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        client = self.common(certification=str(self.ca))
        return client.call_json(action, params or {})["Response"]  # type: ignore[no-any-return]


def start_https(folder: Path, dns_names: tuple[str, ...] = ()) -> HttpsServer:
    """A vodflow serving HTTPS with a test CA's certificate (the chain names the CA)."""
    ca, cert, key = make_ca_and_server_cert(folder / "pki", dns_names)
    chain = folder / "pki" / "chain.pem"
    chain.write_text(cert.read_text() + ca.read_text())
    srv = HttpsServer(
        folder / "data",
        args=["--tls-cert", str(chain), "--tls-key", str(key)],
        scheme="https",
        ca=ca,
        chain=chain,
        key=key,
    )
    return srv.start()  # type: ignore[return-value]


def _verify(server: ServerProcess) -> Any:
    if isinstance(server, HttpsServer):
        return ssl.create_default_context(cafile=str(server.ca))
    return True


def signature(**params: Any) -> str:
    """A client upload signature made with the test server's root credential."""
    secret_id = params.pop("secret_id", SECRET_ID)
    secret_key = params.pop("secret_key", SECRET_KEY)
    return sign(secret_id, secret_key, **params)


def ugc(server: ServerProcess, action: str, body: dict[str, Any], **http: Any) -> dict[str, Any]:
    """One UGC API call (`POST /v3/index.php?Action=...`): the `{code, message, data}` answer."""
    r = httpx.post(
        f"{server.url}/v3/index.php",
        params={"Action": action},
        json=body,
        timeout=30,
        verify=_verify(server),
        **http,
    )
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def apply(server: ServerProcess, sig: str, video_type: str = "mp4", **body: Any) -> dict[str, Any]:
    answer = ugc(server, "ApplyUploadUGC", {"signature": sig, "videoType": video_type, **body})
    assert answer["code"] == 0, answer
    return answer["data"]  # type: ignore[no-any-return]


def bucket(data: dict[str, Any]) -> str:
    return f"{data['storageBucket']}-{data['storageAppId']}"


def s3(server: ServerProcess, data: dict[str, Any], **cred: str) -> Any:
    """boto3's S3 client with the ApplyUploadUGC temporary credential (path-style)."""
    temp = data["tempCertificate"]
    return boto3.client(
        "s3",
        endpoint_url=server.url,
        region_name=data["StorageRegionV5"],
        aws_access_key_id=cred.get("key_id", temp["secretId"]),
        aws_secret_access_key=cred.get("secret", temp["secretKey"]),
        aws_session_token=cred.get("token", temp["token"]),
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
        verify=str(server.ca) if isinstance(server, HttpsServer) else True,
    )


def pull_until(
    server: ServerProcess, app_id: int, wanted: Any, timeout: float = 120.0
) -> list[dict[str, Any]]:
    """PullEvents (and confirm) until `wanted(events so far)` holds."""
    got: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while not wanted(got):
        assert time.monotonic() < deadline, got
        batch = server.call("PullEvents", {"SubAppId": app_id})["EventSet"]
        if batch:
            server.call(
                "ConfirmEvents",
                {"SubAppId": app_id, "EventHandles": [e["EventHandle"] for e in batch]},
            )
        got += batch
    return got


def new_app(server: ServerProcess, name: str) -> int:
    app_id = int(server.call("CreateSubAppId", {"Name": name})["SubAppId"])
    server.call(
        "ModifyEventConfig",
        {"SubAppId": app_id, "Mode": "PULL", "UploadMediaCompleteEventSwitch": "ON"},
    )
    return app_id
