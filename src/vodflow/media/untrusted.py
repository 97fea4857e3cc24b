"""Opening an untrusted file for demuxing: by content alone, whitelisted, pixel-capped."""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable
from typing import Any, BinaryIO, Final

import av
import av.error

from vodflow.media.ffmpeg import PROTOCOL_WHITELIST, SAFE_DEMUXERS
from vodflow.media.sniff import MAX_DIMENSION

MAX_PIXELS: Final = str(MAX_DIMENSION * MAX_DIMENSION)
_MAX_STREAMS: Final = 64
_STREAM_OPTIONS: Final = [{"max_pixels": MAX_PIXELS}] * _MAX_STREAMS


class Nameless:
    """A read-only file view without a ``name``: PyAV would hand the name to FFmpeg."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw

    def read(self, size: int = -1) -> bytes:
        return self._raw.read(size)

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return self._raw.seek(offset, whence)

    def tell(self) -> int:
        return self._raw.tell()


def open_untrusted(fh: Nameless) -> Any:
    """Open an untrusted file for demuxing, by content alone.

    PyAV reads through the file object, so FFmpeg never sees a file name:
    the demuxer is chosen from the bytes (a JPEG named ``x.jpg`` is
    ``jpeg_pipe``, never the pattern-expanding ``image2``) and nothing in the
    name can be mistaken for a sequence pattern or a URL. The whitelists
    still apply to anything the demuxer would open on its own.

    A lying codec header must not make a decoder allocate gigabytes, so no
    video decoder runs without the pixel cap (``max_pixels``):

    * demuxers that declare their streams up front (MP4, MKV, TS, MP3...)
      get the cap per stream for the stream-info decode; ``max_streams``
      keeps every stream within the capped list;
    * the others (FLV, MPEG-PS) create streams while FFmpeg reads packets,
      where no per-stream option reaches the decoders, so the stream-info
      pass may open no video decoder at all (``codec_whitelist``). Picture
      sizes then come from the codec parsers (H.264/HEVC SPS, MPEG sequence
      headers) or from :func:`_decoded_size`;
    * our own decodes (:func:`_rotation`, :func:`_decoded_size`) use PyAV's
      codec contexts, which get the cap here.
    """
    options = {**open_options(SAFE_DEMUXERS), "max_streams": str(_MAX_STREAMS)}
    try:
        # PyAV's stub says list[str]; the runtime takes one dict per stream.
        container = av.open(fh, options=options, stream_options=_STREAM_OPTIONS)  # type: ignore[arg-type]
    except ValueError as exc:
        if "stream_options" not in str(exc):
            raise
        fh.seek(0)
        container = av.open(fh, options={**options, "codec_whitelist": _non_video_decoders()})
    for stream in container.streams.video:
        if stream.codec_context is not None:
            stream.codec_context.options = {"max_pixels": MAX_PIXELS}
    return container


@functools.cache
def _non_video_decoders() -> str:
    """Every decoder but the video ones, as a ``codec_whitelist``."""
    names = []
    for name in sorted(av.codecs_available):
        try:
            codec = av.Codec(name, "r")
        except (ValueError, av.error.FFmpegError):
            continue  # an encoder only
        if codec.type != "video":
            names.append(name)
    return ",".join(names)


def open_options(formats: Iterable[str]) -> dict[str, str]:
    return {"protocol_whitelist": PROTOCOL_WHITELIST, "format_whitelist": ",".join(formats)}
