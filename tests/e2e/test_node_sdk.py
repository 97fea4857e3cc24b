"""The official Node.js clients against a real vodflow, over HTTP and HTTPS.

`tencentcloud-sdk-nodejs-vod` and `cos-nodejs-sdk-v5` (pinned in tests/node/package.json
and package-lock.json) are installed once per session with `npm ci` into the ignored
tests/node/node_modules. tests/node/flow.js runs the seed story (ApplyUpload, COS
upload, CommitUpload, ProcessMedia, PullEvents/ConfirmEvents, DescribeTaskDetail) and
prints what it saw; the assertions here check it against what vodflow stored.
"""

from __future__ import annotations

import hashlib
import json
import os
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import mediagen
from tests.conftest import NODE_DIR
from tests.servers import SECRET_ID, SECRET_KEY, ServerProcess
from tests.tlsutil import make_ca_and_server_cert
from vodflow.media.probe import probe

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """More than 1 MiB, so cos-nodejs-sdk-v5's uploadFile goes multipart."""
    path = mediagen.make_video(
        tmp_path_factory.mktemp("node-media") / "node.mp4",
        duration=4.0,
        vbitrate="3000k",
        extra=["-x264-params", "nal-hrd=cbr", "-bufsize", "1000k"],
    )
    assert path.stat().st_size > 1024 * 1024
    return path


def run_flow(
    node: str,
    server: ServerProcess,
    clip: Path,
    *,
    sign_method: str = "TC3-HMAC-SHA256",
    req_method: str = "POST",
    extra_env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "VODFLOW_SECRET_ID": SECRET_ID,
        "VODFLOW_SECRET_KEY": SECRET_KEY,
        **(extra_env or {}),
    }
    args = [server.host, server.scheme, str(clip), sign_method, req_method]
    return subprocess.run(
        [node, str(NODE_DIR / "flow.js"), *args],
        cwd=NODE_DIR, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def check_flow(
    server: ServerProcess, clip: Path, out: dict[str, Any], tmp: Path, ca: Path | None = None
) -> None:
    """What the Node.js clients saw is what vodflow stored and produced."""
    http = {"certification": str(ca)} if ca else {}
    python = server.common(**http)
    assert out["cosStatus"] == 200
    assert out["applied"]["key"].startswith("/upload/")
    (info,) = python.call_json("DescribeMediaInfos", {"FileIds": [out["fileId"]]})["Response"][
        "MediaInfoSet"
    ]
    meta = info["MetaData"]
    assert info["BasicInfo"]["Name"] == "node clip"
    assert meta["Size"] == clip.stat().st_size
    assert meta["Md5"] == hashlib.md5(clip.read_bytes()).hexdigest()
    assert out["mediaUrl"] == info["BasicInfo"]["MediaUrl"]
    # The flow's event was pulled and confirmed: nothing is left to pull for it.
    assert {"type": "ProcedureStateChanged", "taskId": out["taskId"], "status": "FINISH"} in out[
        "events"
    ]
    assert out["finished"] is True
    detail = out["detail"]
    assert detail["taskType"] == "Procedure" and detail["status"] == "FINISH"
    assert detail["fileId"] == out["fileId"]
    assert detail["snapshotStatus"] == "SUCCESS"
    assert detail["timeOffsets"] == [1000]
    (pic_url,) = detail["picUrls"]
    picture = tmp / "snapshot.jpg"
    picture.write_bytes(
        httpx.get(pic_url, verify=ssl.create_default_context(cafile=ca) if ca else True).content
    )
    assert picture.read_bytes()[:3] == b"\xff\xd8\xff"
    assert (probe(picture).width, probe(picture).height) == (320, 240)
    # Errors reach the Node.js SDK as Tencent's codes, with vodflow's RequestId.
    assert out["error"]["code"].startswith("InvalidParameterValue")
    assert out["error"]["requestId"]


@pytest.mark.parametrize(
    ("sign_method", "req_method"),
    [
        ("TC3-HMAC-SHA256", "POST"),
        ("TC3-HMAC-SHA256", "GET"),
        ("HmacSHA1", "POST"),
        ("HmacSHA256", "GET"),
    ],
)
def test_node_sdk_and_cos_sdk_over_http(
    node: str,
    fresh_server: ServerProcess,
    clip: Path,
    tmp_path: Path,
    sign_method: str,
    req_method: str,
) -> None:
    # A server of its own: the flow confirms every event it pulls.
    server = fresh_server.start()
    done = run_flow(node, server, clip, sign_method=sign_method, req_method=req_method)
    assert done.returncode == 0, done.stderr + server.log()
    check_flow(server, clip, json.loads(done.stdout), tmp_path)


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[ServerProcess, Path]]:
    ca, cert, key = make_ca_and_server_cert(tmp_path / "pki")
    srv = ServerProcess(
        tmp_path / "data", args=["--tls-cert", str(cert), "--tls-key", str(key)], scheme="https"
    )
    srv.start()
    yield srv, ca
    srv.stop()


def test_node_sdk_and_cos_sdk_over_https(
    node: str, tls_server: tuple[ServerProcess, Path], clip: Path, tmp_path: Path
) -> None:
    srv, ca = tls_server
    done = run_flow(node, srv, clip, extra_env={"NODE_EXTRA_CA_CERTS": str(ca)})
    assert done.returncode == 0, done.stderr + srv.log()
    check_flow(srv, clip, json.loads(done.stdout), tmp_path, ca)
    # Without trusting the CA, Node refuses the certificate: TLS is real.
    refused = run_flow(node, srv, clip)
    assert refused.returncode == 1
    assert "unable to verify the first certificate" in refused.stderr
