"""The media library: adding media, reading it back, changing and deleting it.

`add_media` is the one way a file becomes media (CommitUpload, PullUpload and
task flows all go through it): the file is probed in a thread, moved under a
folder named with an unguessable token, and the row, the NewFileUpload event
and (with a procedure) the task flow are written in ONE transaction. Media
that cannot be probed is refused here and never stored (docs/media-library.md).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import logging
import os
import shutil
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from vodflow import ids
from vodflow.blobstore import BlobStore
from vodflow.config import Settings
from vodflow.core import classes, events, kinds, media_infos
from vodflow.core.blobkeys import media_dir, url_for
from vodflow.core.flows import FlowOptions, FlowService
from vodflow.core.media_info import check_type_matches, meta_data, normalise_media_type
from vodflow.core.templates import TemplateService
from vodflow.errors import VodError
from vodflow.media.errors import ProbeError
from vodflow.media.probe import MediaProbe, probe, probe_record
from vodflow.store import apps as apps_q
from vodflow.store import media as q
from vodflow.store import subtitles as subtitles_q
from vodflow.store.db import Database
from vodflow.timeutil import now

log = logging.getLogger("vodflow.library")

# ModifyMediaInfo: "leave ExpireTime as it is".
KEEP = object()

ConnHook = Callable[[AsyncConnection, "MediaRecord"], Awaitable[None]]


class MediaRefused(VodError):
    """The bytes are not acceptable media; `source_code` is the probe's reason
    (e.g. SourceFileError.ContentMalformed), used by PullUpload's task result."""

    def __init__(self, code: str, message: str, source_code: str) -> None:
        super().__init__(code, message)
        self.source_code = source_code


@dataclass
class MediaRecord:
    file_id: str
    app_id: int
    media_url: str
    cover_url: str | None
    meta: dict[str, Any]
    basic_info: dict[str, Any]
    procedure_task_id: str | None = None
    row: dict[str, Any] = field(default_factory=dict)


