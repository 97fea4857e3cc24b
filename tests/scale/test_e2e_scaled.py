"""The end-to-end suites of the earlier issues, run against the scaled deployment.

`VODFLOW_TEST_DEPLOYMENT=scaled` makes every ServerProcess a PostgreSQL + Celery
deployment with its own `vodflow worker` (tests/scale/deployment.py). This test
runs tests/e2e that way in a pytest subprocess, so that plain `pytest` (CI)
covers both deployments. Tests that inherently need the embedded deployment are
left out by node id, each with its reason (LEFT_OUT). Set VODFLOW_SCALED_E2E to
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
E2E = ROOT / "tests" / "e2e"

# Why a test cannot run on the scaled deployment. "SQLite" means the test opens the
# embedded deployment's `vodflow.db` file to read or change rows; the scaled
# deployment has no such file (its rows are in PostgreSQL).
SQLITE = "reads or writes the embedded deployment's SQLite file directly"
LEFT_OUT = {
    "test_crash.py::test_kill_9_while_ffmpeg_runs": (
        "SIGKILLs the embedded server while its own FFmpeg runs and reads its SQLite "
        "file; the scaled counterpart is test_acceptance.py::test_worker_killed_mid_transcode"
    ),
    "test_events_api.py::test_idle_pull_holds_five_seconds_then_answers_empty": (
        "only waits out the 5 s long poll, which the deployment does not change"
    ),
    "test_events_api.py::test_real_thirty_second_window": (
        "only waits out the 30 s visibility window, which the deployment does not change"
    ),
    "test_events_flows.py::test_a_flow_commit_wakes_a_held_pull": (
        f"{SQLITE}; the scaled counterpart is test_acceptance.py::test_two_replicas_two_workers"
    ),
    "test_job_task_crash.py::test_kill_9_during_edit_media": (
        f"{SQLITE}; the scaled counterpart is "
        "test_reliability_scaled.py::test_edit_media_of_a_killed_worker_is_finished_by_another"
    ),
    "test_job_task_crash.py::test_kill_9_during_split_media_resumes_at_the_unfinished_segment": (
        SQLITE
    ),
    "test_media.py::test_serving_range_etag_and_deletion": SQLITE,
    "test_media.py::test_pull_upload_from_loopback": SQLITE,
    "test_media.py::test_pull_upload_failures": SQLITE,
    "test_media.py::test_pull_upload_refuses_private_addresses": SQLITE,
    "test_media.py::test_pull_upload_over_the_maximum_size": SQLITE,
    "test_upload.py::test_new_file_upload_event_in_outbox": SQLITE,
    "test_upload.py::test_expired_foreign_and_unknown_session": SQLITE,
    "test_upload.py::test_procedure_on_upload_starts_the_flow": SQLITE,
    "test_upload_cli.py::test_cli_resumes_a_multipart_upload": SQLITE,
    "test_secrets_at_rest.py::test_data_dir_0700_and_database_files_0600": SQLITE,
    "test_secrets_at_rest.py::test_existing_database_files_are_tightened": SQLITE,
    "test_secrets_at_rest.py::test_tokens_are_stored_as_digests": SQLITE,
    "test_secrets_at_rest.py::test_upload_session_keys_are_stored_as_digests": SQLITE,
    "test_console.py::test_console_upload_flow_play_events_templates_sign_out": (
        "asserts that the flow page saw progress rise while it watched; a scaled worker "
        "often finishes the clip before the page opens (the live view is the same code "
        "on both deployments and is checked by the embedded run)"
    ),
    "test_cli.py::test_second_serve_on_a_data_dir_in_use_is_refused_naming_the_first": (
        "the lock guards an embedded (SQLite) data dir; replicas of the scaled deployment "
        "share their database on purpose"
    ),
    "test_crash.py::test_ffmpeg_dies_with_a_killed_server": (
        f"{SQLITE}; the worker, not the server, runs FFmpeg there: the scaled counterpart "
        "is test_reliability_scaled.py::test_ffmpeg_dies_with_a_killed_worker"
    ),
    "test_crash.py::test_fifty_flows_through_three_kill_9s": (
        f"{SQLITE}; the scaled counterparts are test_reliability_scaled.py's kill and storm tests"
    ),
    "test_upload_reliability.py::test_commit_killed_midway_is_committed_by_a_retry": SQLITE,
    "test_operations.py::test_a_schema_newer_than_this_vodflow_is_refused_clearly": SQLITE,
    "test_pull_reliability.py::test_a_pull_cut_short_by_a_restart_is_resumed": SQLITE,
    "test_pull_reliability.py::test_manage_task_aborts_a_pull_that_is_downloading": SQLITE,
    "test_pull_reliability.py::test_stalled_pulls_never_hold_the_media_slot": SQLITE,
    "test_pull_reliability.py::test_a_trickling_source_is_stopped_at_the_rate_floor": SQLITE,
}


def default_args() -> list[str]:
    """Every e2e file, minus the tests of LEFT_OUT (which must still exist)."""
    files = sorted(str(p.relative_to(ROOT)) for p in E2E.glob("test_*.py"))
    args = list(files)
    for node in LEFT_OUT:
        path, _, name = node.partition("::")
        assert f"def {name}(" in (E2E / path).read_text(), f"LEFT_OUT names a gone test: {node}"
        args += ["--deselect", f"tests/e2e/{node}"]
    return args


def test_e2e_suites_on_the_scaled_deployment(tmp_path: Path) -> None:
    svc.require_services()
    chosen = os.environ.get("VODFLOW_SCALED_E2E", "").split()
    args = chosen or default_args()
    env = {**os.environ, "VODFLOW_TEST_DEPLOYMENT": "scaled"}
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x", *args]
    cmd += ["--basetemp", str(tmp_path / "e2e")]
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stdout[-8000:] + done.stderr[-2000:]
    assert " passed" in done.stdout
