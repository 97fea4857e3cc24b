"""The pytest plugin (entry point `pytest11: vodflow`): `vodflow_*` fixtures.

    def test_upload(vodflow_app, vodflow_clip):
        file_id = vodflow_app.upload(vodflow_clip())["FileId"]

Loading the plugin costs nothing until a test asks for a fixture: the server starts
on the first use of `vodflow_server` (once per session) and nothing of vodflow is
imported before. Each test gets a fresh application (`vodflow_app`), which is the
per-test reset. Override `vodflow_server` in a conftest.py to change the server's
settings (e.g. `VodflowServer(env={"VODFLOW_RATE_LIMIT": "0"})`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from qcloud_cos import CosS3Client
    from tencentcloud.vod.v20180717.vod_client import VodClient

    from vodflow.testing import Faults, PullWaiter, PushReceiver, VodflowApp, VodflowServer


@pytest.fixture(scope="session")
def vodflow_server() -> Iterator[VodflowServer]:
    """One ephemeral vodflow for the session (temporary data dir, free port, fresh
    credentials, test speed knobs and fault actions on)."""
    from vodflow.testing import VodflowServer

    server = VodflowServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def vodflow_app(
    vodflow_server: VodflowServer, request: pytest.FixtureRequest
) -> Iterator[VodflowApp]:
    """A fresh application of this test's own: its media, tasks, events and fault rules
    are invisible to every other test."""
    app = vodflow_server.new_app(request.node.name)
    try:
        yield app
    finally:
        app.close()


@pytest.fixture
def vodflow_vod(vodflow_server: VodflowServer) -> VodClient:
    """The official SDK's VodClient pointed at the server (root credential)."""
    return vodflow_server.vod()


@pytest.fixture
def vodflow_cos(vodflow_app: VodflowApp) -> Callable[[dict[str, Any]], CosS3Client]:
    """`vodflow_cos(apply_upload_response)`: a COS SDK client for that upload session."""
    return vodflow_app.cos


@pytest.fixture
def vodflow_clip(tmp_path: Path) -> Callable[..., Path]:
    """`vodflow_clip(seconds=1, width=160, height=120, fps=10, audio=True, name="clip.mp4")`:
    a real clip made by FFmpeg in the test's tmp_path."""
    from vodflow.testing import make_clip

    made = 0

    def clip(name: str | None = None, **options: Any) -> Path:
        nonlocal made
        made += 1
        return make_clip(tmp_path / (name or f"clip{made}.mp4"), **options)

    return clip


@pytest.fixture
def vodflow_upload(vodflow_app: VodflowApp) -> Callable[..., dict[str, Any]]:
    """`vodflow_upload(path, **ApplyUpload params)`: CommitUpload's Response."""
    return vodflow_app.upload


@pytest.fixture
def vodflow_events(vodflow_app: VodflowApp) -> PullWaiter:
    """`vodflow_events.wait_for(task_id, status="FINISH", timeout=120)` by PullEvents."""
    return vodflow_app.events


@pytest.fixture
def vodflow_push(vodflow_app: VodflowApp) -> PushReceiver:
    """A loopback receiver the application's events are PUSHed to;
    `vodflow_push.wait_for(task_id, ...)`."""
    return vodflow_app.push_receiver()


@pytest.fixture
def vodflow_faults(vodflow_app: VodflowApp) -> Faults:
    """The application's fault rules: `vodflow_faults.add("SubtaskFail", ...)`."""
    return vodflow_app.faults
