"""An ephemeral vodflow in a child process, for application test suites.

`VodflowServer` runs `vodflow serve --ephemeral --print-env` (a temporary data dir
removed at exit, a free port, fresh root credentials) and reads the endpoint and
credentials it prints. A test gets a fresh application of its own from it
(`new_app`, one CreateSubAppId call): that is the per-test reset, since everything
in vodflow (media, tasks, events, event settings, fault rules) belongs to an
application.

The speed knobs (`TEST_SPEED_ENV`) are test-only: they shorten the PUSH retry
schedule and the PULL visibility window so a failure-handling test waits seconds,
not Tencent's minutes, and turn on cheap media (tiny transcodes reported with the
template's shape). Nothing here is needed in production.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tencentcloud.common.common_client import CommonClient
    from tencentcloud.vod.v20180717.vod_client import VodClient

    from vodflow.testing.app import VodflowApp

READY_LINE = "VODFLOW_READY=1"

# Test-only: retries of a refused or failed PUSH after 0.2 s, 0.5 s, 1 s, 2 s, 3 s
# (Tencent: 5 s, 30 s, 2 min... for 24 h); an unconfirmed PULL event shows again after
# 2 s (Tencent: 30 s); a held PullEvents returns after 1 s when nothing comes (5 s).
# Cheap media: transcoded video is written at most 64 px wide at 5 fps while events and
# DescribeTaskDetail carry the template's shape (a test reading the output's pixels
# passes env={"VODFLOW_TEST_CHEAP_MEDIA": "0"}).
TEST_SPEED_ENV = {
    "VODFLOW_TEST_CHEAP_MEDIA": "1",
    "VODFLOW_PUSH_SCHEDULE": "0.2,0.5,1,2,3",
    "VODFLOW_PULL_VISIBILITY_S": "2",
    "VODFLOW_PULL_WAIT_S": "1",
    "VODFLOW_PUSH_TIMEOUT_S": "5",
}


_PR_SET_PDEATHSIG = 1


def _term_with_parent() -> None:
    """preexec_fn (Linux): SIGTERM the server when the thread that started it dies, so
    a test run killed mid-way leaves no server (nor its data dir, which SIGTERM removes)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:
        return
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


class ServerFailed(RuntimeError):
    """The server did not start, or exited: the message ends with its log."""


