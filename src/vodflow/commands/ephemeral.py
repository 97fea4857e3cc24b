"""`vodflow serve --ephemeral --print-env`: a throw-away server for test suites.

An ephemeral server lives in a temporary data dir (removed when it exits; on /dev/shm
when there is one, so its media sit in memory), on a free
port, with fresh root credentials; it accepts loopback NotificationUrls (a test's
receiver runs there). `--print-env` writes, once the server answers, the lines a test
suite in any language needs (`NAME=value`, ending with `VODFLOW_READY=1`) on stdout.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Protocol

from vodflow.config import Settings

READY_LINE = "VODFLOW_READY=1"


class Started(Protocol):
    started: bool


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


# A throw-away database need not survive a power cut: on a RAM file system SQLite's
# syncs cost nothing (measured: the migrations of a new database, 1.05 s on disk under
# load, 0.34 s on /dev/shm; bench/plugin_startup.py). Used only with room to spare.
MEMORY_TMP = Path("/dev/shm")
MEMORY_TMP_MIN_FREE = 1024**3


def memory_tmp() -> str | None:
    """/dev/shm when it is there, writable and has 1 GiB free; else None (TMPDIR)."""
    try:
        usable = os.access(MEMORY_TMP, os.W_OK)
        return (
            str(MEMORY_TMP)
            if usable and shutil.disk_usage(MEMORY_TMP).free >= MEMORY_TMP_MIN_FREE
            else None
        )
    except OSError:
        return None


def ephemeral_settings(settings: Settings, port_given: bool) -> Settings:
    """The settings with a temporary data dir, a free port (unless one was given) and
    loopback receivers allowed; the root credential is generated into the new dir
    unless VODFLOW_SECRET_ID/KEY give one. Always the embedded deployment (SQLite and
    blobs in the temporary dir, in-process executor): nothing outlives the process."""
    data_dir = Path(tempfile.mkdtemp(prefix="vodflow-ephemeral-", dir=memory_tmp()))
    port = settings.port if port_given else free_port(settings.host)
    return replace(
        settings,
        data_dir=data_dir,
        port=port,
        allow_private_urls=True,
        database_url=None,
        blob_dir=None,
        public_url=None,
        executor="local",
        broker_url=None,
    )


def env_lines(settings: Settings, secret_id: str, secret_key: str) -> list[str]:
    """What a test suite needs: the endpoint, the root credential (under vodflow's and the
    Tencent SDKs' names), the default application and the data dir."""
    scheme = "https" if settings.tls_cert else "http"
    host = f"{settings.host}:{settings.port}"
    return [
        f"VODFLOW_ENDPOINT={scheme}://{host}",
        f"VODFLOW_HOST={host}",
        f"VODFLOW_SCHEME={scheme}",
        f"VODFLOW_SECRET_ID={secret_id}",
        f"VODFLOW_SECRET_KEY={secret_key}",
        f"TENCENTCLOUD_SECRET_ID={secret_id}",
        f"TENCENTCLOUD_SECRET_KEY={secret_key}",
        f"VODFLOW_APP_ID={settings.app_id}",
        f"VODFLOW_DATA_DIR={settings.data_dir.resolve()}",
        READY_LINE,
    ]


def announce_when_started(server: Started, lines: list[str]) -> Callable[[], None]:
    """A thread that prints `lines` on stdout once uvicorn has bound and started."""

    def watch() -> None:
        while not server.started:
            time.sleep(0.005)
        sys.stdout.write("\n".join(lines) + "\n")
        sys.stdout.flush()

    thread = threading.Thread(target=watch, name="vodflow-print-env", daemon=True)
    return thread.start


def remove_data_dir(data_dir: Path) -> None:
    shutil.rmtree(data_dir, ignore_errors=True)


def exit_on_signals() -> None:
    """Make SIGTERM and SIGINT end the process by SystemExit, so the data dir is removed.

    uvicorn re-raises the signal that stopped it once it has shut down; with the
    default handler that kills the process before any `finally` runs."""

    def leave(signum: int, frame: object) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, leave)
    signal.signal(signal.SIGINT, leave)
