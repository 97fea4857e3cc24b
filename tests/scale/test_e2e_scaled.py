"""The end-to-end suites of the earlier issues, run against the scaled deployment.

`VODFLOW_TEST_DEPLOYMENT=scaled` makes every ServerProcess a PostgreSQL + Celery
deployment with its own `vodflow worker` (tests/scale/deployment.py). This test
runs a chosen subset of tests/e2e that way in a pytest subprocess, so that plain
`pytest` (CI) covers both deployments. Tests that open the embedded SQLite file
directly cannot run scaled and are left out by name. Set VODFLOW_SCALED_E2E to
other pytest arguments (space-separated) to run a different selection.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.scale import services as svc

pytestmark = [pytest.mark.services, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
SUBSET = [
    "tests/e2e/test_flows.py",
    "tests/e2e/test_events_flows.py",
    "tests/e2e/test_events_api.py",
    "tests/e2e/test_procedure_templates.py",
]
# These read the embedded deployment's SQLite file, or only wait out long windows
# that the scaled deployment does not change.
LEFT_OUT = ["wakes_a_held_pull", "real_thirty_second_window", "idle_pull_holds_five_seconds"]


def test_e2e_suites_on_the_scaled_deployment(tmp_path: Path) -> None:
    svc.require_services()
    chosen = os.environ.get("VODFLOW_SCALED_E2E", "").split()
    args = chosen or [*SUBSET, "-k", " and ".join(f"not {name}" for name in LEFT_OUT)]
    env = {**os.environ, "VODFLOW_TEST_DEPLOYMENT": "scaled"}
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x", *args]
    cmd += ["--basetemp", str(tmp_path / "e2e")]
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stdout[-8000:] + done.stderr[-2000:]
    assert " passed" in done.stdout
