"""A media's probe stored at ingest stands for probing its file again (media.probe).

`stored_probe(probe_record(probe(f)), f)` must be exactly `probe(f, md5=False)`, what
an op's `read_source` gets by probing: every field, for every shape of source an op
meets (rotated, audio first, audio only, a still image, fps and codecs of all kinds).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.mediagen import ffmpeg, make_audio_only, make_png, make_video
from vodflow.media.probe import PROBE_VERSION, probe, probe_record, stored_probe


def _sources(tmp: Path) -> list[Path]:
    plain = make_video(tmp / "plain.mp4", duration=1)
    audio_first = tmp / "audio_first.mp4"  # the video is stream 1: `-map 0:1`
    ffmpeg("-i", str(plain), "-map", "0:a", "-map", "0:v", "-c", "copy", str(audio_first))
    return [
        plain,
        audio_first,
        make_video(tmp / "rotated.mp4", duration=1, rotate=90),
        make_video(tmp / "ntsc.mkv", duration=1, fps="30000/1001", audio=False),
        make_video(tmp / "flv.flv", duration=1, vcodec="flv", arate=44100),
        make_audio_only(tmp / "tone.m4a", duration=1),
        make_png(tmp / "still.png"),
    ]


@pytest.mark.slow
def test_a_stored_probe_is_what_probing_again_gives(tmp_path: Path) -> None:
    for source in _sources(tmp_path):
        # Stored as JSON, as the media row keeps it.
        record = json.loads(json.dumps(probe_record(probe(source))))
        assert stored_probe(record, source) == probe(source, md5=False), source.name


def test_a_stored_probe_not_of_this_file_or_this_ffmpeg_is_not_used(tmp_path: Path) -> None:
    clip = make_video(tmp_path / "clip.mp4", duration=1)
    record = probe_record(probe(clip))
    assert stored_probe(record, clip) is not None
    assert stored_probe({**record, "version": "0/" + PROBE_VERSION}, clip) is None
    assert stored_probe({**record, "size": record["size"] + 1}, clip) is None
    assert stored_probe({**record, "video_streams": [{"nonsense": 1}]}, clip) is None
    assert stored_probe(None, clip) is None
    # A file gone (or a media whose original was deleted: no path) is probed, so that
    # the op fails with the probe's own error.
    assert stored_probe(record, tmp_path / "gone.mp4") is None
    assert stored_probe(record, "") is None
    with open(clip, "ab") as fh:  # not the file that was measured
        fh.write(b"\0")
    assert os.path.getsize(clip) == record["size"] + 1
    assert stored_probe(record, clip) is None
