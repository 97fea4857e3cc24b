"""PullUpload tasks survive restarts, can be aborted and cannot starve flows (issue 12,
items 6 and 7): a pull cut short by kill -9 or by a clean SIGTERM is resumed when the
server is back, ManageTask aborts one that is downloading, stalled pulls never hold
the slots of media work, and a trickling source is stopped at the rate floor."""

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

from tests.flows_support import add_media, wait_task, wait_until
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
    """A PullUpload whose download is under way (and stalled, until the gate opens)."""
    before = origin.requests
    task_id = server.call("PullUpload", {"MediaUrl": origin.url, "MediaType": "mp4"})["TaskId"]
    wait_until(lambda: {"n": origin.requests}, lambda v: v["n"] == before + 1, 60, 0.05)
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


def test_stalled_pulls_never_hold_the_media_slot(
    fresh_server: ServerProcess, origin: Origin, tmp_path: Path
) -> None:
    """One media-work slot, two stalled downloads: a flow still runs and finishes."""
    server = fresh_server
    server.env["VODFLOW_WORKERS"] = "1"
    server.start()
    pulls = [start_pull(server, origin) for _ in range(2)]
    clip = make_video(tmp_path / "flow.mp4", duration=1, width=160, height=120)
    file_id = add_media(server, clip)
    mpt = {"TranscodeTaskSet": [{"Definition": 100010}]}
    task_id = server.call("ProcessMedia", {"FileId": file_id, "MediaProcessTask": mpt})["TaskId"]
    detail = wait_task(server, task_id, timeout=60)
    assert detail["Status"] == "FINISH"
    assert [task_row(server, p)["status"] for p in pulls] == ["PROCESSING"] * 2
    origin.gate.set()
    for p in pulls:
        wait_until(lambda p=p: task_row(server, p), lambda v: v["status"] == "FINISH", 60)


def test_a_trickling_source_is_stopped_at_the_rate_floor(
    fresh_server: ServerProcess, origin: Origin
) -> None:
    server = fresh_server
    server.env |= {"VODFLOW_PULL_MIN_RATE_BPS": "100000", "VODFLOW_PULL_RATE_GRACE_S": "2"}
    server.start()
    task_id = start_pull(server, origin)
    row = wait_until(lambda: task_row(server, task_id), lambda v: v["status"] == "FINISH", 30)
    out = row["output"]
    assert out["ErrCode"] == 40000, out
    assert out["Message"].startswith("The source sent less than 100000 bytes/s on average")
    assert (row["events"], row["media"]) == (1, 0)
    assert list((server.data_dir / "blobs" / ".tmp").iterdir()) == []
