"""Shared fixtures: real vodflow servers, and the service-availability policy."""

from __future__ import annotations

import os
import socket
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
