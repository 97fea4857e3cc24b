"""Measuring media files with PyAV: what a file is, before and after processing.

:func:`probe` is the gate every upload passes, so it treats the file as
hostile: it refuses demuxers that open other files (HLS, concat, DASH,
image2...), opens with ``protocol_whitelist=file``, caps the picture size a
decoder may allocate, and reads image headers itself before FFmpeg sees
them. The same function measures every output the ops produce, which is
why results never report what a spec *asked* for, only what was written.

``probe`` is synchronous (PyAV releases the GIL in FFmpeg calls); async
callers wrap it in ``asyncio.to_thread``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import re
import threading
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Final

import av
import av.error

from vodflow.media.errors import (
    CONTENT_MALFORMED,
    CONTENT_UNSUPPORTED,
    SOURCE_FILE_ERROR,
    ProbeError,
)
from vodflow.media.ffmpeg import PLAYLIST_DEMUXERS, SAFE_DEMUXERS
from vodflow.media.sniff import MAX_DIMENSION, declared_image_size, screen
from vodflow.media.untrusted import Nameless, open_options, open_untrusted

_BIG_PICTURE_PIXELS: Final = 4096 * 4096
_BIG_PICTURE_DECODES: Final = threading.BoundedSemaphore(2)
"""Opening a still image decodes it whole (FFmpeg learns its format that way): up to
8192x8192x4 bytes. At most two pictures over 16 MP are decoded at once per process,
so six large PNGs probed together cost two decodes of memory, not six."""

MIN_BYTES_PER_SECOND: Final = 8
"""A file must hold at least this many bytes per second it claims to last: real
codecs spend far more (a black 1 fps H.264 video ~20 B/s, 6 kbit/s speech 750 B/s),
while a 1.5 KB MP4 claiming an hour would make a transcode emit 90,000 frames."""

IMAGE_DEMUXERS: Final = frozenset(
    {"png_pipe", "jpeg_pipe", "jpegls_pipe", "webp_pipe", "bmp_pipe", "tiff_pipe", "gif_pipe"}
)

_SNIFF_BYTES: Final = 128 * 1024  # JPEG SOF can sit behind a 64 KiB EXIF segment
_HASH_CHUNK: Final = 1024 * 1024
_MAP_URI: Final = re.compile(r'URI="([^"]+)"')


@dataclass(frozen=True, slots=True)
class VideoStreamInfo:
    """One video stream. ``fps`` is truncated like Tencent reports it (23.976 -> 23)."""

    bitrate: int
    width: int
    height: int
    codec: str
    fps: int
    codec_tag: str
    index: int = 0
    """Stream index in the file, for ``-map 0:<index>``."""


@dataclass(frozen=True, slots=True)
class AudioStreamInfo:
    bitrate: int
    sample_rate: int
    codec: str
    channels: int
    index: int = 0


@dataclass(frozen=True, slots=True)
class MediaProbe:
    """What a media file measurably is.

    ``rotate`` is the clockwise angle (0/90/180/270) a player turns the
    stored picture, i.e. the legacy ``rotate`` tag; ``width``/``height`` are
    the stored (coded) size, as Tencent reports them.
    """

    size: int
    container: str
    bitrate: int
    width: int
    height: int
    duration: float
    rotate: int
    video_streams: tuple[VideoStreamInfo, ...]
    audio_streams: tuple[AudioStreamInfo, ...]
    video_duration: float
    audio_duration: float
    md5: str
    is_image: bool = False

    @property
    def has_video(self) -> bool:
        return bool(self.video_streams)

    @property
    def has_audio(self) -> bool:
        return bool(self.audio_streams)

    @property
    def display_size(self) -> tuple[int, int]:
        """(width, height) as shown to a viewer, i.e. after applying ``rotate``."""
        if self.rotate in (90, 270):
            return self.height, self.width
        return self.width, self.height


# What a stored probe was measured by: a probe stored under another PyAV or FFmpeg
# (or another version of `_measure`'s rules, the leading number) is not reused.
PROBE_VERSION: Final = f"1/{av.__version__}/" + ".".join(
    map(str, av.library_versions.get("libavformat", ()))
)


def probe_record(media: MediaProbe) -> dict[str, Any]:
    """A probe as JSON, to store beside the file it measured (see `stored_probe`)."""
    return {"version": PROBE_VERSION, **dataclasses.asdict(media)}


def stored_probe(record: Any, path: str | os.PathLike[str]) -> MediaProbe | None:
    """What `probe(path, md5=False)` would say, from a `probe_record` of that file.

    None (probe it again) unless the record is of this PyAV and FFmpeg and the file
    still has the size it had: a stored file is never rewritten in place, so this
    only guards against a record that is not of this file. A missing file is None
    too, so that its error is the probe's own.
    """
    if not isinstance(record, dict) or record.get("version") != PROBE_VERSION:
        return None
    try:
        size = os.stat(path).st_size if path else -1
        fields = {k: v for k, v in record.items() if k != "version"}
        videos = tuple(VideoStreamInfo(**v) for v in fields.pop("video_streams"))
        audios = tuple(AudioStreamInfo(**a) for a in fields.pop("audio_streams"))
        media = MediaProbe(**fields, video_streams=videos, audio_streams=audios)
    except (OSError, TypeError, KeyError, AttributeError):
        return None
    if media.size != size:
        return None
    return dataclasses.replace(media, md5="")


def file_md5(path: str | os.PathLike[str]) -> str:
    """Hex MD5 of a whole file, read in chunks so size does not matter."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as fh:
        while chunk := fh.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def probe(path: str | os.PathLike[str], *, md5: bool = True) -> MediaProbe:
    """Measure ``path``; raise :class:`ProbeError` if it is not acceptable media.

    Codes: ``SourceFileError.ContentMalformed`` for empty, truncated, text or
    unrecognised files; ``SourceFileError.ContentUnsupported`` for playlists,
    refused demuxers and absurd picture sizes. Audio-only media is valid.
    ``md5=False`` skips hashing when only the structure matters.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        with open(path, "rb") as start:
            head = start.read(_SNIFF_BYTES)
    except FileNotFoundError:
        raise ProbeError(SOURCE_FILE_ERROR, "source file does not exist") from None
    except OSError as exc:
        raise ProbeError(
            SOURCE_FILE_ERROR, f"source file is not readable: {exc.strerror}"
        ) from None
    screen(head)

    declared = declared_image_size(head)
    big_picture = declared is not None and declared[0] * declared[1] > _BIG_PICTURE_PIXELS
    with _BIG_PICTURE_DECODES if big_picture else contextlib.nullcontext(), open(path, "rb") as raw:
        try:
            container = open_untrusted(Nameless(raw))
        except av.error.FFmpegError as exc:
            raise ProbeError(CONTENT_MALFORMED, _open_failure(exc)) from None
        try:
            with container:
                return _measure(container, path, size, md5=md5)
        except av.error.FFmpegError as exc:
            message = f"media could not be read: {exc.strerror}"
            raise ProbeError(CONTENT_MALFORMED, message) from None


def probe_playlist(path: str | os.PathLike[str]) -> MediaProbe:
    """Measure an HLS media playlist *this service wrote* (never an upload).

    ``size`` is the playlist plus every segment it lists; ``md5`` is the
    playlist's. The hls demuxer is allowed here only because the playlist
    and its segments are our own output; the protocol whitelist stays
    ``file`` all the same.
    """
    path = Path(path)
    segments = [path.parent / uri for uri in playlist_uris(path)]
    size = path.stat().st_size + sum(seg.stat().st_size for seg in segments)
    try:
        container = av.open(
            str(path),
            format="hls",
            options=open_options(SAFE_DEMUXERS + PLAYLIST_DEMUXERS),
        )
        with container:
            media = _measure(container, path, size, md5=True, container_name="hls")
    except av.error.FFmpegError as exc:
        raise ProbeError(CONTENT_MALFORMED, f"playlist could not be read: {exc.strerror}") from None
    if media.bitrate:  # the sum of the streams' bit rates, as for any file
        return media
    bitrate = int(size * 8 / media.duration) if media.duration > 0 else 0
    return dataclasses.replace(media, bitrate=bitrate)


def playlist_uris(path: str | os.PathLike[str]) -> list[str]:
    """The URIs a playlist lists (an fMP4 init segment, segments or variant playlists), in order."""
    with open(path, encoding="utf-8") as fh:
        lines = [line.strip() for line in fh]
    uris = []
    for line in lines:
        if line.startswith("#EXT-X-MAP:"):
            uris += _MAP_URI.findall(line)
        elif line and not line.startswith("#"):
            uris.append(line)
    return uris


def _decoded_size(container: Any, stream: Any) -> tuple[int, int]:
    """(width, height) of the first frame, for codecs without a parser (FLV1, VP6).

    The stream's codec context carries the pixel cap, so a frame bigger than
    MAX_DIMENSION squared is refused by the decoder instead of allocated; the
    container is rewound for whoever reads next.
    """
    size = (0, 0)
    try:
        for frame in container.decode(stream):
            size = (frame.width, frame.height)
            break
    except (av.error.FFmpegError, ValueError):
        pass
    with contextlib.suppress(av.error.FFmpegError):
        container.seek(0)
    return size


def _open_failure(exc: av.error.FFmpegError) -> str:
    if isinstance(exc, av.error.ArgumentError):
        # EINVAL from avformat_open_input: the detected demuxer is not on the
        # whitelist. Playlists were screened out above, so what remains is a
        # format we do not know as media (random bytes often probe as "lrc").
        return "unrecognised or refused container format"
    return f"not a readable media file: {exc.strerror}"


def _measure(
    container: Any, path: Path, size: int, *, md5: bool, container_name: str | None = None
) -> MediaProbe:
    fmt_name: str = container.format.name
    if container_name is None and not _allowed(fmt_name):
        raise ProbeError(CONTENT_UNSUPPORTED, f"container {fmt_name} is not accepted")
    is_image = fmt_name in IMAGE_DEMUXERS
    video = [s for s in container.streams.video if not _is_attached_picture(s)]
    audio = list(container.streams.audio)
    if not video and not audio:
        raise ProbeError(CONTENT_MALFORMED, "no audio or video stream found")
    sizes: dict[int, tuple[int, int]] = {}
    for stream in video:
        width, height = stream.codec_context.width, stream.codec_context.height
        if (not width or not height) and container_name is None:
            width, height = _decoded_size(container, stream)
        if not width or not height:
            raise ProbeError(CONTENT_MALFORMED, "video stream has no decodable picture size")
        if max(width, height) > MAX_DIMENSION:
            raise ProbeError(
                CONTENT_UNSUPPORTED, f"picture size {width}x{height} exceeds {MAX_DIMENSION}"
            )
        sizes[stream.index] = (width, height)

    duration = container.duration / 1_000_000 if container.duration else 0.0
    video_duration = max((_stream_duration(s) for s in video), default=0.0) or (
        duration if video and not is_image else 0.0
    )
    audio_duration = max((_stream_duration(s) for s in audio), default=0.0) or (
        duration if audio else 0.0
    )
    duration = duration or max(video_duration, audio_duration)
    if container_name is None and not is_image and size < duration * MIN_BYTES_PER_SECOND:
        raise ProbeError(
            CONTENT_MALFORMED,
            f"a duration of {duration:.0f} s is implausible for a file of {size} bytes",
        )

    # Rotation first: it decodes the first frame, which a fresh container can
    # do without seeking (the hls demuxer refuses seeks with EPERM).
    # Still images are not decoded for it: their rotation is 0, and decoding an
    # 8192x8192 picture costs ~200 MB and seconds for nothing.
    decode_rotation = video and container_name is None and not is_image
    rotate = _rotation(container, video[0]) if decode_rotation else 0
    needs_scan = [s for s in video + audio if not s.bit_rate and not is_image]
    scanned = _scan_packet_rates(container, needs_scan, duration) if needs_scan else {}

    def rate(stream: Any) -> int:
        if is_image:
            return 0
        return int(stream.bit_rate or scanned.get(stream.index, 0))

    video_infos = tuple(
        VideoStreamInfo(
            bitrate=rate(s),
            width=sizes[s.index][0],
            height=sizes[s.index][1],
            codec=_codec_name(s),
            fps=_fps(s),
            codec_tag=_codec_tag(s),
            index=s.index,
        )
        for s in video
    )
    audio_infos = tuple(
        AudioStreamInfo(
            bitrate=rate(s),
            sample_rate=s.codec_context.sample_rate or 0,
            codec=_codec_name(s),
            channels=s.codec_context.channels,
            index=s.index,
        )
        for s in audio
    )
    # Tencent's MediaMetaData.Bitrate is the sum of the streams' bit rates (the
    # seed: 1021028 = 637174 video + 383854 audio), not size over duration.
    streams_bitrate = sum(v.bitrate for v in video_infos) + sum(a.bitrate for a in audio_infos)
    if is_image:
        bitrate = 0
    elif streams_bitrate:
        bitrate = streams_bitrate
    elif container.bit_rate:
        bitrate = int(container.bit_rate)
    elif duration > 0:
        bitrate = int(size * 8 / duration)
    else:
        bitrate = 0
    return MediaProbe(
        size=size,
        container=container_name or fmt_name,
        bitrate=bitrate,
        width=max((v.width for v in video_infos), default=0),
        height=max((v.height for v in video_infos), default=0),
        duration=round(duration, 6),
        rotate=rotate,
        video_streams=video_infos,
        audio_streams=audio_infos,
        video_duration=round(video_duration, 6),
        audio_duration=round(audio_duration, 6),
        md5=file_md5(path) if md5 else "",
        is_image=is_image,
    )


def _allowed(fmt_name: str) -> bool:
    allowed = set(SAFE_DEMUXERS)
    return any(name in allowed for name in fmt_name.split(","))


def _is_attached_picture(stream: Any) -> bool:
    """Cover art in an m4a/mp3 is a video stream in FFmpeg, not video media."""
    try:
        return bool(stream.disposition & av.stream.Disposition.attached_pic)
    except (AttributeError, TypeError):
        return False


def _stream_duration(stream: Any) -> float:
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    return 0.0


def _fps(stream: Any) -> int:
    rate: Fraction | None = stream.average_rate or stream.guessed_rate or stream.base_rate
    if not rate:
        return 0
    return int(float(rate) + 1e-6)


def _codec_name(stream: Any) -> str:
    """The codec's canonical name (``mp3``), not the decoder's (``mp3float``)."""
    codec = stream.codec_context.codec
    return str(getattr(codec, "canonical_name", None) or codec.name)


def _codec_tag(stream: Any) -> str:
    tag = stream.codec_context.codec_tag or ""
    return tag if tag.isprintable() and tag.strip("\0 ") else ""


def _scan_packet_rates(container: Any, streams: list[Any], duration: float) -> dict[int, int]:
    """Estimate bits per second of streams whose container stores no bit rate.

    Sums packet sizes over the whole file (demux only, no decoding) and
    divides by the stream's time span.
    """
    wanted = {s.index: s for s in streams}
    total: dict[int, int] = dict.fromkeys(wanted, 0)
    first: dict[int, float] = {}
    last: dict[int, float] = {}
    # Not seekable (hls)? Then nothing was consumed yet on that path anyway.
    with contextlib.suppress(av.error.FFmpegError):
        container.seek(0)
    for packet in container.demux(*streams):
        if packet.size == 0 or packet.stream.index not in wanted:
            continue
        index = packet.stream.index
        total[index] += packet.size
        if packet.pts is not None and packet.time_base:
            start = float(packet.pts * packet.time_base)
            end = start + float((packet.duration or 0) * packet.time_base)
            first[index] = min(first.get(index, start), start)
            last[index] = max(last.get(index, end), end)
    rates: dict[int, int] = {}
    for index in wanted:
        span = last.get(index, 0.0) - first.get(index, 0.0)
        span = span if span > 0 else duration
        rates[index] = int(total[index] * 8 / span) if span > 0 else 0
    return rates


def _rotation(container: Any, stream: Any) -> int:
    """Clockwise rotation from the display matrix, found on the first decoded frame.

    PyAV exposes stream side data only through frames; FFmpeg attaches the
    stream's display matrix to every decoded frame. A file whose first frame
    cannot be decoded is reported unrotated.
    """
    try:
        for frame in container.decode(stream):
            counter_clockwise = float(frame.rotation or 0)
            return round(-counter_clockwise / 90.0) % 4 * 90
    except (av.error.FFmpegError, ValueError):
        return 0
    return 0


__all__ = [
    "IMAGE_DEMUXERS",
    "MAX_DIMENSION",
    "AudioStreamInfo",
    "MediaProbe",
    "VideoStreamInfo",
    "declared_image_size",
    "file_md5",
    "playlist_uris",
    "probe",
    "probe_playlist",
    "probe_record",
    "stored_probe",
]
