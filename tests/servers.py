"""Run a real `vodflow serve` subprocess on a free port, and clients for it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from tencentcloud.common import credential
from tencentcloud.common.common_client import CommonClient
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.vod.v20180717 import vod_client

from vodflow.config import Settings

SECRET_ID = "AKIDvodflowTestSecretId0000000000001"
SECRET_KEY = "vodflowTestSecretKey000000000001"
APP_ID = 1250000000
# "scaled": every ServerProcess runs on PostgreSQL + Celery with a `vodflow worker`
# of its own (tests/scale/deployment.py); "embedded" (default): SQLite, in-process.
DEPLOYMENT = os.environ.get("VODFLOW_TEST_DEPLOYMENT", "embedded")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stop_process(proc: subprocess.Popen[bytes] | None, sig: int, timeout: float) -> int | None:
    """Signal a child and wait for it (SIGKILL after `timeout`); its exit code."""
    if proc is None or proc.poll() is not None:
        return proc.returncode if proc else None
    proc.send_signal(sig)
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


@dataclass
class ServerProcess:
    """A vodflow server in its own process; restartable on the same data dir."""

    data_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    args: list[str] = field(default_factory=list)
    port: int = field(default_factory=free_port)
    scheme: str = "http"
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    # Processes that live and die with this server (the scaled deployment's worker).
    companions: list[Any] = field(default_factory=list)
    # Run in the server process before it starts (e.g. lower a resource limit).
    preexec: Callable[[], None] | None = None

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}"

    def start(self, timeout: float = 30.0) -> ServerProcess:
        if DEPLOYMENT == "scaled":
            from tests.scale.deployment import scale_out

            scale_out(self)
        env = {
            **os.environ,
            "VODFLOW_SECRET_ID": SECRET_ID,
            "VODFLOW_SECRET_KEY": SECRET_KEY,
            "VODFLOW_ALLOW_PRIVATE_URLS": "1",
            "VODFLOW_LOG_LEVEL": "warning",
            **self.env,
        }
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.data_dir / "server.log"
        log = self.log_path.open("ab")
        cmd = [sys.executable, "-m", "vodflow.cli", "serve", "--port", str(self.port)]
        cmd += ["--data-dir", str(self.data_dir), *self.args]
        self.proc = subprocess.Popen(
            cmd, env=env, stdout=log, stderr=subprocess.STDOUT, preexec_fn=self.preexec
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"vodflow exited early:\n{self.log()}")
            try:
                r = httpx.get(f"{self.url}/healthz", timeout=1, verify=False)
                if r.status_code == 200:
                    for companion in self.companions:
                        companion.start()
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"vodflow did not become healthy:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:] if self.log_path else ""

    def settings(self) -> Settings:
        """The Settings of this server's store and blobs, for tests that reach in directly."""
        e = self.env
        return Settings(
            data_dir=self.data_dir,
            port=self.port,
            secret_id=SECRET_ID,
            secret_key=SECRET_KEY,
            database_url=e.get("VODFLOW_DATABASE_URL"),
            blob_dir=Path(e["VODFLOW_BLOB_DIR"]) if e.get("VODFLOW_BLOB_DIR") else None,
            public_url=e.get("VODFLOW_PUBLIC_URL"),
            executor=e.get("VODFLOW_EXECUTOR", "local"),
            broker_url=e.get("VODFLOW_BROKER_URL"),
            celery_queue=e.get("VODFLOW_CELERY_QUEUE", Settings.celery_queue),
        )

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int | None:
        if sig == signal.SIGTERM:
            for companion in self.companions:
                companion.stop()
        return stop_process(self.proc, sig, timeout)

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    def profile(self, **http: Any) -> ClientProfile:
        return ClientProfile(
            httpProfile=HttpProfile(protocol=self.scheme, endpoint=self.host, **http)
        )

    def vod(self, secret_id: str = SECRET_ID, secret_key: str = SECRET_KEY, **http: Any):  # type: ignore[no-untyped-def]
        """The official SDK's VodClient pointed at this server."""
        cred = credential.Credential(secret_id, secret_key)
        return vod_client.VodClient(cred, "", self.profile(**http))

    def common(
        self, secret_id: str = SECRET_ID, secret_key: str = SECRET_KEY, **http: Any
    ) -> CommonClient:
        cred = credential.Credential(secret_id, secret_key)
        return CommonClient("vod", "2018-07-17", cred, "", self.profile(**http))

    def call(self, action: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """Call any action (Tencent's or vodflow's extensions); return Response."""
        return self.common().call_json(action, params or {})["Response"]  # type: ignore[no-any-return]
