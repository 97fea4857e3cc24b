"""Operating a server (issue 12, items 19 and 22): readiness that checks what it needs,
a drain period on SIGTERM, refusals that say what to fix."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.servers import SECRET_ID, SECRET_KEY, ServerProcess
from vodflow.store.migrate import upgrade

pytestmark = pytest.mark.e2e


def test_healthz_checks_the_database_listen_and_broker(fresh_server: ServerProcess) -> None:
    server = fresh_server.start()
    answer = httpx.get(f"{server.url}/healthz", timeout=10)
    assert answer.status_code == 200
    assert answer.json() == {
        "status": "ok",
        "checks": {"database": "ok", "listen": "ok", "broker": "ok"},
    }


def test_sigterm_drains_before_stopping(fresh_server: ServerProcess) -> None:
    """During the drain: /healthz answers 503 "draining" while the API still answers."""
    server = fresh_server
    server.env["VODFLOW_DRAIN_S"] = "3"
    server.start()
    assert server.proc is not None
    server.proc.send_signal(signal.SIGTERM)
    health = httpx.get(f"{server.url}/healthz", timeout=10)
    assert (health.status_code, health.json()) == (503, {"status": "draining"})
    assert server.call("DescribeTasks", {})["TaskSet"] == []
    assert server.proc.wait(60) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal


def test_a_schema_newer_than_this_vodflow_is_refused_clearly(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    db_path = data / "vodflow.db"
    upgrade(f"sqlite+aiosqlite:///{db_path}")
    db = sqlite3.connect(db_path)
    db.execute("update alembic_version set version_num = '0099'")
    db.commit()
    db.close()
    with pytest.raises(RuntimeError) as info:
        ServerProcess(data).start()
    assert "The database schema is at revision 0099, newer than this vodflow" in str(info.value)


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_scaled_processes_refuse_to_start_without_a_public_url(
    tmp_path: Path, command: str
) -> None:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("VODFLOW_")
    } | {
        "VODFLOW_SECRET_ID": SECRET_ID,
        "VODFLOW_SECRET_KEY": SECRET_KEY,
        "VODFLOW_EXECUTOR": "celery",
        "VODFLOW_BROKER_URL": "redis://127.0.0.1:1/0",
        "VODFLOW_DATABASE_URL": "postgresql+asyncpg://nobody@127.0.0.1:1/none",
    }  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "vodflow.cli", command, "--data-dir", str(tmp_path / "d")],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode != 0
    message = " ".join((done.stdout + done.stderr).split())
    assert "VODFLOW_PUBLIC_URL is not set" in message, message
