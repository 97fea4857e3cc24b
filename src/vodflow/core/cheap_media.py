"""Test-only cheap media: what a transcode reports when its file was written tiny.

Under the test-only setting ``test_cheap_media`` (VODFLOW_TEST_CHEAP_MEDIA) the
media op shrinks every video rendition last (media/ops/cheap.py). An
application's tests still read the shape it asked for: this replaces the tiny
file's measured picture (Width, Height, Fps, video Bitrate) with the shape the
template declares, resolved against the source as a real run would resolve it.
Everything else stays measured: Url, Size, Md5, Container, codecs, Duration and
the audio. Never called in normal mode, where every number is measured.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from vodflow.media.ops import TranscodeSpec, plan_size


def declared(
    info: Mapping[str, Any], spec: TranscodeSpec, meta: Mapping[str, Any]
) -> dict[str, Any]:
    """``info`` (a measured transcode item) with the template's picture in place of the file's."""
    out = dict(info)
    video = spec.video
    streams = list(out.get("VideoStreamSet") or [])
    if video is None or spec.remove_video or not streams:
        return out  # no picture was written: nothing was shrunk
    src_w, src_h = int(meta.get("Width") or 0), int(meta.get("Height") or 0)
    if int(meta.get("Rotate") or 0) % 180 == 90:
        src_w, src_h = src_h, src_w
    width, height = plan_size(
        (src_w, src_h), video.width, video.height, adaptive=video.resolution_adaptive
    )
    source = (meta.get("VideoStreamSet") or [{}])[0]
    fps = video.fps or int(source.get("Fps") or 0)
    # A template bitrate of 0 (or CRF) follows the source: its video bitrate stands in.
    video_bps = video.bitrate * 1000 if video.bitrate and not video.crf else 0
    video_bps = video_bps or int(source.get("Bitrate") or 0)
    audio_bps = sum(int(a.get("Bitrate") or 0) for a in out.get("AudioStreamSet") or [])
    streams[0] = {**streams[0], "Width": width, "Height": height, "Fps": fps, "Bitrate": video_bps}
    out.update(Width=width, Height=height, Bitrate=video_bps + audio_bps, VideoStreamSet=streams)
    return out
