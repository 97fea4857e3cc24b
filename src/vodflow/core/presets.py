"""System preset templates: the ids Tencent users already put in their requests.

Each preset is stored exactly as Tencent's Describe<Kind>Templates shows it, so
the API and the task flows read the same dict. Sources and the values that had
to be chosen are listed in docs/templates.md. Presets live in code, never in the
database: they cannot be modified or deleted, and every application sees them.
"""

from __future__ import annotations

import copy
from typing import Any

# The kinds of parameter template; also the `kind` column of media outputs.
KINDS = (
    "Transcode",
    "SnapshotByTimeOffset",
    "SampleSnapshot",
    "ImageSprite",
    "AnimatedGraphics",
    "AdaptiveDynamicStreaming",
)

# Presets carry this creation time (Tencent shows a fixed date for presets too).
PRESET_TIME = "2018-10-01T00:00:00Z"


def _video(height: int, bitrate: int, fps: int, codec: str = "libx264") -> dict[str, Any]:
    """A video stream whose short side is `height` and long side proportional."""
    return {
        "Codec": codec,
        "Fps": fps,
        "Bitrate": bitrate,
        "ResolutionAdaptive": "open",
        "Width": 0,
        "Height": height,
        "FillType": "black",
        "Vcrf": 0,
        "Gop": 0,
        "PreserveHDRSwitch": "OFF",
        "CodecTag": "hvc1",
    }


def _audio(bitrate: int, codec: str = "libfdk_aac") -> dict[str, Any]:
    return {"Codec": codec, "Bitrate": bitrate, "SampleRate": 44100, "AudioChannel": 2}


def _transcode(
    definition: int, name: str, container: str, video: dict[str, Any], audio: dict[str, Any]
) -> dict[str, Any]:
    return {
        "Definition": str(definition),
        "Container": container,
        "Name": name,
        "Comment": "",
        "Type": "Preset",
        "RemoveVideo": 0,
        "RemoveAudio": 0,
        "VideoTemplate": video,
        "AudioTemplate": audio,
        "TEHDConfig": {"Type": "", "MaxVideoBitrate": 0},
        "ContainerType": "Video",
        "SegmentType": "ts" if container == "hls" else "",
        "CreateTime": PRESET_TIME,
        "UpdateTime": PRESET_TIME,
    }


# (MP4 id, HLS id, label, short side, video kbps, audio kbps): Tencent's current
# H.264 presets, 25 fps, AAC stereo 44.1 kHz.
_CURRENT = [
    (100010, 100210, "FLU", 360, 400, 64),
    (100020, 100220, "SD", 540, 1000, 64),
    (100030, 100230, "HD", 720, 1800, 128),
    (100040, 100240, "FHD", 1080, 2500, 128),
    (100070, 100270, "2K", 1440, 3000, 160),
    (100080, 100280, "4K", 2160, 6000, 160),
]

# (MP4 id, HLS id, label, short side, video kbps, audio kbps): the H.265 presets
# (libx265, hvc1 in MP4), 25 fps. Tencent lists these ids next to the H.264 ones;
# heights follow the H.264 table, bitrates are chosen (docs/templates.md).
_HEVC = [
    (101010, 101210, "FLU", 360, 300, 64),
    (101020, 101220, "SD", 540, 800, 64),
    (101030, 101230, "HD", 720, 1300, 128),
    (101040, 101240, "FHD", 1080, 1800, 128),
    (101070, 101270, "2K", 1440, 2200, 160),
    (101080, 101280, "4K", 2160, 4500, 160),
]

# The older ids (10/20/30/40 MP4, 210/220/230/240 HLS): 24 fps, 48 kbps-class
# audio. Definition 20 reproduces what the seed recorded: a 640x480 source came
# out 640x480, ~500 kbps video, 48 kbps AAC 44.1 kHz, 24 fps.
_LEGACY = [
    (10, 210, "FLU", 360, 256, 48),
    (20, 220, "SD", 480, 500, 48),
    (30, 230, "HD", 720, 1024, 64),
    (40, 240, "FHD", 1080, 2500, 128),
]


# Audio-only presets: M4A (AAC) and MP3, stereo 44.1 kHz.
_AUDIO = [
    (1100, "m4a", "libfdk_aac", 24),
    (1110, "m4a", "libfdk_aac", 48),
    (1120, "m4a", "libfdk_aac", 96),
    (1130, "m4a", "libfdk_aac", 192),
    (1140, "m4a", "libfdk_aac", 256),
    (1010, "mp3", "libmp3lame", 128),
    (1020, "mp3", "libmp3lame", 320),
]


def _transcode_presets() -> dict[int, dict[str, Any]]:
    out: dict[int, dict[str, Any]] = {}
    for mp4, hls, label, height, vkbps, akbps in _CURRENT:
        for definition, container in ((mp4, "mp4"), (hls, "hls")):
            out[definition] = _transcode(
                definition,
                f"{label}-{container.upper()}",
                container,
                _video(height, vkbps, 25),
                _audio(akbps),
            )
    for mp4, hls, label, height, vkbps, akbps in _HEVC:
        for definition, container in ((mp4, "mp4"), (hls, "hls")):
            out[definition] = _transcode(
                definition,
                f"{label}-H265-{container.upper()}",
                container,
                _video(height, vkbps, 25, codec="libx265"),
                _audio(akbps),
            )
    for mp4, hls, label, height, vkbps, akbps in _LEGACY:
        for definition, container in ((mp4, "mp4"), (hls, "hls")):
            out[definition] = _transcode(
                definition,
                f"{label}-{container.upper()}-legacy",
                container,
                _video(height, vkbps, 24),
                _audio(akbps),
            )
    for definition, container, codec, kbps in _AUDIO:
        item = _transcode(
            definition, f"{container.upper()}-{kbps}k", container, {}, _audio(kbps, codec)
        )
        item.pop("VideoTemplate")
        item.update(RemoveVideo=1, ContainerType="PureAudio")
        out[definition] = item
    return out


