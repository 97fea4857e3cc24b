"""Tencent's media structures from media rows: MediaBasicInfo and MediaInfo."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from vodflow.timeutil import iso

# ExpireTime shown for media that never expires (as Tencent shows it).
NEVER = "9999-12-31T23:59:59Z"
DEFAULT_CLASS_NAME = "其他"


def category(meta: Mapping[str, Any]) -> str:
    """Tencent's Category: Video, Audio or Image (store.media._category_is in SQL)."""
    container = str(meta.get("Container", ""))
    if container.endswith("_pipe") or container == "gif":
        return "Image"
    if not meta.get("VideoStreamSet") and meta.get("AudioStreamSet"):
        return "Audio"
    return "Video"


def _source_info(stored: Any) -> dict[str, Any]:
    info = dict(stored or {})
    info.setdefault("SourceType", "Upload")
    info.setdefault("SourceContext", "")
    return info


def media_basic_info(row: Mapping[str, Any], media_url: str, cover_url: str) -> dict[str, Any]:
    """MediaBasicInfo of a media row, with its serving URLs."""
    return {
        "Name": row["name"],
        "Description": row.get("description") or "",
        "CreateTime": iso(row["create_time"]),
        "UpdateTime": iso(row["update_time"]),
        "ExpireTime": iso(row["expire_time"]) if row.get("expire_time") else NEVER,
        "ClassId": row.get("class_id") or 0,
        # Named by core.classes.name_classes; the default class otherwise.
        "ClassName": row.get("class_name") or DEFAULT_CLASS_NAME,
        "ClassPath": row.get("class_path") or DEFAULT_CLASS_NAME,
        "CoverUrl": cover_url,
        "Type": row["type"],
        "MediaUrl": media_url,
        "SourceInfo": _source_info(row.get("source_info")),
        "StorageRegion": row.get("storage_region") or "ap-local",
        "TagSet": [],
        "Vid": "",
        "Category": category(row.get("meta") or {}),
        "Status": "Normal",
        "StorageClass": "STANDARD",
    }


def media_info(
    row: Mapping[str, Any],
    basic_info: dict[str, Any],
    outputs: Sequence[Mapping[str, Any]],
    sections: Sequence[tuple[str, str, str]],
    subtitles: Sequence[Mapping[str, Any]] = (),
    filters: set[str] | None = None,
) -> dict[str, Any]:
    """MediaInfo: BasicInfo, MetaData, one *Info per output kind, and SubtitleInfo.

    `sections` are (output kind, MediaInfo section, its item list) in Tencent's
    order; `subtitles` MediaSubtitleItems; `filters` the Filters of
    DescribeMediaInfos (None: everything).
    """
    info: dict[str, Any] = {"FileId": row["file_id"]}
    shown: dict[str, Any] = {"BasicInfo": basic_info, "MetaData": row.get("meta") or None}
    for kind, section, item_set in sections:
        items = [o["info"] for o in outputs if o["kind"] == kind]
        shown[section] = {item_set: items} if items else None
    shown["SubtitleInfo"] = {"SubtitleSet": list(subtitles)} if subtitles else None
    for name, value in shown.items():
        wanted = filters is None or name[0].lower() + name[1:] in filters
        if wanted and value is not None:
            info[name] = value
    return info
