"""Tencent's parameter rules for custom templates, with Tencent's error codes.

Request models only check types and sizes; the ranges live here because a
Modify merges the change into the stored template and the merged result must
obey the same rules as a Create. Every function takes the template as Tencent
describes it (the item of Describe<Kind>Templates) and returns it normalised:
aliases such as `h264`/`aac` become Tencent's encoder names, defaults filled in.
Which function rules which template kind is said by the kind's descriptor
(`core/kinds/`).
"""

from __future__ import annotations

from typing import Any

from vodflow.errors import VodError

VIDEO_CODECS = {"libx264": "libx264", "h264": "libx264", "h.264": "libx264"}
VIDEO_CODECS |= {"libx265": "libx265", "h265": "libx265", "h.265": "libx265", "hevc": "libx265"}
AUDIO_CODECS = {"libfdk_aac": "libfdk_aac", "aac": "libfdk_aac", "libmp3lame": "libmp3lame"}
AUDIO_CODECS |= {"mp3": "libmp3lame", "flac": "flac", "mp2": "mp2", "ac3": "ac3", "pcm16": "pcm16"}

VIDEO_CONTAINERS = {"mp4", "flv", "hls"}
AUDIO_CONTAINERS = {"mp3", "m4a", "flac", "ogg", "wav"}
# Audio codecs each container can hold: the SDK's AudioTemplateInfo.Codec doc, less
# what FFmpeg cannot mux (MP2 in FLV: the FLV format has no MP2 sound format), since a
# template that cannot run must not be accepted.
CONTAINER_AUDIO = {
    "mp4": {"libfdk_aac", "libmp3lame", "mp2"},
    "flv": {"libfdk_aac", "libmp3lame"},
    "hls": {"libfdk_aac"},
    "mp3": {"libmp3lame"},
    "m4a": {"libfdk_aac", "libmp3lame", "ac3"},
    "flac": {"flac"},
    "ogg": {"flac"},
    "wav": {"pcm16"},
}
FILL_TYPES = {"stretch", "black", "white", "gauss"}
SAMPLE_RATES = {32000, 44100, 48000}
CHANNELS = {0, 1, 2, 6}
# The longest Time interval accepted for sampling (a day).
MAX_SAMPLE_SECONDS = 86400


def bad(field: str, why: str) -> VodError:
    return VodError(f"InvalidParameterValue.{field}", f"The value of `{field}` is invalid: {why}")


def _choice(item: dict[str, Any], field: str, allowed: set[str], default: str | None) -> None:
    value = item.get(field)
    if value is None:
        if default is None:
            return
        item[field] = value = default
    if value not in allowed:
        raise bad(field, f"expected one of {', '.join(sorted(allowed))}.")


def _flag(item: dict[str, Any], field: str) -> None:
    item.setdefault(field, 0)
    if item[field] not in (0, 1):
        raise bad(field, "expected 0 or 1.")


def _size(item: dict[str, Any], lo: int, hi: int) -> None:
    """Width/Height: 0 (follow the source / keep proportion) or [lo, hi] px."""
    for field in ("Width", "Height"):
        value = item.setdefault(field, 0)
        if value != 0 and not lo <= value <= hi:
            raise bad(field, f"expected 0 or {lo}-{hi} px.")


def _range(item: dict[str, Any], field: str, lo: float, hi: float, *, zero: bool) -> None:
    value = item.get(field, 0)
    if (zero and value == 0) or lo <= value <= hi:
        return
    raise bad(field, f"expected {'0 or ' if zero else ''}{lo:g}-{hi:g}.")


def _codec(value: Any, table: dict[str, str]) -> str:
    if not isinstance(value, str) or value.lower() not in table:
        raise bad("Codec", f"expected one of {', '.join(sorted(set(table.values())))}.")
    return table[value.lower()]


def video(v: dict[str, Any]) -> dict[str, Any]:
    """A VideoTemplateInfo (transcode and adaptive streaming renditions)."""
    v = dict(v)
    v["Codec"] = _codec(v.get("Codec"), VIDEO_CODECS)
    v.setdefault("Fps", 0)
    _range(v, "Fps", 0, 100, zero=True)
    v.setdefault("Bitrate", 0)
    _range(v, "Bitrate", 128, 100000, zero=True)
    _choice(v, "ResolutionAdaptive", {"open", "close"}, "open")
    _size(v, 128, 8192)
    _choice(v, "FillType", FILL_TYPES, "black")
    v.setdefault("Vcrf", 0)
    if not 0 <= v["Vcrf"] <= 51:
        raise bad("Vcrf", "expected 1-51 (0 turns it off).")
    v.setdefault("Gop", 0)
    if not 0 <= v["Gop"] <= 100000:
        raise bad("Gop", "expected 0 or 1-100000.")
    _choice(v, "GopUnit", {"frame", "second"}, None)
    _choice(v, "PreserveHDRSwitch", {"ON", "OFF"}, "OFF")
    _choice(v, "CodecTag", {"hvc1", "hev1"}, "hvc1")
    # Newer SDK fields: checked only when given, so stored templates keep their shape.
    if v.get("Mode") is not None and v["Mode"] not in ("VBR", "ABR"):
        raise bad(
            "Mode",
            "vodflow encodes at an average bit rate (VBR, ABR); CBR and VCRF are not "
            "available (Vcrf gives constant quality).",
        )
    if v.get("Bframes") is not None and not 0 <= v["Bframes"] <= 16:
        raise bad("Bframes", "expected 0-16.")
    if v.get("HlsTime") is not None and not 0 <= v["HlsTime"] <= 10:
        raise bad("HlsTime", "expected 0-10 s (0: automatic).")
    _choice(v, "VideoProfile", {"baseline", "main", "high", "default"}, None)
    return v


