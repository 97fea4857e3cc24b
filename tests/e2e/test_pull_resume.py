"""PullUpload tasks survive restarts and can be aborted (issue 12, item 6): a pull cut
short by kill -9 or by a clean SIGTERM is resumed when the server is back, and
ManageTask aborts one that is downloading."""

from __future__ import annotations

import json
import signal
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.flows_support import wait_until
from tests.mediagen import make_video
from tests.servers import ServerProcess

pytestmark = pytest.mark.e2e


@dataclass
class Origin:
    """Serves one clip; until `gate` is set, every download stalls after its first KB."""

    body: bytes
    url: str = ""
    gate: threading.Event = field(default_factory=threading.Event)
    requests: int = 0


@pytest.fixture
def origin(tmp_path: Path) -> Iterator[Origin]:
    clip = make_video(tmp_path / "clip.mp4", duration=1, width=160, height=120)
    state = Origin(clip.read_bytes())

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requests += 1
            self.send_response(200)
            self.send_header("Content-Type", "video/mp4")
            self.send_header("Content-Length", str(len(state.body)))
            self.end_headers()
            try:
                self.wfile.write(state.body[:1024])
                self.wfile.flush()
                state.gate.wait(60)
                self.wfile.write(state.body[1024:])
            except OSError:
                pass  # the fetcher went away

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}/clip.mp4"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield state
    state.gate.set()
    httpd.shutdown()


def task_row(server: ServerProcess, task_id: str) -> dict[str, Any]:
    db = sqlite3.connect(server.data_dir / "vodflow.db")
    try:
        status, output = db.execute(
            "select status, output from tasks where task_id=?", (task_id,)
        ).fetchone()
        [events] = db.execute(
            "select count(*) from events where event_type='PullComplete' and body like ?",
            (f"%{task_id}%",),
        ).fetchone()
        [media] = db.execute("select count(*) from media").fetchone()
    finally:
        db.close()
    return {"status": status, "output": json.loads(output), "events": events, "media": media}


def start_pull(server: ServerProcess, origin: Origin) -> str:
    task_id = server.call("PullUpload", {"MediaUrl": origin.url, "MediaType": "mp4"})["TaskId"]
    wait_until(lambda: {"requests": origin.requests}, lambda v: v["requests"] == 1, 60, 0.05)
    assert task_row(server, task_id)["status"] == "PROCESSING"
    return str(task_id)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["kill-9", "sigterm"])
def test_a_pull_cut_short_by_a_restart_is_resumed(
    fresh_server: ServerProcess, origin: Origin, sig: int
) -> None:
    server = fresh_server.start()
    task_id = start_pull(server, origin)
    server.stop(sig)
    origin.gate.set()  # the source answers at once from now on
    server.start()
    row = wait_until(lambda: task_row(server, task_id), lambda v: v["status"] == "FINISH", 60)
    out = row["output"]
    assert (out["Status"], out["ErrCode"], out["Message"]) == ("FINISH", 0, "SUCCESS"), out
    assert (row["events"], row["media"], origin.requests) == (1, 1, 2)
    detail = server.call("DescribeTaskDetail", {"TaskId": task_id})
    assert detail["PullUploadTask"]["FileId"] == out["FileId"]


def test_manage_task_aborts_a_pull_that_is_downloading(
    fresh_server: ServerProcess, origin: Origin
) -> None:
    server = fresh_server.start()
    task_id = start_pull(server, origin)
    assert server.call("ManageTask", {"TaskId": task_id, "OperationType": "Abort"}) is not None
    detail = server.call("DescribeTaskDetail", {"TaskId": task_id})
    assert detail["Status"] == "ABORTED"
    pull = detail["PullUploadTask"]
    assert (pull["Status"], pull["ErrCode"]) == ("FINISH", 70000), pull
    assert pull["Message"] == "The task was aborted by ManageTask."
    origin.gate.set()
    # The fetcher notices at its next lease renewal and stops: nothing is added.
    wait_until(lambda: task_row(server, task_id), lambda v: v["events"] == 1, 30)
    server.stop()  # every job has returned
    row = task_row(server, task_id)
    assert (row["status"], row["events"], row["media"]) == ("ABORTED", 1, 0)
    with pytest.raises(Exception, match="FailedOperation"):
        server.start().call("ManageTask", {"TaskId": task_id, "OperationType": "Abort"})
