"""What the first bytes of a file say, read before any demuxer sees them.

Text (and so every playlist or file list) is refused outright, and an image
header claiming a picture larger than MAX_DIMENSION is refused without FFmpeg
allocating a frame for it.
"""

from __future__ import annotations

import struct
from typing import Final

from vodflow.media.errors import CONTENT_MALFORMED, CONTENT_UNSUPPORTED, ProbeError

MAX_DIMENSION: Final = 8192
"""Largest width or height accepted (8K is 7680x4320). Bigger is refused, not tried."""

_PLAYLIST_MARKERS: Final = (b"#EXTM3U", b"#EXTINF", b"ffconcat", b"<MPD", b"[playlist]", b"<smil")


def screen(head: bytes) -> None:
    """Refuse, from the first bytes alone, what must never reach a demuxer."""
    if not head:
        raise ProbeError(CONTENT_MALFORMED, "file is empty")
    if _looks_like_text(head):
        if any(marker in head[:4096] for marker in _PLAYLIST_MARKERS):
            raise ProbeError(CONTENT_UNSUPPORTED, "playlists and file lists are not accepted")
        raise ProbeError(CONTENT_MALFORMED, "file is text, not media")
    declared = declared_image_size(head)
    if declared and max(declared) > MAX_DIMENSION:
        width, height = declared
        raise ProbeError(
            CONTENT_UNSUPPORTED, f"picture size {width}x{height} exceeds {MAX_DIMENSION}"
        )


def _looks_like_text(head: bytes) -> bool:
    sample = head[:4096]
    if b"\0" in sample:
        return False
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut by the sample boundary is still text.
        if exc.start < len(sample) - 4:
            return False
    return True


def declared_image_size(head: bytes) -> tuple[int, int] | None:
    """(width, height) an image header claims, for PNG, GIF, JPEG and WebP.

    Read before decoding so a tiny file claiming 20000x20000 is refused
    without FFmpeg allocating a frame for it.
    """
    if head.startswith(b"\x89PNG\r\n\x1a\n") and len(head) >= 24:
        width, height = struct.unpack(">II", head[16:24])
        return width, height
    if head[:6] in (b"GIF87a", b"GIF89a") and len(head) >= 10:
        width, height = struct.unpack("<HH", head[6:10])
        return width, height
    if head.startswith(b"\xff\xd8"):
        return _jpeg_size(head)
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP" and len(head) >= 30:
        chunk = head[12:16]
        if chunk == b"VP8X":
            width = 1 + int.from_bytes(head[24:27], "little")
            height = 1 + int.from_bytes(head[27:30], "little")
            return width, height
        if chunk == b"VP8L":
            bits = int.from_bytes(head[21:25], "little")
            return 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
        if chunk == b"VP8 ":
            width, height = struct.unpack("<HH", head[26:30])
            return width & 0x3FFF, height & 0x3FFF
    return None


def _jpeg_size(head: bytes) -> tuple[int, int] | None:
    pos = 2
    while pos + 9 <= len(head):
        if head[pos] != 0xFF:
            return None
        marker = head[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # no length field
            pos += 2
            continue
        length = struct.unpack(">H", head[pos + 2 : pos + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", head[pos + 5 : pos + 9])
            return width, height
        pos += 2 + length
    return None
