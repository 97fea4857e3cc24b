"""docs/clients.md: its Python and Node.js blocks, pasted as a user would, over HTTP and HTTPS."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import mediagen
from tests.conftest import NODE_DIR
from tests.servers import SECRET_ID, SECRET_KEY, ServerProcess
from tests.tlsutil import make_ca_and_server_cert

pytestmark = pytest.mark.e2e

DOC = Path(__file__).resolve().parents[2] / "docs" / "clients.md"


def block(language: str, heading: str) -> str:
    section = DOC.read_text().split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    (code,) = re.findall(rf"```{language}\n(.*?)```", section, re.S)
    return code


def configured(code: str, server: ServerProcess, ca: Path | None, *, js: bool) -> str:
    """The block with the reader's values filled in, as the comments tell them to."""
    q = '"'
    end = ";" if js else ""
    values = {
        "ENDPOINT": f"{q}{server.host}{q}",
        "SCHEME": f"{q}{server.scheme}{q}",
    }
    if not js:
        values["CA"] = f"{q}{ca}{q}" if ca else "None"
    for name, value in values.items():
        pattern = rf"^(const )?{name} = .*$"
        assert re.search(pattern, code, re.M), f"{name} is no longer set in the block"
        code = re.sub(pattern, rf"\g<1>{name} = {value}{end}", code, count=1, flags=re.M)
    return code.replace("<SecretId>", SECRET_ID).replace("<SecretKey>", SECRET_KEY)


@pytest.fixture(params=["http", "https"])
def any_server(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[ServerProcess, Path | None]]:
    if request.param == "https":
        ca, cert, key = make_ca_and_server_cert(tmp_path / "pki")
        srv = ServerProcess(
            tmp_path / "data", args=["--tls-cert", str(cert), "--tls-key", str(key)], scheme="https"
        )
        yield srv.start(), ca
    else:
        srv = ServerProcess(tmp_path / "data")
        yield srv.start(), None
    srv.stop()


def uploaded(server: ServerProcess, ca: Path | None, stdout: str, clip: Path, name: str) -> None:
    match = re.fullmatch(r"uploaded (\d+)\n", stdout)
    assert match, stdout
    client = server.common(**({"certification": str(ca)} if ca else {}))
    (info,) = client.call_json("DescribeMediaInfos", {"FileIds": [match[1]]})["Response"][
        "MediaInfoSet"
    ]
    assert info["BasicInfo"]["Name"] == name
    assert info["MetaData"]["Size"] == clip.stat().st_size


def test_python_block(any_server: tuple[ServerProcess, Path | None], tmp_path: Path) -> None:
    server, ca = any_server
    clip = mediagen.make_video(tmp_path / "clip.mp4", duration=1.0)
    code = configured(block("python", "Python"), server, ca, js=False)
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    uploaded(server, ca, out.stdout, clip, "from python")


def test_node_block(
    node: str,
    any_server: tuple[ServerProcess, Path | None],
    tmp_path: Path,
) -> None:
    server, ca = any_server
    clip = mediagen.make_video(tmp_path / "clip.mp4", duration=1.0)
    script = tmp_path / "doc.js"
    script.write_text(configured(block("js", "Node.js"), server, ca, js=True))
    env = {**os.environ, "NODE_PATH": str(NODE_DIR / "node_modules")}
    if ca:
        env["NODE_EXTRA_CA_CERTS"] = str(ca)
    out = subprocess.run(
        [node, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    uploaded(server, ca, out.stdout, clip, "from node")
