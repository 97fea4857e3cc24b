"""What a media file is, in Tencent's words: MediaMetaData, and MediaType checks.

The probe (media layer) says what the bytes are; this module turns that into
the `MediaMetaData` Tencent documents and decides whether a declared MediaType
(the file extension an app gives ApplyUpload/PullUpload) fits those bytes.
"""

from __future__ import annotations

import re
from typing import Any

from vodflow.errors import VodError
from vodflow.media.probe import MediaProbe

# MediaType values Tencent accepts for upload (lowercase), by the FFmpeg demuxer
# that reads such a file. A declared type must belong to the demuxer that
# actually opened the bytes.
TYPES_BY_DEMUXER: dict[str, frozenset[str]] = {
    "mov": frozenset({"mp4", "mov", "m4a", "m4v", "3gp", "3g2", "mj2"}),
    "matroska": frozenset({"mkv", "webm"}),
    "flv": frozenset({"flv"}),
    "avi": frozenset({"avi"}),
    "mpegts": frozenset({"ts", "mts", "m2ts"}),
    "mpeg": frozenset({"mpg", "mpeg", "vob", "dat"}),
    "mpegvideo": frozenset({"mpg", "mpeg", "m2v"}),
    "asf": frozenset({"asf", "wmv", "wma", "wm"}),
    "ogg": frozenset({"ogg", "ogv", "oga", "opus"}),
    "mxf": frozenset({"mxf"}),
    "rm": frozenset({"rm", "rmvb"}),
    "dv": frozenset({"dv"}),
    "ivf": frozenset({"ivf"}),
    "h264": frozenset({"h264", "264"}),
    "hevc": frozenset({"h265", "265", "hevc"}),
    "m4v": frozenset({"m4v"}),
    "mp3": frozenset({"mp3"}),
    "aac": frozenset({"aac"}),
    "ac3": frozenset({"ac3"}),
    "eac3": frozenset({"eac3"}),
    "wav": frozenset({"wav"}),
    "w64": frozenset({"w64", "wav"}),
    "flac": frozenset({"flac"}),
    "aiff": frozenset({"aiff", "aif"}),
    "caf": frozenset({"caf"}),
    "amr": frozenset({"amr"}),
    "png_pipe": frozenset({"png"}),
    "jpeg_pipe": frozenset({"jpg", "jpeg"}),
    "jpegls_pipe": frozenset({"jpg", "jpeg"}),
    "webp_pipe": frozenset({"webp"}),
    "bmp_pipe": frozenset({"bmp"}),
    "tiff_pipe": frozenset({"tif", "tiff"}),
    "gif_pipe": frozenset({"gif"}),
    "gif": frozenset({"gif"}),
}

KNOWN_TYPES: frozenset[str] = frozenset().union(*TYPES_BY_DEMUXER.values())
_TYPE_RE = re.compile(r"^[a-z0-9]{1,8}$")

# Content-Type for served files, by extension.
CONTENT_TYPES: dict[str, str] = {
    "mp4": "video/mp4",
    "m4v": "video/mp4",
    "mov": "video/quicktime",
    "m4a": "audio/mp4",
    "3gp": "video/3gpp",
    "3g2": "video/3gpp2",
    "mkv": "video/x-matroska",
    "webm": "video/webm",
    "flv": "video/x-flv",
    "avi": "video/x-msvideo",
    "ts": "video/mp2t",
    "mpg": "video/mpeg",
    "mpeg": "video/mpeg",
    "wmv": "video/x-ms-wmv",
    "wma": "audio/x-ms-wma",
    "ogg": "audio/ogg",
    "ogv": "video/ogg",
    "mp3": "audio/mpeg",
    "aac": "audio/aac",
    "wav": "audio/wav",
    "flac": "audio/flac",
    "amr": "audio/amr",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "webp": "image/webp",
    "bmp": "image/bmp",
    "tif": "image/tiff",
    "tiff": "image/tiff",
    "m3u8": "application/vnd.apple.mpegurl",
    "vtt": "text/vtt",
    "srt": "application/x-subrip",
    "mpd": "application/dash+xml",
}


def content_type(name: str) -> str:
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    return CONTENT_TYPES.get(ext, "application/octet-stream")


def normalise_media_type(value: str, field: str = "MediaType") -> str:
    """A declared MediaType, lowercased; refused unless it is one vodflow can ingest."""
    media_type = value.strip().lower().lstrip(".")
    if not _TYPE_RE.match(media_type) or media_type not in KNOWN_TYPES:
        raise VodError(
            "InvalidParameterValue.MediaType",
            f"`{field}` {value[:16]!r} is not a media type vodflow accepts "
            f"(e.g. mp4, mov, mkv, flv, ts, mp3, m4a, wav, jpg, png).",
        )
    return media_type


def check_type_matches(media_type: str, probe: MediaProbe) -> None:
    """Refuse bytes that are not what the declared MediaType says."""
    demuxers = probe.container.split(",")
    accepted: set[str] = set()
    for name in demuxers:
        accepted |= TYPES_BY_DEMUXER.get(name, frozenset())
    # FFmpeg's mov demuxer names itself "mov,mp4,m4a,3gp,3g2,mj2".
    if probe.container.startswith("mov"):
        accepted |= TYPES_BY_DEMUXER["mov"]
    if probe.container.startswith("matroska"):
        accepted |= TYPES_BY_DEMUXER["matroska"]
    if media_type not in accepted:
        raise VodError(
            "InvalidParameterValue.MediaType",
            f"MediaType `{media_type}` does not match the uploaded bytes "
            f"(container {probe.container}).",
        )


def meta_data(probe: MediaProbe) -> dict[str, Any]:
    """Tencent's MediaMetaData for a probed file (CodecTag only for hevc, as documented)."""
    return {
        "Size": probe.size,
        "Container": probe.container,
        "Bitrate": probe.bitrate,
        "Height": probe.height,
        "Width": probe.width,
        "Duration": probe.duration,
        "Rotate": probe.rotate,
        "VideoStreamSet": [
            {
                "Bitrate": v.bitrate,
                "Height": v.height,
                "Width": v.width,
                "Codec": v.codec,
                "Fps": v.fps,
                **({"CodecTag": v.codec_tag} if v.codec == "hevc" and v.codec_tag else {}),
            }
            for v in probe.video_streams
        ],
        "AudioStreamSet": [
            {"Bitrate": a.bitrate, "SamplingRate": a.sample_rate, "Codec": a.codec}
            for a in probe.audio_streams
        ],
        "VideoDuration": probe.video_duration,
        "AudioDuration": probe.audio_duration,
        "Md5": probe.md5,
    }
