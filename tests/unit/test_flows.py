"""Pure parts of task flows: offsets, template mapping, expansion, presentation, tokens."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vodflow.core import subtask_specs as specs
from vodflow.core.flows import FlowOptions, expand
from vodflow.core.tasks import decode_token, encode_token
from vodflow.errors import VodError
from vodflow.media.errors import MediaOpError
from vodflow.media.strays import kill_strays
from vodflow.runtime.sweeper import owner_dead
from vodflow.wire.task_views import err_code, subtask_result


def test_window() -> None:
    assert specs.window(None, None, 60) == (None, None)
    assert specs.window(10, -10, 60) == (10, 50)
    assert specs.window(-5, None, 60) == (55, None)
    for bad in ((70, None), (10, 5), (-70, None)):
        with pytest.raises(MediaOpError) as info:
            specs.window(*bad, 60)
        assert info.value.code == "InvalidInput.InvalidTimeOffset"


def test_snapshot_offsets() -> None:
    item = {"ExtTimeOffsetSet": ["1.5s", "50%", "2"], "TimeOffsetSet": [500]}
    assert specs.snapshot_offsets(item, 10) == [1.5, 5.0, 2.0, 0.5]
    for bad in ({"ExtTimeOffsetSet": ["11s"]}, {"ExtTimeOffsetSet": ["x"]}, {}):
        with pytest.raises(MediaOpError):
            specs.snapshot_offsets(bad, 10)


def test_transcode_template_mapping() -> None:
    tpl = {
        "Container": "hls",
        "VideoTemplate": {
            "Codec": "libx265",
            "Bitrate": 800,
            "Height": 360,
            "Fps": 25,
            "ResolutionAdaptive": "close",
            "FillType": "gauss",
        },
        "AudioTemplate": {"Codec": "libfdk_aac", "SampleRate": 44100, "AudioChannel": 6},
        "RemoveAudio": 1,
    }
    spec = specs.transcode_spec(tpl, "v.f1", (1.0, 2.0))
    assert (
        spec.container == "hls" and spec.remove_audio and (spec.start_time, spec.end_time) == (1, 2)
    )
    assert spec.video is not None and spec.video.codec == "h265"
    assert not spec.video.resolution_adaptive and spec.video.fill_type == "gauss"
    assert spec.audio is not None and (spec.audio.codec, spec.audio.channels) == ("aac", 2)


def test_expand_order_and_limits() -> None:
    items = expand(
        {
            "CoverBySnapshotTaskSet": [
                {"Definition": 10, "PositionType": "Time", "PositionValue": 0}
            ],
            "TranscodeTaskSet": [{"Definition": 20}],
        }
    )
    assert [t for t, _ in items] == ["Transcode", "CoverBySnapshot"]
    for bad in (
        {},
        {"TranscodeTaskSet": []},
        {
            "TranscodeTaskSet": [{"Definition": 1}] * 60,
            "ImageSpriteTaskSet": [{"Definition": 1}] * 41,
        },
    ):
        with pytest.raises(VodError):
            expand(bad)


@pytest.mark.parametrize(
    ("opts", "code"),
    [
        ({"priority": 11}, "InvalidParameterValue"),
        ({"notify_mode": "Sometimes"}, "InvalidParameterValue"),
        ({"session_context": "x" * 1001}, "InvalidParameterValue.SessionContextTooLong"),
        ({"session_id": "x" * 51}, "InvalidParameterValue.SessionIdTooLong"),
    ],
)
def test_options_limits(opts: dict, code: str) -> None:
    with pytest.raises(VodError) as info:
        FlowOptions(**opts).check()
    assert info.value.code == code


def test_presentation() -> None:
    assert (err_code(""), err_code("SourceFileError.NoVideoMedia"), err_code("InvalidInput")) == (
        0,
        60000,
        40000,
    )
    row = {
        "type": "Transcode",
        "status": "WAITING",
        "err_code_ext": "",
        "message": "",
        "progress": 0,
        "input": {"Definition": 20},
        "begin_time": None,
        "finish_time": None,
        "output": {"_work": "/x"},
    }
    shown = subtask_result(row)["TranscodeTask"]
    assert (
        shown["Status"] == "PROCESSING"
        and "Output" not in shown
        and shown.get("BeginProcessTime") is None
    )
    aborted = subtask_result({**row, "status": "ABORTED", "finish_time": 0.0})["TranscodeTask"]
    assert (aborted["Status"], aborted["ErrCodeExt"], aborted["ErrCode"]) == (
        "FAIL",
        "InternalError",
        70000,
    )


def test_scroll_token() -> None:
    token = encode_token(12.5, "t1", "CreateTime", True)
    assert decode_token(token, "CreateTime", True) == (12.5, "t1")
    for bad in ("!!", token + "x"):
        with pytest.raises(VodError):
            decode_token(bad, "CreateTime", True)
    with pytest.raises(VodError):
        decode_token(token, "FinishTime", True)


def test_owner_dead_and_kill_strays(tmp_path) -> None:
    import os

    assert not owner_dead(None, "h", "h:1:a")
    assert not owner_dead("other:1:a", "h", "h:2:b")
    assert owner_dead(f"h:{os.getpid()}:old", "h", f"h:{os.getpid()}:new")
    marker = str(tmp_path / "flow-1-abc")
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", marker])
    try:
        time.sleep(0.2)
        assert owner_dead(f"h:{proc.pid}:x", "h", "h:1:y") is False
        assert kill_strays(marker) == 1
        assert proc.wait(10) != 0
    finally:
        proc.kill()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="atomic swap is Linux's renameat2")
def test_blob_replace_swaps_a_folder_whole(tmp_path) -> None:
    """Readers of a replaced folder find the old files or the new ones, never none;
    the old folder is kept aside (for the caller to delete or put back)."""
    import threading

    from vodflow.blobstore import BlobStore

    blobs = BlobStore(tmp_path / "blobs")
    key = "m/sprite.f10"

    def folder(text: str) -> Path:
        path = blobs.temp_path()
        path.mkdir()
        for name in ("0.jpg", "1.jpg", "index.vtt"):
            (path / name).write_text(text)
        return path

    assert blobs.replace(folder("v0"), key) is None
    missing: list[str] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            for name in ("0.jpg", "index.vtt"):
                try:
                    blobs.path(f"{key}/{name}").read_text()
                except FileNotFoundError:
                    missing.append(name)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for n in range(1, 200):
            old = blobs.replace(folder(f"v{n}"), key)
            assert old is not None and (old / "1.jpg").read_text() == f"v{n - 1}"
            shutil.rmtree(old)
    finally:
        stop.set()
        reader.join()
    assert missing == []
    assert blobs.path(f"{key}/0.jpg").read_text() == "v199"
    # Putting the old one back is another replace.
    old = blobs.replace(folder("v200"), key)
    assert old is not None
    mine = blobs.replace(old, key)
    assert mine is not None and (mine / "0.jpg").read_text() == "v200"
    assert blobs.path(f"{key}/0.jpg").read_text() == "v199"


def test_expand_refuses_one_definition_asked_two_ways() -> None:
    whole, clipped = {"Definition": 100010}, {"Definition": 100010, "StartTimeOffset": 2}
    with pytest.raises(VodError) as info:
        expand({"TranscodeTaskSet": [whole, clipped]})
    assert info.value.code == "InvalidParameterValue" and "100010" in info.value.message
    # Identical repeats share one output; the same Definition in another set is another output.
    assert len(expand({"TranscodeTaskSet": [whole, whole]})) == 2
    flv = {"Definition": 100010, "OverrideParameter": {"Container": "flv"}}
    assert len(expand({"TranscodeTaskSet": [whole, flv]})) == 2  # another rendition
    with pytest.raises(VodError):
        expand({"TranscodeTaskSet": [flv, {**flv, "StartTimeOffset": 2}]})
    shots = {"Definition": 10, "TimeOffsetSet": [1000]}
    cover = {"Definition": 10, "PositionType": "Time", "PositionValue": 1}
    assert (
        len(expand({"SnapshotByTimeOffsetTaskSet": [shots], "CoverBySnapshotTaskSet": [cover]}))
        == 2
    )