class LibraryService:
    def __init__(
        self,
        db: Database,
        blobs: BlobStore,
        settings: Settings,
        flows: FlowService,
        templates: TemplateService,
    ) -> None:
        self.db = db
        self.blobs = blobs
        self.settings = settings
        self.flows = flows
        self.templates = templates

    @property
    def public_url(self) -> str:
        return self.settings.resolved_public_url

    # --- adding -------------------------------------------------------------

    async def probe_file(self, path: Path, media_type: str) -> MediaProbe:
        """Probe in a thread; refuse what is not media of the declared type."""
        try:
            info = await asyncio.to_thread(probe, path)
        except ProbeError as exc:
            raise MediaRefused(
                "InvalidParameterValue.SrcFile",
                f"The uploaded file is not acceptable media ({exc.code}: {exc.message}).",
                exc.code,
            ) from None
        try:
            check_type_matches(media_type, info)
        except VodError as exc:
            raise MediaRefused(
                exc.code, exc.message, "SourceFileError.ContentUnsupported"
            ) from None
        return info

    async def add_media(
        self,
        app_id: int,
        src_path: str | Path,
        *,
        name: str,
        media_type: str,
        class_id: int = 0,
        expire_time: float | None = None,
        source_info: Mapping[str, Any] | None = None,
        cover_src: str | Path | None = None,
        procedure: str | None = None,
        flow_options: Any = None,
        conn_hook: ConnHook | None = None,
        copy: bool = False,
        link: bool = False,
    ) -> MediaRecord:
        """Make `src_path` a media of `app_id` (moved, or copied with `copy=True`, or
        hard-linked with `link=True`: the source stays for a retry until the caller
        removes it; a file nobody writes in place)."""
        src = Path(src_path)
        media_type = normalise_media_type(media_type)
        info = await self.probe_file(src, media_type)
        cover_type = None
        if cover_src is not None:
            cover_type = await self._check_cover(Path(cover_src))
        mpt = await self.procedure_task(app_id, procedure)

        file_id = ids.file_id()
        url_token = ids.token(16)
        folder = media_dir(app_id, file_id, url_token)
        key = f"{folder}/{ids.token(6)}.{media_type}"
        cover_key = f"{folder}/cover.{cover_type}" if cover_type else None
        t = now()
        try:
            await asyncio.to_thread(self._place, src, key, copy, link)
            if cover_src is not None and cover_key:
                await asyncio.to_thread(self._place, Path(cover_src), cover_key, copy, link)
            row = {
                "file_id": file_id,
                "app_id": app_id,
                "name": name,
                "description": "",
                "type": media_type,
                "class_id": class_id,
                "blob_key": key,
                "url_token": url_token,
                "size": info.size,
                "md5": info.md5,
                "meta": meta_data(info),
                # All of it, MediaMetaData leaves some out: ops reuse it (stored_probe).
                "probe": probe_record(info),
                "cover_key": cover_key,
                "source_info": dict(source_info or {"SourceType": "Upload"}),
                "storage_region": "ap-local",
                "create_time": t,
                "update_time": t,
                "expire_time": expire_time,
            }
            started = None
            async with self.db.tx() as conn:
                app_row = await apps_q.get(conn, app_id)
                if app_row is None:
                    raise VodError("InvalidParameterValue.SubAppId", f"Unknown app `{app_id}`.")
                await classes.check_class(conn, app_id, class_id)
                await q.add(conn, **row)
                await classes.name_classes(conn, app_id, [row])
                record = self.record(row)
                if mpt is not None:
                    started = await self.flows.start_in(
                        conn, app_row, file_id, mpt, flow_options or FlowOptions()
                    )
                    record.procedure_task_id = started.task_id
                if conn_hook is not None:
                    await conn_hook(conn, record)
                await events.emit(
                    conn,
                    app_row,
                    "NewFileUpload",
                    {
                        "FileId": file_id,
                        "MediaBasicInfo": record.basic_info,
                        "ProcedureTaskId": record.procedure_task_id or "",
                        "ReviewAudioVideoTaskId": "",
                        "MetaData": record.meta,
                    },
                )
        except BaseException:
            self.blobs.delete_prefix(folder)
            raise
        if started is not None:
            await self.flows.dispatch(started)
        return record

    async def procedure_task(self, app_id: int, procedure: str | None) -> dict[str, Any] | None:
        """The MediaProcessTask of a procedure name; unknown names are refused."""
        if not procedure:
            return None
        mpt = await self.templates.get_procedure(app_id, procedure)
        if mpt is None:
            raise VodError(
                "InvalidParameterValue.ProcedureName",
                f"The procedure `{procedure[:64]}` does not exist.",
            )
        return dict(mpt)

    async def check_procedure(self, app_id: int, procedure: str | None) -> None:
        await self.procedure_task(app_id, procedure)

    async def check_class(self, app_id: int, class_id: int | None) -> None:
        """Refuse a ClassId the application does not have (before any work starts)."""
        if class_id:
            async with self.db.read() as conn:
                await classes.check_class(conn, app_id, class_id)

    async def _check_cover(self, path: Path) -> str:
        try:
            info = await asyncio.to_thread(probe, path, md5=False)
        except ProbeError as exc:
            raise VodError(
                "InvalidParameterValue.CoverType", f"The cover is not an image ({exc.message})."
            ) from None
        if not info.is_image:
            raise VodError("InvalidParameterValue.CoverType", "The cover is not an image.")
        return cover_ext(info.container)

    def _place(self, src: Path, key: str, copy: bool, link: bool = False) -> None:
        """Put a file at `key` without a reader ever seeing it half-written."""
        tmp = self.blobs.temp_path()
        if link:
            try:
                os.link(src, tmp)
            except OSError:  # another filesystem
                shutil.copyfile(src, tmp)
        elif copy:
            shutil.copyfile(src, tmp)
        else:
            try:
                src.replace(tmp)
            except OSError:  # another filesystem
                shutil.copyfile(src, tmp)
                src.unlink(missing_ok=True)
        self.blobs.commit(tmp, key)

    # --- reading ------------------------------------------------------------

    async def get(self, app_id: int, file_id: str) -> dict[str, Any] | None:
        """The media row plus `meta` (MediaMetaData) and `path` (the source file)."""
        if not isinstance(file_id, str) or len(file_id) > 32:
            return None
        async with self.db.read_inline() as conn:  # a hot read: one row by key
            row = await q.get(conn, app_id, file_id)
        if row is None:
            return None
        row["meta"] = row.get("meta") or {}
        # An empty blob_key: the original was deleted (DeleteParts OriginalFiles).
        row["path"] = str(self.blobs.path(row["blob_key"])) if row["blob_key"] else ""
        row["media_url"] = url_for(self.public_url, row["blob_key"]) if row["blob_key"] else ""
        row["cover_url"] = url_for(self.public_url, row["cover_key"]) if row["cover_key"] else ""
        row["folder"] = media_folder(row)
        return row

    async def owner_of_url(self, app_id: str, file_id: str, url_token: str) -> int | None:
        """The application of the media a `/vod/` URL names, while the media exists and
        carries that URL token; None otherwise (deleted, guessed or foreign)."""
        async with self.db.read() as conn:
            row = await q.get_any(conn, file_id)
        if row is None or str(row["app_id"]) != app_id or row["url_token"] != url_token:
            return None
        return int(row["app_id"])

    def record(self, row: Mapping[str, Any]) -> MediaRecord:
        basic = self.basic_info(row)
        return MediaRecord(
            file_id=row["file_id"],
            app_id=row["app_id"],
            media_url=basic["MediaUrl"],
            cover_url=basic["CoverUrl"] or None,
            meta=dict(row.get("meta") or {}),
            basic_info=basic,
            row=dict(row),
        )

    def basic_info(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """Tencent's MediaBasicInfo of a media row."""
        return media_infos.basic_info(self.public_url, row)

    # --- library actions ------------------------------------------------------

    async def describe(
        self, app_id: int, file_ids: list[str], filters: set[str] | None = None
    ) -> tuple[list[dict[str, Any]], list[str]]:
        """MediaInfo of each known FileId (in request order) and the unknown ones."""
        found, missing = await self.describe_sources(app_id, file_ids)
        chosen = frozenset(filters) if filters else None
        return [media_infos.info_of_key((self.public_url, chosen, s)) for s in found], missing

    async def describe_sources(
        self, app_id: int, file_ids: list[str]
    ) -> tuple[list[media_infos.MediaSource], list[str]]:
        """What the MediaInfo of each known FileId is made from, and the unknown ones."""
        return await media_infos.read_sources(self.db, app_id, file_ids)

    def media_info(
        self,
        row: Mapping[str, Any],
        outputs: list[dict[str, Any]],
        subtitles: list[dict[str, Any]],
        filters: set[str] | None = None,
    ) -> dict[str, Any]:
        """Tencent's MediaInfo: BasicInfo, MetaData, one *Info per output kind, subtitles."""
        return media_infos.render(self.public_url, row, outputs, subtitles, filters)

    async def modify(
        self,
        app_id: int,
        file_id: str,
        *,
        name: str | None = None,
        description: str | None = None,
        class_id: int | None = None,
        expire_time: Any = KEEP,
        cover_data: bytes | None = None,
        in_tx: Callable[[AsyncConnection], Awaitable[None]] | None = None,
    ) -> str:
        """ModifyMediaInfo; the CoverUrl (new with CoverData). `in_tx` joins its transaction."""
        async with self.db.read() as conn:
            row = await q.get(conn, app_id, file_id)
        if row is None:
            raise not_found_file(file_id)
        changes: dict[str, Any] = {}
        if name is not None:
            changes["name"] = name
        if description is not None:
            changes["description"] = description
        if class_id is not None:
            changes["class_id"] = class_id
        if expire_time is not KEEP:
            changes["expire_time"] = expire_time
        new_cover = None
        if cover_data is not None:
            tmp = self.blobs.temp_path()
            tmp.write_bytes(cover_data)
            try:
                ext = await self._check_cover(tmp)
                new_cover = f"{media_folder(row)}/cover-{ids.token(4)}.{ext}"
                self.blobs.commit(tmp, new_cover)
            finally:
                tmp.unlink(missing_ok=True)
            changes["cover_key"] = new_cover
        if changes or in_tx is not None:
            async with self.db.tx() as conn:
                if class_id is not None:
                    await classes.check_class(conn, app_id, class_id)
                await q.modify(conn, app_id, file_id, update_time=now(), **changes)
                if in_tx is not None:
                    await in_tx(conn)
        if new_cover and row["cover_key"] and row["cover_key"] != new_cover:
            self.blobs.delete(row["cover_key"])
        cover_key = new_cover or row["cover_key"]
        return url_for(self.public_url, cover_key) if cover_key else ""

    async def search(
        self, app_id: int, **criteria: Any
    ) -> tuple[list[dict[str, Any]], int, tuple[float, str] | None]:
        """Matching MediaInfos, the total count, and the keyset cursor of the last one."""
        async with self.db.read() as conn:
            if criteria.get("class_ids"):
                # A class matches its subclasses too, as Tencent's SearchMedia does.
                await classes.check_classes(conn, app_id, criteria["class_ids"])
                criteria["class_ids"] = await classes.with_descendants(
                    conn, app_id, criteria["class_ids"]
                )
            rows, total = await q.search(conn, app_id, **criteria)
            outs = await q.outputs_many(conn, [r["file_id"] for r in rows])
            subs = await subtitles_q.of_many(conn, [r["file_id"] for r in rows])
            await classes.name_classes(conn, app_id, rows)
        cursor = (rows[-1]["create_time"], rows[-1]["file_id"]) if rows else None
        infos = [self.media_info(r, outs[r["file_id"]], subs[r["file_id"]]) for r in rows]
        return infos, total, cursor

    async def delete(
        self, app_id: int, file_id: str, parts: list[tuple[str, int]] | None = None
    ) -> None:
        """DeleteMedia: the whole media, or only the listed parts (Type, Definition).

        The rows and the FileDeleted event go in one transaction; blobs are removed
        after commit (a crash in between leaves only unreachable files). Few statements
        (each a round trip on PostgreSQL), on the loop's thread on SQLite (`tx_inline`):
        the media's row comes with its application's, a whole media goes in that one.
        """
        doomed: list[str] = []
        deleted_parts: list[dict[str, Any]] = []
        async with self.db.tx_inline() as conn:
            # A whole media goes as it is read (its outputs and subtitles cascade).
            take = q.get_with_app if parts else q.remove_returning
            if (found := await take(conn, app_id, file_id)) is None:
                raise not_found_file(file_id)
            row, app_row = found
            if not parts:
                doomed.append(media_folder(row))
            else:
                outputs = await q.outputs(conn, file_id)
                for kind, definition in parts:
                    if kind == "OriginalFiles":
                        if row["blob_key"]:
                            doomed.append(row["blob_key"])
                        await q.modify(conn, app_id, file_id, blob_key="", update_time=now())
                    # The others name a template family's outputs (its descriptor's
                    # delete_part); Wechat publishing parts have none here.
                    elif (fam := kinds.family_of_part(kind)) is not None:
                        for out in outputs:
                            if out["kind"] == fam.name and definition in (
                                0,
                                out["definition"],
                            ):
                                doomed.extend(out["blob_keys"])
                                await q.remove_output(conn, file_id, out["kind"], out["definition"])
                    deleted_parts.append({"Type": kind, "Definition": definition})
            await events.emit(
                conn,
                app_row,
                "FileDeleted",
                {
                    "FileIdSet": [file_id],
                    "FileDeleteResultInfo": [{"FileId": file_id, "DeleteParts": deleted_parts}],
                },
            )
        for key in doomed:
            try:
                self.blobs.delete(key)
            except ValueError:
                log.warning("not deleting odd blob key %r of %s", key, file_id)

    async def sweep_expired(self) -> int:
        """Delete media whose ExpireTime has passed (with FileDeleted events)."""
        async with self.db.read() as conn:
            stale = await q.expired(conn, now())
        for row in stale:
            with contextlib.suppress(VodError):  # deleted meanwhile
                await self.delete(row["app_id"], row["file_id"])
        return len(stale)


def encode_scroll_token(cursor: tuple[float, str], descending: bool) -> str:
    raw = json.dumps({"t": cursor[0], "f": cursor[1], "d": descending}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode()


def decode_scroll_token(token: str, descending: bool) -> tuple[float, str]:
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        cursor = (float(data["t"]), str(data["f"])[:32])
        same_order = bool(data["d"]) == descending
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise VodError("InvalidParameterValue", "ScrollToken is not valid.") from None
    if not same_order:
        raise VodError("InvalidParameterValue", "ScrollToken belongs to another sort order.")
    return cursor


def not_found_file(file_id: str) -> VodError:
    return VodError("ResourceNotFound.FileNotExist", f"The media `{file_id[:32]}` does not exist.")


def media_folder(row: Mapping[str, Any]) -> str:
    return media_dir(row["app_id"], row["file_id"], row["url_token"])


def cover_ext(container: str) -> str:
    return {
        "png_pipe": "png",
        "jpeg_pipe": "jpg",
        "jpegls_pipe": "jpg",
        "webp_pipe": "webp",
        "bmp_pipe": "bmp",
        "gif_pipe": "gif",
        "gif": "gif",
        "tiff_pipe": "tiff",
    }.get(container, "jpg")
