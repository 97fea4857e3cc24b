"""Fixtures of the example app's tests: vodflow comes from the vodflow pytest plugin
(`vodflow_app`, `vodflow_clip`, `vodflow_faults`); these only run the app itself."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn

from examples.transcode_app.app import Store, create_app
from examples.transcode_app.vod import VodConfig
from vodflow.testing import Faults, VodflowApp

SIGN_KEY = "exampleSignKey2024"
PROCEDURE = "example-transcode"


class RunningApp:
    """The example app served by uvicorn in a thread on loopback; stop() and start()
    again on the same port play an outage (its Store survives, as a database would)."""

    def __init__(self, config: VodConfig) -> None:
        self.config = config
        self.store = Store()
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.server: uvicorn.Server | None = None
        self.thread: threading.Thread | None = None
        self.http = httpx.Client(base_url=self.url, timeout=120)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> RunningApp:
        app = create_app(self.config, self.store)
        self.service = app.state.service
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            assert self.thread.is_alive() and time.monotonic() < deadline, "app did not start"
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self.server is not None and self.thread is not None:
            self.server.should_exit = True
            self.thread.join(30)
        self.server = self.thread = None

    def video(self, video_id: int) -> dict[str, object]:
        answer: dict[str, object] = self.http.get(f"/videos/{video_id}").json()
        return answer

    def wait_video(self, video_id: int, status: str, timeout: float = 120.0) -> dict[str, object]:
        deadline = time.monotonic() + timeout
        while True:
            video = self.video(video_id)
            if video["status"] == status:
                return video
            assert time.monotonic() < deadline, f"video not {status} in {timeout} s: {video}"
            time.sleep(0.1)


def app_config(vodflow_app: VodflowApp) -> VodConfig:
    server = vodflow_app.server
    return VodConfig(
        endpoint=server.host,
        scheme=server.scheme,
        secret_id=server.secret_id,
        secret_key=server.secret_key,
        sub_app_id=vodflow_app.sub_app_id,
        sign_key=SIGN_KEY,
        procedure=PROCEDURE,
        call_backoff_s=0.05,
    )


@pytest.fixture
def example_app(vodflow_app: VodflowApp) -> Iterator[RunningApp]:
    """The app, its task flow (one Transcode) created, receiving PUSH callbacks."""
    vodflow_app.call(
        "CreateProcedureTemplate",
        {"Name": PROCEDURE, "MediaProcessTask": {"TranscodeTaskSet": [{"Definition": 100010}]}},
    )
    running = RunningApp(app_config(vodflow_app)).start()
    vodflow_app.call(
        "ModifyEventConfig",
        {"Mode": "PUSH", "NotificationUrl": f"{running.url}/vod/callback", "SignKey": SIGN_KEY},
    )
    try:
        yield running
    finally:
        running.stop()
        running.http.close()


@pytest.fixture
def faults(vodflow_app: VodflowApp) -> Faults:
    """The application's fault rules (the plugin's server runs with faults enabled)."""
    assert vodflow_app.faults.available(), "this vodflow refuses the fault actions"
    return vodflow_app.faults
