"""Media operations: each takes a source path, a spec and an output directory.

Every op is ``async (input_path, spec, out_dir, *, on_progress=None,
threads=None, duration=None) -> result``:

* outputs are built in a hidden staging directory inside ``out_dir`` and
  moved into place with ``os.replace`` only on success; a failure or a
  cancellation leaves nothing (and no ffmpeg process) behind;
* every number in a result is measured on the written files;
* times are seconds (floats), sizes pixels, bitrates in specs kbps and in
  results bits per second;
* ``threads`` caps ffmpeg's threads for this job, ``duration`` is the source
  duration when the caller already knows it (otherwise it is probed);
* failures raise :class:`vodflow.media.errors.MediaOpError` with a Tencent
  processing error code.
"""

from vodflow.media.ops._common import SnapshotImage, plan_size
from vodflow.media.ops.animated import (
    AnimatedGraphicsResult,
    AnimatedGraphicsSpec,
    animated_graphics,
)
from vodflow.media.ops.headtail import HeadTail, Piece
from vodflow.media.ops.hls import AdaptiveStreamingResult, AdaptiveStreamingSpec, adaptive_streaming
from vodflow.media.ops.snapshot import (
    CoverSpec,
    SampleSnapshotResult,
    SampleSnapshotSpec,
    SnapshotByTimeOffsetResult,
    SnapshotByTimeOffsetSpec,
    cover_by_snapshot,
    sample_snapshot,
    snapshot_by_time_offsets,
)
from vodflow.media.ops.sprite import ImageFile, ImageSpritesResult, ImageSpritesSpec, image_sprites
from vodflow.media.ops.transcode import TranscodeResult, transcode, transcode_many
from vodflow.media.ops.transcode_plan import CONTAINERS, AudioSpec, TranscodeSpec, VideoSpec

__all__ = [
    "CONTAINERS",
    "AdaptiveStreamingResult",
    "AdaptiveStreamingSpec",
    "AnimatedGraphicsResult",
    "AnimatedGraphicsSpec",
    "AudioSpec",
    "CoverSpec",
    "HeadTail",
    "ImageFile",
    "ImageSpritesResult",
    "ImageSpritesSpec",
    "Piece",
    "SampleSnapshotResult",
    "SampleSnapshotSpec",
    "SnapshotByTimeOffsetResult",
    "SnapshotByTimeOffsetSpec",
    "SnapshotImage",
    "TranscodeResult",
    "TranscodeSpec",
    "VideoSpec",
    "adaptive_streaming",
    "animated_graphics",
    "cover_by_snapshot",
    "image_sprites",
    "plan_size",
    "sample_snapshot",
    "snapshot_by_time_offsets",
    "transcode",
    "transcode_many",
]
