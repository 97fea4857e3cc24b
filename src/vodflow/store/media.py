"""Queries of the media aggregate: a media row and the outputs registered on it.

Every read is filtered by application: a FileId of another application is the
same as an unknown one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Text,
    and_,
    bindparam,
    cast,
    delete,
    exists,
    func,
    insert,
    not_,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from vodflow.store.db import Reader, Writer
from vodflow.store.inline import prepared
from vodflow.store.schema import apps, media, media_outputs, media_subtitles
from vodflow.timeutil import now


async def add(conn: AsyncConnection, **values: Any) -> None:
    await conn.execute(insert(media).values(**values))


# A media by id: built once, read inline on SQLite by LibraryService.get.
_GET = prepared(
    select(media).where(
        media.c.file_id == bindparam("file_id"), media.c.app_id == bindparam("app_id")
    )
)


async def get(conn: Reader, app_id: int, file_id: str) -> dict[str, Any] | None:
    row = (await conn.execute(_GET, {"file_id": file_id, "app_id": app_id})).mappings().first()
    return dict(row) if row else None


async def get_any(conn: AsyncConnection, file_id: str) -> dict[str, Any] | None:
    """A media row whatever its application (serving checks the URL token instead)."""
    row = (await conn.execute(select(media).where(media.c.file_id == file_id))).mappings().first()
    return dict(row) if row else None


# What the library's answers read of a media: every column but the stored probe,
# which only ops use (a kilobyte of JSON to decode per media otherwise).
_ANSWERED = tuple(c for c in media.c if c.name != "probe")

# What a MediaInfo shows of a media (wire/media_views.py, core.classes.name_classes):
# DescribeMediaInfos reads only these.
# Its JSON columns are read as their stored text (plain values: the answer's source,
# core/media_infos.py, decodes them).
SHOWN_JSON = ("meta", "source_info")
_SHOWN = tuple(
    cast(media.c[k], Text).label(k) if k in SHOWN_JSON else media.c[k]
    for k in (
        *("file_id", "name", "description", "type", "class_id", "blob_key", "meta"),
        *("cover_key", "source_info", "storage_region", "create_time", "update_time"),
        "expire_time",
    )
)

# DescribeMediaInfos' reads: built once, read inline on SQLite (store/inline.py).
# `has_outputs` and `has_subtitles` (an index probe each) spare the reads of the
# outputs and subtitles of media that have none (most have no subtitles).
_GET_MANY = prepared(
    select(
        *_SHOWN,
        exists().where(media_outputs.c.file_id == media.c.file_id).label("has_outputs"),
        exists().where(media_subtitles.c.file_id == media.c.file_id).label("has_subtitles"),
    ).where(
        media.c.app_id == bindparam("app_id"),
        media.c.file_id.in_(bindparam("file_ids", expanding=True)),
    )
)
# The columns of `get_many`'s rows, then the two `core.classes.name_classes` adds.
SHOWN_KEYS = (*_GET_MANY.selected_columns.keys(), "class_name", "class_path")


def _outputs_many(info: Any) -> Any:
    # An output as answers show it: its kind's section lists its info (its URLs name
    # its files; blob_keys is not read).
    return prepared(
        select(media_outputs.c.file_id, media_outputs.c.kind, info)
        .where(media_outputs.c.file_id.in_(bindparam("file_ids", expanding=True)))
        .order_by(media_outputs.c.kind, media_outputs.c.definition)
    )


_OUTPUTS_MANY = _outputs_many(media_outputs.c.info)
_OUTPUTS_MANY_TEXT = _outputs_many(cast(media_outputs.c.info, Text).label("info"))


async def get_many(conn: Reader, app_id: int, file_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The media of these FileIds (those of the application), with the columns a
    MediaInfo shows (`SHOWN_JSON` as their stored text), and whether each has outputs
    (`has_outputs`) and subtitles (`has_subtitles`)."""
    if not file_ids:
        return {}
    params = {"app_id": app_id, "file_ids": list(file_ids)}
    return {r["file_id"]: dict(r) for r in (await conn.execute(_GET_MANY, params)).mappings()}


async def modify(conn: Writer, app_id: int, file_id: str, **values: Any) -> None:
    stmt = update(media).where(media.c.file_id == file_id, media.c.app_id == app_id)
    await conn.execute(stmt.values(**values))


