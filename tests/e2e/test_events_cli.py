"""`vodflow events pull` and `vodflow events receive` as a user runs them: subprocesses
against a real server, with events made by real uploads and deletions."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

import httpx
import pytest

from tests import mediagen
from tests.flows_support import wait_until
from tests.servers import SECRET_ID, SECRET_KEY, ServerProcess, free_port
from tests.uploadkit import upload
from vodflow.receiver import expected_sign

pytestmark = pytest.mark.e2e

SIGN_KEY = "CliKey42"


class Lines:
    """The lines a stream prints, read by a thread so a test can wait for them."""

    def __init__(self, stream: IO[str]) -> None:
        self.seen: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self.seen.append(line)
            self._queue.put(line)
        self._queue.put(None)  # the process closed it (exited)

    def next(self, timeout: float = 60.0) -> str:
        try:
            line = self._queue.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no line within {timeout} s; so far: {self.seen}") from None
        if line is None:
            self._queue.put(None)
            raise AssertionError(f"the stream ended; it printed: {self.seen}")
        return line

    def until_end(self, timeout: float = 60.0) -> list[str]:
        """Every line still to come, up to the end of the stream."""
        lines: list[str] = []
        deadline = time.monotonic() + timeout
        while True:
            try:
                lines.append(self.next(max(0.1, deadline - time.monotonic())))
            except AssertionError:
                if self._queue.queue and self._queue.queue[0] is None:
                    return lines
                raise

    def wait_for(self, text: str, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            line = self.next(max(0.1, deadline - time.monotonic()))
            if text in line:
                return line


def start_cli(server: ServerProcess, *args: str) -> tuple[subprocess.Popen[str], Lines, Lines]:
    env = {**os.environ, "VODFLOW_SECRET_ID": SECRET_ID, "VODFLOW_SECRET_KEY": SECRET_KEY}
    env["VODFLOW_ENDPOINT"] = server.url
    env["COLUMNS"] = "500"  # rich wraps stderr messages at the terminal width otherwise
    cmd = [sys.executable, "-m", "vodflow.cli", "events", *args]
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1
    )
    assert proc.stdout is not None and proc.stderr is not None
    return proc, Lines(proc.stdout), Lines(proc.stderr)


def stop_cli(proc: subprocess.Popen[str]) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            return proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
    return proc.wait()


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return mediagen.make_video(tmp_path_factory.mktemp("events-cli") / "clip.mp4", duration=1.0)


def new_app(server: ServerProcess, name: str, **config: Any) -> int:
    app_id = int(server.call("CreateSubAppId", {"Name": name})["SubAppId"])
    server.call("ModifyEventConfig", {"SubAppId": app_id, **config})
    return app_id


def to_pull(server: ServerProcess, app_id: int) -> int:
    state = server.call("DescribeEventsState", {"SubAppId": app_id})
    return int(state["CountOfEventsToPull"])


def upload_to(server: ServerProcess, app_id: int, clip: Path) -> str:
    return str(upload(server, clip, SubAppId=app_id)["FileId"])


def test_pull_confirm_json_prints_the_events_and_leaves_none(
    server: ServerProcess, clip: Path
) -> None:
    switches = {"UploadMediaCompleteEventSwitch": "ON", "DeleteMediaCompleteEventSwitch": "ON"}
    app_id = new_app(server, "cli-pull", Mode="PULL", **switches)
    kept, deleted = upload_to(server, app_id, clip), upload_to(server, app_id, clip)
    server.call("DeleteMedia", {"SubAppId": app_id, "FileId": deleted})
    wait_until(lambda: {"n": to_pull(server, app_id)}, lambda s: s["n"] == 3, timeout=30)

    proc, out, err = start_cli(server, "pull", "--confirm", "--json", "--sub-app-id", str(app_id))
    assert proc.wait(60) == 0, err.seen
    events = [json.loads(line) for line in out.until_end()]
    assert len(events) == 3
    assert all(isinstance(e["EventHandle"], str) and e["EventHandle"] for e in events)
    uploads = sorted(e["FileUploadEvent"]["FileId"] for e in events if "FileUploadEvent" in e)
    assert uploads == sorted([kept, deleted])
    (gone,) = [e for e in events if e["EventType"] == "FileDeleted"]
    assert gone["FileDeleteEvent"]["FileIdSet"] == [deleted]
    assert sorted(e["EventType"] for e in events) == ["FileDeleted"] + ["NewFileUpload"] * 2
    assert to_pull(server, app_id) == 0  # all confirmed


def post(url: str, body: dict[str, Any]) -> int:
    return httpx.post(url, content=json.dumps(body), timeout=10).status_code


def test_receive_prints_pushed_events_and_refuses_forged_ones(
    server: ServerProcess, clip: Path
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    proc, out, err = start_cli(
        server, "receive", "--port", str(port), "--sign-key", SIGN_KEY, "--json"
    )
    try:
        err.wait_for("receiving events on")
        app_id = new_app(
            server,
            "cli-receive",
            Mode="PUSH",
            NotificationUrl=url,
            SignKey=SIGN_KEY,
            UploadMediaCompleteEventSwitch="ON",
        )
        file_id = upload_to(server, app_id, clip)
        pushed = json.loads(out.next())
        assert pushed["EventType"] == "NewFileUpload"
        assert pushed["FileUploadEvent"]["FileId"] == file_id
        assert "Sign" not in pushed and "T" not in pushed and "EventHandle" not in pushed

        event = {"EventType": "FileDeleted", "FileDeleteEvent": {"FileIdSet": ["forged"]}}
        t = int(time.time()) + 600
        assert post(url, {**event, "T": t, "Sign": "0" * 32}) == 401  # bad Sign
        assert post(url, {**event, "T": t, "Sign": expected_sign("OtherKey", t)}) == 401
        old = int(time.time()) - 60  # correctly signed, but expired: a replay
        assert post(url, {**event, "T": old, "Sign": expected_sign(SIGN_KEY, old)}) == 401
        assert post(url, event) == 401  # unsigned
        # A correctly signed one from us is accepted, and it is the next line printed:
        # none of the refused ones was.
        control = {"EventType": "FileDeleted", "FileDeleteEvent": {"FileIdSet": ["real"]}}
        assert post(url, {**control, "T": t, "Sign": expected_sign(SIGN_KEY, t)}) == 200
        assert json.loads(out.next()) == control
        assert sum("refused" in line for line in err.seen) == 4
    finally:
        stop_cli(proc)


def test_pull_follow_survives_a_server_restart(fresh_server: ServerProcess, clip: Path) -> None:
    server = fresh_server.start()
    app_id = new_app(server, "cli-follow", Mode="PULL", UploadMediaCompleteEventSwitch="ON")
    proc, out, err = start_cli(
        server, "pull", "--follow", "--confirm", "--json", "--sub-app-id", str(app_id)
    )
    try:
        before = upload_to(server, app_id, clip)
        assert json.loads(out.next())["FileUploadEvent"]["FileId"] == before

        server.stop()
        err.wait_for("retrying")  # it met the outage ...
        err.wait_for("retrying")  # ... and keeps waiting it out
        assert proc.poll() is None
        server.start()

        after = upload_to(server, app_id, clip)
        assert json.loads(out.next())["FileUploadEvent"]["FileId"] == after
        wait_until(lambda: {"n": to_pull(server, app_id)}, lambda s: s["n"] == 0, timeout=30)
        assert proc.poll() is None
    finally:
        assert stop_cli(proc) == 0, err.seen