def audio(a: dict[str, Any], container: str) -> dict[str, Any]:
    """An AudioTemplateInfo; which codecs are allowed depends on the container."""
    a = dict(a)
    codec = _codec(a.get("Codec"), AUDIO_CODECS)
    if codec not in CONTAINER_AUDIO[container]:
        allowed = ", ".join(sorted(CONTAINER_AUDIO[container]))
        why = " (FLV cannot carry MP2 audio)" if (container, codec) == ("flv", "mp2") else ""
        raise bad("Codec", f"a {container} container takes audio codec {allowed}{why}.")
    a["Codec"] = codec
    a.setdefault("Bitrate", 0)
    _range(a, "Bitrate", 26, 256, zero=True)
    if codec == "pcm16" and a.get("SampleRate") == 16000:
        pass  # the SDK: 16000 only for pcm16
    elif a.get("SampleRate") not in SAMPLE_RATES:
        raise bad("SampleRate", "expected 32000, 44100 or 48000 (16000 with pcm16).")
    a.setdefault("AudioChannel", 2)
    if a["AudioChannel"] not in CHANNELS:
        raise bad("AudioChannel", "expected 0, 1, 2 or 6.")
    if container in AUDIO_CONTAINERS and a["AudioChannel"] == 6:
        raise bad("AudioChannel", "an audio-only container cannot carry 6 channels.")
    return a


def _not_available(item: dict[str, Any], *fields: str) -> None:
    """Fields of features vodflow does not have: refused by name unless empty."""
    for field in fields:
        if item.get(field) not in (None, "", {}):
            raise VodError(
                "InvalidParameterValue", f"{field} is not available in vodflow; leave it empty."
            )
        item.pop(field, None)


def _no_tehd(item: dict[str, Any]) -> None:
    tehd = item.get("TEHDConfig") or {}
    if tehd.get("Type") not in (None, "", "OFF"):
        raise VodError(
            "InvalidParameterValue",
            "TEHDConfig.Type: Top Speed Codec (TEHD) is not available in vodflow; use OFF.",
        )
    item["TEHDConfig"] = {"Type": tehd.get("Type") or "", "MaxVideoBitrate": 0}


def transcode(item: dict[str, Any]) -> dict[str, Any]:
    item = dict(item)
    container = item.get("Container")
    if container not in VIDEO_CONTAINERS | AUDIO_CONTAINERS:
        allowed = ", ".join(sorted(VIDEO_CONTAINERS | AUDIO_CONTAINERS))
        raise bad("Container", f"expected one of {allowed}.")
    _flag(item, "RemoveVideo")
    _flag(item, "RemoveAudio")
    if container in AUDIO_CONTAINERS:
        item["RemoveVideo"] = 1
        item.pop("VideoTemplate", None)
    if item["RemoveVideo"] and item["RemoveAudio"]:
        raise bad("RemoveAudio", "a template cannot remove both video and audio.")
    if item["RemoveVideo"]:
        item.pop("VideoTemplate", None)
    elif not item.get("VideoTemplate"):
        raise VodError("MissingParameter", "VideoTemplate is required when RemoveVideo is 0.")
    else:
        item["VideoTemplate"] = video(item["VideoTemplate"])
    if item["RemoveAudio"]:
        item.pop("AudioTemplate", None)
    elif not item.get("AudioTemplate"):
        raise VodError("MissingParameter", "AudioTemplate is required when RemoveAudio is 0.")
    else:
        item["AudioTemplate"] = audio(item["AudioTemplate"], container)
    _no_tehd(item)
    _not_available(item, "EnhanceConfig", "StdExtInfo")
    item["ContainerType"] = "PureAudio" if container in AUDIO_CONTAINERS else "Video"
    if container == "hls":
        _choice(item, "SegmentType", {"ts", "fmp4"}, "ts")
    else:
        item["SegmentType"] = ""
    return item


def _image(item: dict[str, Any], formats: set[str], lo: int) -> dict[str, Any]:
    item = dict(item)
    _size(item, lo, 4096)
    _choice(item, "ResolutionAdaptive", {"open", "close"}, "open")
    _choice(item, "Format", formats, "jpg")
    _choice(item, "FillType", FILL_TYPES, "black")
    return item


