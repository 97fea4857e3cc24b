"""HTTPS: the official SDK and tccli (which speaks only HTTPS) against vodflow."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import certifi
import pytest
from tencentcloud.vod.v20180717 import models

from tests.servers import APP_ID, SECRET_ID, SECRET_KEY, ServerProcess
from tests.tlsutil import make_ca_and_server_cert

pytestmark = pytest.mark.e2e


@pytest.fixture
def tls_server(tmp_path: Path):  # type: ignore[no-untyped-def]
    ca, cert, key = make_ca_and_server_cert(tmp_path / "pki")
    srv = ServerProcess(
        tmp_path / "data", args=["--tls-cert", str(cert), "--tls-key", str(key)], scheme="https"
    )
    srv.start()
    yield srv, ca
    srv.stop()


def certifi_with(ca: Path, folder: Path) -> Path:
    """A copy of the `certifi` package whose bundle also trusts `ca`.

    The SDK (and so tccli) passes certifi's bundle to requests explicitly, which
    makes REQUESTS_CA_BUNDLE ineffective; adding the CA to the bundle is how the
    README tells users to make tccli trust a private CA.
    """
    shim = folder / "shim"
    pkg = shim / "certifi"
    shutil.copytree(Path(certifi.__file__).parent, pkg)
    bundle = pkg / "cacert.pem"
    bundle.write_text(bundle.read_text() + "\n" + ca.read_text())
    return shim


def test_sdk_over_https(tls_server) -> None:  # type: ignore[no-untyped-def]
    srv, ca = tls_server
    vod = srv.vod(certification=str(ca))
    listed = vod.DescribeSubAppIds(models.DescribeSubAppIdsRequest())
    assert APP_ID in [i.SubAppId for i in listed.SubAppIdInfoSet]


def test_tccli_over_https(tls_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    srv, ca = tls_server
    tccli = str(Path(sys.executable).parent / "tccli")
    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, "HOME": str(home), "PYTHONPATH": str(certifi_with(ca, tmp_path))}
    subprocess.run(
        [tccli, "configure", "set", "secretId", SECRET_ID, "secretKey", SECRET_KEY,
         "region", "ap-guangzhou"],
        env=env, check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    out = subprocess.run(
        [tccli, "vod", "DescribeSubAppIds", "--endpoint", srv.host],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    answer = json.loads(out.stdout)
    assert APP_ID in [i["SubAppId"] for i in answer["SubAppIdInfoSet"]]
    assert answer["RequestId"]
    # Without trusting the CA, tccli refuses the certificate: TLS is real.
    env.pop("PYTHONPATH")
    out = subprocess.run(
        [tccli, "vod", "DescribeSubAppIds", "--endpoint", srv.host],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert "CERTIFICATE_VERIFY_FAILED" in out.stdout + out.stderr
