"""`vodflow upload` as a user runs it: a subprocess against a real server."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests import mediagen
from tests.servers import SECRET_ID, SECRET_KEY, ServerProcess
from tests.uploadkit import cos_client
from vodflow.commands.upload import state_path
from vodflow.core.credentials import token_digest

pytestmark = pytest.mark.e2e


def run_cli(server: ServerProcess, cache: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "VODFLOW_SECRET_ID": SECRET_ID,
        "VODFLOW_SECRET_KEY": SECRET_KEY,
        "XDG_CACHE_HOME": str(cache),
    }
    cmd = [sys.executable, "-m", "vodflow.cli", "upload", *args, "--endpoint", server.url]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return mediagen.make_video(
        tmp_path_factory.mktemp("cli") / "cli clip.mp4",
        duration=4.0,
        vbitrate="3000k",
        extra=["-x264-params", "nal-hrd=cbr", "-bufsize", "1000k"],
    )


def test_cli_upload_json(server: ServerProcess, clip: Path, tmp_path: Path) -> None:
    done = run_cli(server, tmp_path, str(clip), "--json", "--part-size", "1")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert set(result) >= {"FileId", "MediaUrl"}
    info = server.call("DescribeMediaInfos", {"FileIds": [result["FileId"]]})["MediaInfoSet"][0]
    assert info["BasicInfo"]["Name"] == "cli clip"
    assert info["MetaData"]["Size"] == clip.stat().st_size
    # The session state is gone once committed.
    assert not list(tmp_path.rglob("*.json"))


def test_cli_upload_plain_output_and_errors(
    server: ServerProcess, clip: Path, tmp_path: Path
) -> None:
    done = run_cli(server, tmp_path, str(clip))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("FileId")
    assert "MediaUrl" in done.stdout
    bad = tmp_path / "notes.mp4"
    mediagen.make_text_renamed(bad)
    failed = run_cli(server, tmp_path, str(bad))
    assert failed.returncode == 2
    assert "InvalidParameterValue.SrcFile" in failed.stderr
    missing_proc = run_cli(server, tmp_path, str(clip), "--procedure", "no-such-procedure")
    assert missing_proc.returncode == 2
    assert "InvalidParameterValue.ProcedureName" in missing_proc.stderr


def test_cli_refused_commit_does_not_trap_the_next_run(
    server: ServerProcess, clip: Path, tmp_path: Path
) -> None:
    wrong = run_cli(server, tmp_path, str(clip), "--media-type", "flv", "--json")
    assert wrong.returncode == 2
    assert "InvalidParameterValue.MediaType" in wrong.stderr
    # The refused session is spent: its state is gone, not kept for a "resume".
    assert not list(tmp_path.rglob("*.json"))
    right = run_cli(server, tmp_path, str(clip), "--media-type", "mp4", "--json")
    assert right.returncode == 0, right.stderr
    file_id = json.loads(right.stdout)["FileId"]
    info = server.call("DescribeMediaInfos", {"FileIds": [file_id]})["MediaInfoSet"][0]
    assert info["BasicInfo"]["Type"] == "mp4"
    assert info["MetaData"]["Size"] == clip.stat().st_size


def test_cli_state_is_per_media_type_and_name(clip: Path) -> None:
    base = state_path(clip, "http://h", None, None, "mp4", "n")
    assert state_path(clip, "http://h", None, None, "flv", "n") != base
    assert state_path(clip, "http://h", None, None, "mp4", "other") != base
    assert state_path(clip, "http://h", None, None, "mp4", "n") == base


def test_cli_resumes_a_multipart_upload(server: ServerProcess, clip: Path, tmp_path: Path) -> None:
    # An earlier run applied, started a multipart upload and sent part 1, then died.
    os.environ["XDG_CACHE_HOME"] = str(tmp_path)
    try:
        state = state_path(clip, server.url, None, None, "mp4", "cli clip")
    finally:
        del os.environ["XDG_CACHE_HOME"]
    applied = server.call("ApplyUpload", {"MediaType": "mp4", "MediaName": "resumed"})
    state.parent.mkdir(parents=True)
    state.write_text(json.dumps(applied))
    cos = cos_client(server, applied)
    bucket, key = applied["StorageBucket"], applied["MediaStoragePath"]
    upload_id = cos.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    cos.upload_part(bucket, key, clip.read_bytes()[: 1024 * 1024], 1, upload_id)

    done = run_cli(server, tmp_path, str(clip), "--json", "--part-size", "1")
    assert done.returncode == 0, done.stderr
    file_id = json.loads(done.stdout)["FileId"]
    with sqlite3.connect(server.data_dir / "vodflow.db") as conn:
        row = conn.execute(
            "SELECT file_id FROM upload_sessions WHERE session_key=?",
            (token_digest(applied["VodSessionKey"]),),  # stored as a digest
        ).fetchone()
    assert row == (file_id,)  # the saved session was the one committed
    meta = server.call("DescribeMediaInfos", {"FileIds": [file_id]})["MediaInfoSet"][0]
    assert meta["MetaData"]["Size"] == clip.stat().st_size
    assert meta["BasicInfo"]["Name"] == "resumed"
