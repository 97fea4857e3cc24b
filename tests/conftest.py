"""Shared fixtures: real vodflow servers, and the service-availability policy."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import ServerProcess

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require_service(name: str, host: str, port: int) -> None:
    """Skip when a backing service is absent; in CI its absence is a failure."""
    try:
        with socket.create_connection((host, port), timeout=1):
            return
    except OSError as exc:
        message = f"{name} is not reachable on {host}:{port} ({exc})"
        if IN_CI:
            pytest.fail(message + " — CI must have it")
        pytest.skip(message)


NODE_DIR = Path(__file__).resolve().parent / "node"


def _missing(message: str) -> None:
    if IN_CI:
        pytest.fail(message + " — CI must have node and npm")
    pytest.skip(message)


def _npm_ci(folder: Path) -> str:
    """`npm ci` in `folder` unless its node_modules matches the lock; the `node` binary."""
    node_bin, npm_bin = shutil.which("node"), shutil.which("npm")
    if node_bin is None or npm_bin is None:
        _missing("node and npm are needed for the Node.js SDK tests and are not on PATH")
    assert node_bin is not None and npm_bin is not None
    lock = folder / "package-lock.json"
    installed = folder / "node_modules" / ".package-lock.json"
    if not installed.exists() or installed.stat().st_mtime < lock.stat().st_mtime:
        done = subprocess.run(
            [npm_bin, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=folder, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        if done.returncode != 0:
            pytest.fail(f"`npm ci` in {folder} failed:\n{done.stdout}\n{done.stderr}")
    return node_bin


@pytest.fixture(scope="session")
def node() -> str:
    """The `node` binary, with the pinned Node.js clients installed (`npm ci`, once)."""
    return _npm_ci(NODE_DIR)


@pytest.fixture(scope="session")
def vod_js_sdk() -> Path:
    """vod-js-sdk-v6's browser bundle, installed by `npm ci` in tests/browser (once)."""
    folder = Path(__file__).resolve().parent / "browser"
    _npm_ci(folder)
    return folder / "node_modules" / "vod-js-sdk-v6" / "dist" / "vod-js-sdk-v6.js"


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One embedded vodflow shared by tests that do not need a fresh one."""
    srv = ServerProcess(tmp_path_factory.mktemp("vodflow-shared")).start()
    yield srv
    srv.stop()


@pytest.fixture
def fresh_server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A vodflow of its own, for tests that change settings or kill it."""
    srv = ServerProcess(tmp_path / "data")
    yield srv
    srv.stop()
