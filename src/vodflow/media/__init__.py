"""The media layer: ffmpeg and files, nothing else.

It knows neither the database nor HTTP nor Tencent's wire names: it takes
local paths and plain dataclass specs, writes files, and returns plain
dataclasses measured on what it wrote. Errors carry Tencent's processing
error code strings as data (:mod:`vodflow.media.errors`).
"""

from vodflow.media.errors import FFmpegError, MediaError, MediaOpError, ProbeError
from vodflow.media.ffmpeg import ffmpeg_exe, run_ffmpeg, timeout_for
from vodflow.media.probe import AudioStreamInfo, MediaProbe, VideoStreamInfo, probe

__all__ = [
    "AudioStreamInfo",
    "FFmpegError",
    "MediaError",
    "MediaOpError",
    "MediaProbe",
    "ProbeError",
    "VideoStreamInfo",
    "ffmpeg_exe",
    "probe",
    "run_ffmpeg",
    "timeout_for",
]