def _sampling(item: dict[str, Any]) -> None:
    _choice(item, "SampleType", {"Percent", "Time"}, None)
    if item.get("SampleType") is None:
        raise VodError("MissingParameter", "SampleType is required.")
    top = 100 if item["SampleType"] == "Percent" else MAX_SAMPLE_SECONDS
    value = item.get("SampleInterval")
    if value is None:
        raise VodError("MissingParameter", "SampleInterval is required.")
    if not 1 <= value <= top:
        unit = "percent" if item["SampleType"] == "Percent" else "seconds"
        raise bad("SampleInterval", f"expected 1-{top} ({unit}).")


def snapshot_by_time_offset(item: dict[str, Any]) -> dict[str, Any]:
    return _image(item, {"jpg", "png", "webp"}, 32)


def sample_snapshot(item: dict[str, Any]) -> dict[str, Any]:
    item = _image(item, {"jpg", "png", "webp"}, 32)
    _sampling(item)
    return item


# The sprite sheet may be at most 15000 px on a side (Tencent's limit).
MAX_SHEET_SIDE = 15000


def image_sprite(item: dict[str, Any]) -> dict[str, Any]:
    # 0 or 128-4096 px as CreateImageSpriteTemplate documents (the Modify doc says 32,
    # but a modified template must obey the creation rules; presets are not checked).
    item = _image(item, {"jpg", "png", "webp"}, 128)
    _sampling(item)
    for field, side in (("RowCount", "Height"), ("ColumnCount", "Width")):
        value = item.get(field)
        if value is None:
            raise VodError("MissingParameter", f"{field} is required.")
        if not 1 <= value <= 100:
            raise bad(field, "expected 1-100.")
        if value * item[side] > MAX_SHEET_SIDE:
            raise bad(field, f"{field} x {side} exceeds the {MAX_SHEET_SIDE} px sheet limit.")
    return item


def animated_graphics(item: dict[str, Any]) -> dict[str, Any]:
    item = dict(item)
    _size(item, 128, 4096)
    _choice(item, "ResolutionAdaptive", {"open", "close"}, "open")
    _choice(item, "Format", {"gif", "webp"}, "gif")
    if item.get("Fps") is None:
        raise VodError("MissingParameter", "Fps is required.")
    _range(item, "Fps", 1, 30, zero=False)
    item.setdefault("Quality", 75.0)
    item["Quality"] = float(item["Quality"])
    _range(item, "Quality", 1, 100, zero=False)
    return item


def adaptive_dynamic_streaming(item: dict[str, Any]) -> dict[str, Any]:
    item = dict(item)
    if item.get("Format") != "HLS":
        raise bad("Format", "vodflow produces adaptive streams as HLS only.")
    if item.get("DrmType") not in (None, ""):
        raise bad("DrmType", "DRM is not available in vodflow; leave DrmType empty.")
    item["DrmType"] = ""
    _not_available(item, "DrmEncryptType")
    if item.get("SegmentDuration") is not None and not 1 <= item["SegmentDuration"] <= 10:
        raise bad("SegmentDuration", "expected 1-10 s.")
    _flag(item, "DisableHigherVideoBitrate")
    _flag(item, "DisableHigherVideoResolution")
    _choice(item, "SegmentType", {"ts", "ts-segment"}, "ts")
    streams = item.get("StreamInfos") or []
    if not 1 <= len(streams) <= 10:
        raise bad("StreamInfos", "expected 1 to 10 streams.")
    out = []
    for stream in streams:
        s = dict(stream)
        _not_available(s, "EnhanceConfig", "StdExtInfo")
        if (s.get("TEHDConfig") or {}).get("Type") not in (None, "", "OFF"):
            raise VodError("InvalidParameterValue", "TEHDConfig is not available in vodflow.")
        s.pop("TEHDConfig", None)
        _flag(s, "RemoveAudio")
        _flag(s, "RemoveVideo")
        if s["RemoveVideo"]:
            raise bad("RemoveVideo", "every adaptive stream needs its video.")
        if not s.get("Video"):
            raise VodError("MissingParameter", "StreamInfos.N.Video is required.")
        s["Video"] = video(s["Video"])
        if s["Video"].get("HlsTime"):
            # The SDK: HlsTime is for transcode templates only; adaptive streams use
            # the template's SegmentDuration. Refused rather than ignored.
            raise bad("HlsTime", "adaptive streams take SegmentDuration, not HlsTime.")
        if s["RemoveAudio"]:
            s.pop("Audio", None)
        elif not s.get("Audio"):
            raise VodError("MissingParameter", "StreamInfos.N.Audio is required.")
        else:
            s["Audio"] = audio(s["Audio"], "hls")
        out.append(s)
    item["StreamInfos"] = out
    return item