def _common(definition: int, name: str) -> dict[str, Any]:
    return {
        "Definition": definition,
        "Type": "Preset",
        "Name": name,
        "Comment": "",
        "CreateTime": PRESET_TIME,
        "UpdateTime": PRESET_TIME,
    }


def _abs_streams() -> list[dict[str, Any]]:
    """The renditions of adaptive preset 10: the FLU/SD/HD H.264 presets."""
    return [
        {
            "Video": _video(height, vkbps, 25),
            "Audio": _audio(akbps),
            "RemoveAudio": 0,
            "RemoveVideo": 0,
        }
        for _mp4, _hls, _label, height, vkbps, akbps in _CURRENT[:3]
    ]


PRESETS: dict[str, dict[int, dict[str, Any]]] = {
    "Transcode": _transcode_presets(),
    "SnapshotByTimeOffset": {
        10: {
            **_common(10, "JPG-source-size"),
            "Width": 0,
            "Height": 0,
            "ResolutionAdaptive": "open",
            "Format": "jpg",
            "FillType": "stretch",
        }
    },
    "SampleSnapshot": {
        10: {
            **_common(10, "JPG-every-10-percent"),
            "Width": 0,
            "Height": 0,
            "ResolutionAdaptive": "open",
            "Format": "jpg",
            "SampleType": "Percent",
            "SampleInterval": 10,
            "FillType": "stretch",
        }
    },
    "ImageSprite": {
        10: {
            **_common(10, "Sprite-142x80-10x10"),
            "Width": 142,
            "Height": 80,
            "ResolutionAdaptive": "close",
            "SampleType": "Time",
            "SampleInterval": 10,
            "RowCount": 10,
            "ColumnCount": 10,
            "FillType": "stretch",
            "Format": "jpg",
        }
    },
    "AnimatedGraphics": {
        20000: {
            **_common(20000, "GIF-short-side-360-10fps"),
            "Width": 0,
            "Height": 360,
            "ResolutionAdaptive": "open",
            "Format": "gif",
            "Fps": 10,
            "Quality": 75.0,
        },
        20010: {
            **_common(20010, "WEBP-short-side-360-10fps"),
            "Width": 0,
            "Height": 360,
            "ResolutionAdaptive": "open",
            "Format": "webp",
            "Fps": 10,
            "Quality": 75.0,
        },
    },
    "AdaptiveDynamicStreaming": {
        10: {
            **_common(10, "HLS-FLU-SD-HD"),
            "Format": "HLS",
            "DrmType": "",
            "StreamInfos": _abs_streams(),
            "DisableHigherVideoBitrate": 0,
            "DisableHigherVideoResolution": 0,
            "SegmentType": "ts",
        }
    },
}

# Preset task flows (procedure templates). `QCVB_SimpleProcessFile` is the name
# older integrations pass to ApplyUpload/ProcessMediaByProcedure.
PRESET_PROCEDURES: dict[str, dict[str, Any]] = {
    "QCVB_SimpleProcessFile": {
        "Comment": "Transcode to MP4 FLU/SD/HD and take the cover at 0 s.",
        "MediaProcessTask": {
            "TranscodeTaskSet": [{"Definition": 10}, {"Definition": 20}, {"Definition": 30}],
            "CoverBySnapshotTaskSet": [
                {"Definition": 10, "PositionType": "Time", "PositionValue": 0}
            ],
        },
    },
    # Tencent: "Adaptive-HLS(10) + SpriteScreenshot(10) + TimepointScreenshot(10)";
    # the time point is not given, vodflow takes it at 0 s.
    "LongVideoPreset": {
        "Comment": "Adaptive-HLS(10) + SpriteScreenshot(10) + TimepointScreenshot(10)",
        "MediaProcessTask": {
            "AdaptiveDynamicStreamingTaskSet": [{"Definition": 10}],
            "ImageSpriteTaskSet": [{"Definition": 10}],
            "SnapshotByTimeOffsetTaskSet": [{"Definition": 10, "TimeOffsetSet": [0]}],
        },
    },
}


def preset(kind: str, definition: int) -> dict[str, Any] | None:
    """A copy of the preset (callers may change what they get)."""
    item = PRESETS.get(kind, {}).get(definition)
    return copy.deepcopy(item) if item is not None else None


def is_preset(kind: str, definition: int) -> bool:
    return definition in PRESETS.get(kind, {})


def presets(kind: str) -> list[dict[str, Any]]:
    return [copy.deepcopy(PRESETS[kind][d]) for d in sorted(PRESETS[kind])]


def preset_procedure(name: str) -> dict[str, Any] | None:
    item = PRESET_PROCEDURES.get(name)
    return copy.deepcopy(item) if item is not None else None