# DeleteMedia's statements, built once. Its application's row comes with the media's
# (the outbox needs its event configuration): correlated scalar subqueries by primary
# key, which both stores accept in a SELECT and in a DELETE's RETURNING (SQLite does
# not join in a DELETE). Each of its columns is labelled `app.<name>`.
_APP_PREFIX = "app."
_APP_OF_MEDIA = tuple(
    select(c).where(apps.c.id == media.c.app_id).scalar_subquery().label(_APP_PREFIX + c.name)
    for c in apps.c
)
_MEDIA_WHERE = (media.c.file_id == bindparam("file_id"), media.c.app_id == bindparam("app_id"))
# What a delete uses of the media (its folder, its original), not its JSON columns.
_DELETE_READS = (media.c.file_id, media.c.app_id, media.c.url_token, media.c.blob_key)
_GET_WITH_APP = select(*_DELETE_READS, *_APP_OF_MEDIA).where(*_MEDIA_WHERE)
# The outputs and subtitles go with the row: their foreign keys cascade (0001, 0005;
# SQLite connections run with foreign_keys=ON, store/db.py).
_REMOVE_RETURNING = delete(media).where(*_MEDIA_WHERE).returning(*_DELETE_READS, *_APP_OF_MEDIA)


def _split_app(row: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """(media row, its application's row) of a row read with `_APP_OF_MEDIA`."""
    media_row: dict[str, Any] = {}
    app_row: dict[str, Any] = {}
    for key, value in row.items():
        if key.startswith(_APP_PREFIX):
            app_row[key[len(_APP_PREFIX) :]] = value
        else:
            media_row[key] = value
    return media_row, app_row


async def get_with_app(
    conn: Writer, app_id: int, file_id: str
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """What a delete uses of a media row (file_id, app_id, url_token, blob_key) and its
    application's row, in one statement; None if unknown."""
    params = {"file_id": file_id, "app_id": app_id}
    row = (await conn.execute(_GET_WITH_APP, params)).mappings().first()
    return _split_app(row) if row else None


async def remove_returning(
    conn: Writer, app_id: int, file_id: str
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """Delete a media with its outputs and subtitles, in one statement: what a delete
    uses of the row it was (as `get_with_app`) and its application's row, or None if
    there was none (another delete got it)."""
    params = {"file_id": file_id, "app_id": app_id}
    row = (await conn.execute(_REMOVE_RETURNING, params)).mappings().first()
    return _split_app(row) if row else None


async def search(
    conn: AsyncConnection,
    app_id: int,
    *,
    file_ids: Sequence[str] = (),
    names: Sequence[str] = (),
    name_prefixes: Sequence[str] = (),
    descriptions: Sequence[str] = (),
    text: str | None = None,
    types: Sequence[str] = (),
    class_ids: Sequence[int] = (),
    categories: Sequence[str] = (),
    source_types: Sequence[str] = (),
    create_after: float | None = None,
    create_before: float | None = None,
    descending: bool = True,
    after: tuple[float, str] | None = None,
    offset: int = 0,
    limit: int = 10,
) -> tuple[list[dict[str, Any]], int]:
    """Media of one application matching every given filter, newest first by default.

    Names, Descriptions and Text are fuzzy as Tencent's: a case-insensitive
    substring match (any of the list). `after` is a keyset cursor
    (create_time, file_id) for scroll-token paging.
    Returns (rows, total count ignoring offset/limit/cursor).
    """
    conds = [media.c.app_id == app_id]
    if file_ids:
        conds.append(media.c.file_id.in_(list(file_ids)))
    if names:
        conds.append(or_(*(media.c.name.icontains(n, autoescape=True) for n in names)))
    if descriptions:
        conds.append(
            or_(*(media.c.description.icontains(d, autoescape=True) for d in descriptions))
        )
    if text:
        conds.append(
            or_(
                media.c.name.icontains(text, autoescape=True),
                media.c.description.icontains(text, autoescape=True),
            )
        )
    if categories:
        conds.append(or_(*(_category_is(c) for c in categories)))
    if source_types:
        source = func.coalesce(media.c.source_info["SourceType"].as_string(), "Upload")
        conds.append(source.in_(list(source_types)))
    if name_prefixes:
        conds.append(or_(*(media.c.name.startswith(p, autoescape=True) for p in name_prefixes)))
    if types:
        conds.append(media.c.type.in_(list(types)))
    if class_ids:
        conds.append(media.c.class_id.in_(list(class_ids)))
    if create_after is not None:
        conds.append(media.c.create_time >= create_after)
    if create_before is not None:
        conds.append(media.c.create_time < create_before)
    where = and_(*conds)
    total = (await conn.execute(select(func.count()).select_from(media).where(where))).scalar_one()
    if descending:
        order = (media.c.create_time.desc(), media.c.file_id.desc())
    else:
        order = (media.c.create_time.asc(), media.c.file_id.asc())
    stmt = select(*_ANSWERED).where(where)
    if after is not None:
        t, fid = after
        if descending:
            stmt = stmt.where(
                (media.c.create_time < t) | ((media.c.create_time == t) & (media.c.file_id < fid))
            )
        else:
            stmt = stmt.where(
                (media.c.create_time > t) | ((media.c.create_time == t) & (media.c.file_id > fid))
            )
    else:
        stmt = stmt.offset(offset)
    rows = await conn.execute(stmt.order_by(*order).limit(limit))
    return [dict(r) for r in rows.mappings()], total


def _category_is(name: str) -> ColumnElement[bool]:
    """SQL of wire.media_views.category(): what Tencent calls Video, Audio or Image.

    Image: a picture demuxer (`*_pipe`) or gif; Audio: no video stream but an
    audio one; Video: the rest. Read from the MetaData kept on every media.
    """
    container = func.coalesce(media.c.meta["Container"].as_string(), "")
    image = or_(container.endswith("_pipe", autoescape=True), container == "gif")
    has_video = media.c.meta[("VideoStreamSet", 0, "Codec")].as_string().is_not(None)
    has_audio = media.c.meta[("AudioStreamSet", 0, "Codec")].as_string().is_not(None)
    if name == "Image":
        return image
    if name == "Audio":
        return and_(not_(image), not_(has_video), has_audio)
    return and_(not_(image), or_(has_video, not_(has_audio)))


async def expired(conn: AsyncConnection, before: float, limit: int = 100) -> list[dict[str, Any]]:
    stmt = (
        select(media)
        .where(media.c.expire_time.is_not(None), media.c.expire_time < before)
        .order_by(media.c.expire_time)
        .limit(limit)
    )
    return [dict(r) for r in (await conn.execute(stmt)).mappings()]


# --- outputs ----------------------------------------------------------------


async def upsert_output(
    conn: Writer,
    *,
    file_id: str,
    kind: str,
    definition: int,
    info: dict[str, Any],
    blob_keys: list[str],
) -> None:
    """Register (or replace) the output `kind`/`definition` of a media.

    A re-run of the same definition replaces the earlier row; its old blobs are
    the caller's to remove if their keys changed.
    """
    where = and_(
        media_outputs.c.file_id == file_id,
        media_outputs.c.kind == kind,
        media_outputs.c.definition == definition,
    )
    values = {"info": info, "blob_keys": list(blob_keys), "create_time": now()}
    if conn.dialect.name == "postgresql":
        # Workers of several flows on one media may register the same output at
        # once: a read-then-insert would race; ON CONFLICT makes it one statement.
        stmt = pg_insert(media_outputs).values(
            file_id=file_id, kind=kind, definition=definition, **values
        )
        await conn.execute(stmt.on_conflict_do_update(constraint="uq_media_output", set_=values))
    elif (await conn.execute(select(media_outputs.c.id).where(where))).first() is None:
        await conn.execute(
            insert(media_outputs).values(
                file_id=file_id, kind=kind, definition=definition, **values
            )
        )
    else:
        await conn.execute(update(media_outputs).where(where).values(**values))
    await conn.execute(update(media).where(media.c.file_id == file_id).values(update_time=now()))


async def outputs(conn: Reader, file_id: str) -> list[dict[str, Any]]:
    stmt = (
        select(media_outputs)
        .where(media_outputs.c.file_id == file_id)
        .order_by(media_outputs.c.kind, media_outputs.c.definition)
    )
    return [dict(r) for r in (await conn.execute(stmt)).mappings()]


async def outputs_many(
    conn: Reader, file_ids: Sequence[str], *, text: bool = False
) -> dict[str, list[dict[str, Any]]]:
    """The outputs of these media (kind, info), by FileId; `text`: info as stored."""
    found: dict[str, list[dict[str, Any]]] = {f: [] for f in file_ids}
    if not file_ids:
        return found
    stmt = _OUTPUTS_MANY_TEXT if text else _OUTPUTS_MANY
    for r in (await conn.execute(stmt, {"file_ids": list(file_ids)})).mappings():
        found[r["file_id"]].append(dict(r))
    return found


async def remove_output(conn: Writer, file_id: str, kind: str, definition: int) -> None:
    await conn.execute(
        delete(media_outputs).where(
            media_outputs.c.file_id == file_id,
            media_outputs.c.kind == kind,
            media_outputs.c.definition == definition,
        )
    )


# Run by every cover flow's finish: built once (see store/tasks.py), the values bound.
_SET_COVER = (
    update(media)
    .where(media.c.file_id == bindparam("b_file_id"))
    .values(cover_key=bindparam("v_cover_key"), update_time=bindparam("v_update_time"))
)


async def set_cover(conn: Writer, file_id: str, cover_key: str | None) -> None:
    """Point the media's cover at a blob (a key under the media's own folder)."""
    args = {"b_file_id": file_id, "v_cover_key": cover_key, "v_update_time": now()}
    await conn.execute(_SET_COVER, args)