class VodflowServer:
    """`with VodflowServer() as server:` (or start()/stop()) around a test session.

    On Linux the server also stops (and removes its data dir) when the thread that
    started it ends: start it from the thread that runs the tests."""

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        *,
        speed: bool = True,
        faults: bool = True,
        log_level: str = "warning",
        startup_timeout: float = 60.0,
    ) -> None:
        self.extra_env = dict(env or {})
        self.speed = speed
        self.faults = faults
        self.log_level = log_level
        self.startup_timeout = startup_timeout
        self.env: dict[str, str] = {}
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path: Path | None = None
        self._apps = 0

    # -- life ---------------------------------------------------------------------

    def child_env(self) -> dict[str, str]:
        """The server's environment: this process's, without any VODFLOW_* setting (a
        developer's own server settings must not leak in), plus the chosen knobs."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("VODFLOW_")}
        env["VODFLOW_LOG_LEVEL"] = self.log_level
        if self.speed:
            env.update(TEST_SPEED_ENV)
        if self.faults:
            env["VODFLOW_FAULTS"] = "1"
        env.update(self.extra_env)
        return env

    def start(self) -> VodflowServer:
        fd, log = tempfile.mkstemp(prefix="vodflow-test-", suffix=".log")
        self.log_path = Path(log)
        cmd = [sys.executable, "-m", "vodflow.cli", "serve", "--ephemeral", "--print-env"]
        self.proc = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=fd,
            stdin=subprocess.DEVNULL,
            env=self.child_env(),
            preexec_fn=_term_with_parent,
        )
        os.close(fd)
        try:
            self.env = self._read_env(self.proc)
        except BaseException:
            self.stop()
            raise
        return self

    def _read_env(self, proc: subprocess.Popen[bytes]) -> dict[str, str]:
        """The NAME=value lines printed up to VODFLOW_READY=1 (read from the raw pipe:
        a buffered readline would hide lines already read from `select`)."""
        assert proc.stdout is not None
        fd = proc.stdout.fileno()
        env: dict[str, str] = {}
        pending = b""
        deadline = time.monotonic() + self.startup_timeout
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise ServerFailed(f"vodflow did not start in time:\n{self.log()}")
                if not sel.select(remaining):
                    continue
                chunk = os.read(fd, 65536)
                if not chunk:
                    proc.wait(5)
                    raise ServerFailed(f"vodflow exited ({proc.returncode}):\n{self.log()}")
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for raw in lines:
                    line = raw.decode().strip()
                    if line == READY_LINE:
                        return env
                    name, sep, value = line.partition("=")
                    if sep:
                        env[name] = value

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM (the server removes its data dir), SIGKILL after `timeout`."""
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc is not None and proc.stdout is not None:
            proc.stdout.close()
        if self.log_path is not None and proc is not None and proc.returncode in (0, None):
            self.log_path.unlink(missing_ok=True)

    def __enter__(self) -> VodflowServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def log(self) -> str:
        """The end of the server's log (stderr)."""
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")[-5000:]

    # -- where and who --------------------------------------------------------------

    @property
    def endpoint(self) -> str:
        return self.env["VODFLOW_ENDPOINT"]

    @property
    def host(self) -> str:
        return self.env["VODFLOW_HOST"]

    @property
    def scheme(self) -> str:
        return self.env["VODFLOW_SCHEME"]

    @property
    def secret_id(self) -> str:
        return self.env["VODFLOW_SECRET_ID"]

    @property
    def secret_key(self) -> str:
        return self.env["VODFLOW_SECRET_KEY"]

    @property
    def app_id(self) -> int:
        return int(self.env["VODFLOW_APP_ID"])

    # -- clients --------------------------------------------------------------------

    def vod(self, **http: Any) -> VodClient:
        """The official SDK's VodClient with the root credential, pointed here."""
        from tencentcloud.common import credential
        from tencentcloud.vod.v20180717.vod_client import VodClient

        cred = credential.Credential(self.secret_id, self.secret_key)
        return VodClient(cred, "", self._profile(**http))

    def common(self, **http: Any) -> CommonClient:
        """The SDK's CommonClient: calls any action by name, vodflow's extensions too."""
        from tencentcloud.common import credential
        from tencentcloud.common.common_client import CommonClient

        cred = credential.Credential(self.secret_id, self.secret_key)
        return CommonClient("vod", "2018-07-17", cred, "", self._profile(**http))

    def _profile(self, **http: Any) -> Any:
        from tencentcloud.common.profile.client_profile import ClientProfile
        from tencentcloud.common.profile.http_profile import HttpProfile

        http.setdefault("reqTimeout", 60)
        profile = HttpProfile(protocol=self.scheme, endpoint=self.host, **http)
        return ClientProfile(httpProfile=profile)

    def call(self, action: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Any action; its Response (raises the SDK's TencentCloudSDKException on errors)."""
        answer = self.common().call_json(action, dict(params or {}))
        response: dict[str, Any] = answer["Response"]
        return response

    def new_app(self, name: str = "test") -> VodflowApp:
        """A fresh application (CreateSubAppId): the per-test reset."""
        from vodflow.testing.app import VodflowApp

        self._apps += 1
        label = "".join(c if c.isalnum() or c in "-_" else "-" for c in name)[:30] or "test"
        created = self.call("CreateSubAppId", {"Name": f"{label}-{self._apps}"})
        return VodflowApp(self, int(created["SubAppId"]))
