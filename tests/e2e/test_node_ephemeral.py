"""The Node.js example of docs/testing-your-app.md, run as written: `node --test` on
tests/node/ephemeral.test.js, which starts `vodflow serve --ephemeral --print-env`."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import NODE_DIR

pytestmark = pytest.mark.e2e


def test_node_test_suite_against_an_ephemeral_vodflow(node: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VODFLOW_")}
    env["VODFLOW_CMD"] = f"{sys.executable} -m vodflow.cli"
    done = subprocess.run(
        [node, "--test", "ephemeral.test.js"],
        cwd=NODE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "# pass 2" in done.stdout and "# fail 0" in done.stdout
