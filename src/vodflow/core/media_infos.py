"""MediaInfo, Tencent's description of a media: what DescribeMediaInfos and
SearchMedia answer, and the rows DescribeMediaInfos makes it from.

DescribeMediaInfos reads a media's row (its JSON columns as their stored text), its
outputs (likewise) and its subtitles, and names its class: a `MediaSource`, plain
values, all its MediaInfo is made from besides the public URL and the Filters. An
answer made once can then be remembered by its source (api/answer_memo.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from vodflow.core import classes, kinds
from vodflow.core.blobkeys import url_for
from vodflow.core.subtitle_files import subtitle_item
from vodflow.store import media as q
from vodflow.store import subtitles as subtitles_q
from vodflow.store.db import Database
from vodflow.store.inline import decode_json
from vodflow.wire.media_views import media_basic_info, media_info

# (the media row's values (`q.SHOWN_KEYS`), (kind, info as text) per output, each
# subtitle's values (`subtitles_q.SHOWN_KEYS`)).
MediaSource = tuple[tuple[Any, ...], tuple[tuple[str, str], ...], tuple[tuple[Any, ...], ...]]
# What one MediaInfo is made from: the public URL, the Filters (None: all), the source.
InfoKey = tuple[str, frozenset[str] | None, MediaSource]


async def read_sources(
    db: Database, app_id: int, file_ids: Sequence[str]
) -> tuple[list[MediaSource], list[str]]:
    """The source of each known FileId (in request order, once each) and the unknown ones."""
    async with db.read_inline() as conn:  # a hot read: at most 20 FileIds, indexed
        rows = await q.get_many(conn, app_id, file_ids)
        outs = await q.outputs_many(conn, [f for f in rows if rows[f]["has_outputs"]], text=True)
        subs = await subtitles_q.of_many(conn, [f for f in rows if rows[f]["has_subtitles"]])
        await classes.name_classes(conn, app_id, rows.values())
    found: list[MediaSource] = []
    missing: list[str] = []
    for fid in dict.fromkeys(file_ids):
        row = rows.get(fid)
        if row is None:
            missing.append(fid)
            continue
        values = tuple(row[k] for k in q.SHOWN_KEYS)
        shown = tuple((o["kind"], o["info"]) for o in outs.get(fid, ()))
        found.append((values, shown, tuple(tuple(s.values()) for s in subs.get(fid, ()))))
    return found, missing


def info_of_key(key: InfoKey) -> dict[str, Any]:
    """The MediaInfo made from a source (a pure function of the key)."""
    public_url, filters, (values, shown, subs) = key
    row = dict(zip(q.SHOWN_KEYS, values, strict=True))
    for k in q.SHOWN_JSON:
        row[k] = decode_json(row[k])
    outputs = [{"kind": kind, "info": decode_json(info)} for kind, info in shown]
    subtitles = [dict(zip(subtitles_q.SHOWN_KEYS, s, strict=True)) for s in subs]
    return render(public_url, row, outputs, subtitles, set(filters) if filters else None)


def basic_info(public_url: str, row: Mapping[str, Any]) -> dict[str, Any]:
    """Tencent's MediaBasicInfo of a media row (class named)."""
    media_url = url_for(public_url, row["blob_key"]) if row["blob_key"] else ""
    cover_url = url_for(public_url, row["cover_key"]) if row.get("cover_key") else ""
    return media_basic_info(row, media_url, cover_url)


def render(
    public_url: str,
    row: Mapping[str, Any],
    outputs: Sequence[Mapping[str, Any]],
    subtitles: Sequence[Mapping[str, Any]],
    filters: set[str] | None = None,
) -> dict[str, Any]:
    """Tencent's MediaInfo: BasicInfo, MetaData, one *Info per output kind, subtitles."""
    items = [subtitle_item(s, public_url) for s in subtitles] if subtitles else []
    return media_info(row, basic_info(public_url, row), outputs, kinds.SECTIONS, items, filters)
