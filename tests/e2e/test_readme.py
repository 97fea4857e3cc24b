"""The README's walkthrough, pasted as a user would, against a real vodflow: with the
generated credentials, with credentials from the environment, and over HTTPS with the
README's own certificate steps."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.servers import DEPLOYMENT, SECRET_ID, SECRET_KEY, ServerProcess

pytestmark = pytest.mark.e2e

README = Path(__file__).resolve().parents[2] / "README.md"


def _section(title: str) -> str:
    text = README.read_text()
    return text.split(f"## {title}", 1)[1].split("\n## ", 1)[0]


def walkthrough_code() -> str:
    blocks = re.findall(r"```python\n(.*?)```", _section("Five-minute walkthrough"), re.S)
    assert blocks, "the walkthrough lost its Python block"
    return "\n".join(blocks)


def expected_output() -> list[str]:
    (block,) = re.findall(r"```text\n(.*?)```", _section("Five-minute walkthrough"), re.S)
    return block.splitlines()


def certificate_command() -> str:
    """The README's openssl command (the first lines of its HTTPS shell block)."""
    block = re.findall(r"```sh\n(.*?)```", _section("HTTPS, tccli and your own certificate"), re.S)
    command = block[0].split("\nvodflow serve", 1)[0]
    assert command.startswith("openssl req"), command
    return command


def run_walkthrough(cwd: Path, env: dict[str, str]) -> str:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("VODFLOW_")}
    out = subprocess.run(
        [sys.executable, "-c", walkthrough_code()],
        cwd=cwd, env={**clean, **env}, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def check_output(stdout: str, base_url: str) -> None:
    lines = stdout.splitlines()
    expected = expected_output()
    # The same lines as the README shows, in order; ids, bitrates and URLs vary.
    assert [line.split()[0] for line in lines] == [line.split()[0] for line in expected]
    assert lines[0].endswith(" 640x480 10.0 s") and expected[0].endswith(" 640x480 10.0 s")
    assert re.fullmatch(r"task flow \d+-Procedure-[0-9a-f]+t\d+", lines[1]), lines[1]
    # The scaled deployment's worker builds URLs from its own settings (no public URL
    # is set in these tests), so only the embedded server's are checked to the letter.
    url = re.escape(base_url) if DEPLOYMENT == "embedded" else r"https?://[^/\s]+"
    assert re.fullmatch(rf"Transcode SUCCESS 640x480 \d+ bps {url}/vod/\S+\.mp4", lines[2])
    assert re.fullmatch(rf"CoverBySnapshot SUCCESS {url}/vod/\S+\.jpg", lines[3])
    assert lines[4] == expected[4]


def test_walkthrough_runs_as_written(tmp_path: Path) -> None:
    # As after `make serve`: generated credentials in ./vodflow-data.
    srv = ServerProcess(
        tmp_path / "vodflow-data", env={"VODFLOW_SECRET_ID": "", "VODFLOW_SECRET_KEY": ""}
    )
    srv.start()
    try:
        stdout = run_walkthrough(tmp_path, {"VODFLOW_ENDPOINT": srv.url})
    finally:
        srv.stop()
    check_output(stdout, srv.url)


def test_walkthrough_with_credentials_from_the_environment(tmp_path: Path) -> None:
    srv = ServerProcess(tmp_path / "data").start()  # keys from VODFLOW_SECRET_ID/KEY
    try:
        assert not (tmp_path / "data" / "credentials.json").exists()
        env = {"VODFLOW_ENDPOINT": srv.url, "VODFLOW_SECRET_ID": SECRET_ID}
        env["VODFLOW_SECRET_KEY"] = SECRET_KEY
        stdout = run_walkthrough(tmp_path, env)
    finally:
        srv.stop()
    check_output(stdout, srv.url)


def test_walkthrough_over_https_with_the_readme_certificate(tmp_path: Path) -> None:
    subprocess.run(["bash", "-c", certificate_command()], cwd=tmp_path, check=True,
                   capture_output=True, timeout=120)  # fmt: skip
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    srv = ServerProcess(
        tmp_path / "vodflow-data",
        env={"VODFLOW_SECRET_ID": "", "VODFLOW_SECRET_KEY": ""},
        args=["--tls-cert", str(cert), "--tls-key", str(key)],
        scheme="https",
    )
    srv.start()
    try:
        env = {"VODFLOW_ENDPOINT": srv.url, "VODFLOW_CA_BUNDLE": str(cert)}
        stdout = run_walkthrough(tmp_path, env)
        # Without the CA the SDK refuses the certificate: the steps above are needed.
        no_ca = subprocess.run(
            [sys.executable, "-c", walkthrough_code()], cwd=tmp_path, capture_output=True,
            text=True, timeout=600,
            env={**os.environ, "VODFLOW_ENDPOINT": srv.url, "VODFLOW_CA_BUNDLE": "",
                 "VODFLOW_SECRET_ID": "", "VODFLOW_SECRET_KEY": ""},
        )  # fmt: skip
    finally:
        srv.stop()
    check_output(stdout, srv.url)
    assert no_ca.returncode != 0 and "CERTIFICATE_VERIFY_FAILED" in no_ca.stderr
