"""CommitUpload under crashes and races (issue 12, items 8 and 9): a kill -9 during a
commit leaves a session that a retry commits; a write that ends after the commit
started is refused and never replaces the committed bytes."""

from __future__ import annotations

import sqlite3
import struct
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.mediagen import make_video
from tests.servers import ServerProcess
from tests.uploadkit import apply, put, signed_sender
from vodflow.core.credentials import token_digest

pytestmark = pytest.mark.e2e


def session_state(server: ServerProcess, session_key: str) -> str | None:
    db = sqlite3.connect(server.data_dir / "vodflow.db")
    try:
        row = db.execute(
            "select state from upload_sessions where session_key=?",
            (token_digest(session_key),),  # stored as a digest
        ).fetchone()
    finally:
        db.close()
    return row[0] if row else None


def padded_mp4(clip: Path, dest: Path, pad: int) -> Path:
    """`clip` followed by a top-level `free` box of `pad` bytes (sparse: no disk used):
    still valid media, but its MD5 takes a while, which keeps a commit busy."""
    data = clip.read_bytes()
    with dest.open("wb") as f:
        f.write(data)
        f.write(struct.pack(">I4s", pad, b"free"))
        f.truncate(len(data) + pad)
    return dest


def in_thread(fn: Any) -> Any:
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()

    def join() -> Any:
        thread.join(120)
        assert not thread.is_alive()
        return box

    return join


@pytest.mark.slow
def test_commit_killed_midway_is_committed_by_a_retry(
    fresh_server: ServerProcess, tmp_path: Path
) -> None:
    server = fresh_server.start()
    clip = make_video(tmp_path / "clip.mp4", duration=1, width=160, height=120)
    applied = apply(server)
    key = applied["VodSessionKey"]
    # The staged object, as a PUT leaves it (written in place: 1 GB over HTTP is slow).
    staged = server.data_dir / "blobs" / "uploads" / applied["MediaStoragePath"].split("/", 2)[2]
    staged.parent.mkdir(parents=True)
    big = padded_mp4(clip, staged, 1024**3)
    size = big.stat().st_size

    commit = in_thread(lambda: server.call("CommitUpload", {"VodSessionKey": key}))
    deadline = time.monotonic() + 60
    while session_state(server, key) != "COMMITTING":
        assert time.monotonic() < deadline, server.log()
        time.sleep(0.002)
    server.kill()
    assert "error" in commit()
    assert session_state(server, key) == "COMMITTING"  # cut short midway

    server.start()
    done = server.call("CommitUpload", {"VodSessionKey": key})
    [info] = server.call("DescribeMediaInfos", {"FileIds": [done["FileId"]]})["MediaInfoSet"]
    assert info["MetaData"]["Size"] == size
    assert session_state(server, key) == "COMMITTED"
    # Committed once: a further retry is refused, and the staging folder is gone.
    with pytest.raises(Exception, match="VodSessionKey"):
        server.call("CommitUpload", {"VodSessionKey": key})
    assert not staged.parent.exists()


def test_a_write_ending_after_the_commit_started_is_refused(
    fresh_server: ServerProcess, tmp_path: Path
) -> None:
    server = fresh_server.start()
    clip = make_video(tmp_path / "clip.mp4", duration=1, width=160, height=120)
    applied = apply(server)
    put(server, applied, clip, multipart=False)
    send = signed_sender(server, applied)
    release = threading.Event()

    def trickle() -> Iterator[bytes]:
        yield b"this is not media\n" * 1000
        release.wait(60)
        yield b"the end\n"

    late = in_thread(lambda: send("PUT", {}, trickle()))
    time.sleep(1.0)  # the late PUT is under way (its session was open when it began)
    done = server.call("CommitUpload", {"VodSessionKey": applied["VodSessionKey"]})
    release.set()
    answer = late()["value"]
    assert answer.status_code == 403, answer.text
    assert "<Code>AccessDenied</Code>" in answer.text
    # The committed media is the clip, byte for byte; nothing is left staged.
    [info] = server.call("DescribeMediaInfos", {"FileIds": [done["FileId"]]})["MediaInfoSet"]
    assert httpx.get(info["BasicInfo"]["MediaUrl"]).content == clip.read_bytes()
    assert list((server.data_dir / "blobs" / "uploads").rglob("*.*")) == []


def test_a_failed_commit_gives_the_upload_back_for_a_retry(
    fresh_server: ServerProcess, tmp_path: Path
) -> None:
    """A commit that fails for a reason other than the bytes (its procedure was deleted
    meanwhile) puts the set-aside object back and reopens the session: once the
    procedure exists again, the retry commits the same bytes."""
    server = fresh_server.start()
    mpt = {
        "CoverBySnapshotTaskSet": [{"Definition": 10, "PositionType": "Time", "PositionValue": 0}]
    }
    server.call("CreateProcedureTemplate", {"Name": "later", "MediaProcessTask": mpt})
    clip = make_video(tmp_path / "clip.mp4", duration=1, width=160, height=120)
    applied = apply(server, Procedure="later")
    put(server, applied, clip, multipart=False)
    server.call("DeleteProcedureTemplate", {"Name": "later"})
    with pytest.raises(Exception, match=r"InvalidParameterValue\.ProcedureName"):
        server.call("CommitUpload", {"VodSessionKey": applied["VodSessionKey"]})
    server.call("CreateProcedureTemplate", {"Name": "later", "MediaProcessTask": mpt})
    done = server.call("CommitUpload", {"VodSessionKey": applied["VodSessionKey"]})
    [info] = server.call("DescribeMediaInfos", {"FileIds": [done["FileId"]]})["MediaInfoSet"]
    assert httpx.get(info["BasicInfo"]["MediaUrl"]).content == clip.read_bytes()
    tasks = server.call("DescribeTasks", {"FileId": done["FileId"]})["TaskSet"]
    assert [t["TaskType"] for t in tasks] == ["Procedure"]  # the procedure started
