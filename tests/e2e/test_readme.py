"""The README's walkthrough, pasted as a user would, against a real vodflow."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.servers import ServerProcess

pytestmark = pytest.mark.e2e

README = Path(__file__).resolve().parents[2] / "README.md"


def walkthrough_code() -> str:
    text = README.read_text()
    section = text.split("## Five-minute walkthrough", 1)[1]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert blocks, "the walkthrough lost its Python block"
    return "\n".join(blocks)


def test_walkthrough_runs_as_written(tmp_path: Path) -> None:
    # As after `make serve`: generated credentials in ./vodflow-data.
    srv = ServerProcess(
        tmp_path / "vodflow-data", env={"VODFLOW_SECRET_ID": "", "VODFLOW_SECRET_KEY": ""}
    )
    srv.start()
    try:
        code = walkthrough_code().replace("127.0.0.1:8080", srv.host)
        out = subprocess.run(
            [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=600
        )
    finally:
        srv.stop()
    assert out.returncode == 0, out.stdout + out.stderr
    assert "640x480 10.0 s" in out.stdout
    assert re.search(r"^Transcode SUCCESS 640x480 \d+ bps http://\S+\.mp4$", out.stdout, re.M)
    assert re.search(r"^CoverBySnapshot SUCCESS http://\S+\.jpg$", out.stdout, re.M)
    assert "error: InvalidParameterValue" in out.stdout
