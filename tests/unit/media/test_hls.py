"""Adaptive streaming: a master playlist over renditions encoded in one run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import av

from tests.unit.media.conftest import Corpus, Spawns
from vodflow.media.ops import (
    AdaptiveStreamingSpec,
    AudioSpec,
    TranscodeSpec,
    VideoSpec,
    adaptive_streaming,
)


async def test_master_playlist_over_three_renditions(
    corpus: Corpus, tmp_path: Path, spawns: Spawns
) -> None:
    renditions = [
        TranscodeSpec(
            video=VideoSpec(height=h, bitrate=b, preset="ultrafast"), audio=AudioSpec(bitrate=64)
        )
        for h, b in ((120, 100), (180, 200), (240, 400))
    ]
    spec = AdaptiveStreamingSpec(renditions=renditions, segment_duration=2.0, name="abr")
    result = await adaptive_streaming(corpus.clip, spec, tmp_path)
    assert len(spawns.commands) == 1

    assert result.path == tmp_path / "abr.m3u8"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["abr", "abr.m3u8"]
    assert result.size == sum(f.stat().st_size for f in result.files)
    assert len(result.renditions) == 3

    master = result.path.read_text()
    variants = [line for line in master.splitlines() if line and not line.startswith("#")]
    assert variants == ["abr/v0.m3u8", "abr/v1.m3u8", "abr/v2.m3u8"]
    infos = [line for line in master.splitlines() if line.startswith("#EXT-X-STREAM-INF:")]
    for info, rendition in zip(infos, result.renditions, strict=True):
        assert f"RESOLUTION={rendition.width}x{rendition.height}" in info
        bandwidth = int(info.split("BANDWIDTH=")[1].split(",")[0])
        assert bandwidth >= rendition.bitrate > 0
        assert 'CODECS="avc1.' in info and "mp4a.40.2" in info

    # Readable back by FFmpeg's own hls demuxer, confined to local files.
    container: Any
    with av.open(
        str(result.path), format="hls", options={"protocol_whitelist": "file"}
    ) as container:
        heights = sorted(s.codec_context.height for s in container.streams.video)
        assert heights == [120, 180, 240]
        stream = min(container.streams.video, key=lambda s: s.codec_context.height)
        frames = sum(1 for _ in container.decode(stream))
    assert frames == 100
