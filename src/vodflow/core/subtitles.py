"""Subtitles of a media: adding and deleting them (ModifyMediaInfo), and attaching
them to an adaptive stream or detaching them (AttachMediaSubtitles).

A subtitle is validated before anything is stored: Base64, at most
`MAX_SUBTITLE_BYTES`, and really WebVTT or SRT (media/ops/subtitles.py parses it).
Its file is a blob under the media's folder, kept as sent; its row is written in
the ModifyMediaInfo transaction. Attaching writes the subtitle's WebVTT rendition
into the stream's folder, then the master playlist naming it, then the output's
`SubtitleSet` (a guarded update: a stream re-made meanwhile answers FailedOperation
rather than being overwritten with stale attachments).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import re
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from vodflow import ids
from vodflow.blobstore import BlobStore
from vodflow.config import Settings
from vodflow.core.blobkeys import media_dir, url_for
from vodflow.core.kinds import adaptive_dynamic_streaming as ads
from vodflow.core.subtitle_files import Carried, name_tracks, subtitle_item, write_tracks
from vodflow.core.templates import TemplateService
from vodflow.errors import VodError
from vodflow.media.ops import subtitles as st
from vodflow.store import media as media_q
from vodflow.store import subtitles as q
from vodflow.store.db import Database
from vodflow.timeutil import now

log = logging.getLogger("vodflow.subtitles")

# Tencent: "at most 16 subtitles per media".
MAX_SUBTITLES = 16
# Not Tencent's figure (it documents none): a feature film's WebVTT is ~100 KB.
MAX_SUBTITLE_BYTES = 2 * 1024 * 1024
# RFC 5646 language tags, in the shape HLS's LANGUAGE attribute takes.
_LANGUAGE = re.compile(r"^[A-Za-z]{2,8}(?:-[A-Za-z0-9]{1,8})*$")


def _bad(message: str) -> VodError:
    return VodError("InvalidParameterValue", message)


@dataclass
class NewSubtitle:
    row: dict[str, Any]
    tmp: Path


@dataclass
class SubtitleChange:
    """A checked AddSubtitles / DeleteSubtitleIds / ClearSubtitles, applied by
    `apply` inside ModifyMediaInfo's transaction."""

    service: SubtitleService
    file_id: str
    new: list[NewSubtitle]
    delete_ids: list[str] | None
    clear: bool
    deleted: list[dict[str, Any]] = field(default_factory=list)

    async def apply(self, conn: AsyncConnection) -> None:
        existing = {r["subtitle_id"]: r for r in await q.of_media(conn, self.file_id)}
        gone: list[str] = []
        if self.clear:
            gone = list(existing)
        elif self.delete_ids:
            for sid in self.delete_ids:
                if sid not in existing:
                    raise _bad(f"DeleteSubtitleIds: the media has no subtitle `{sid}`.")
            gone = list(dict.fromkeys(self.delete_ids))
        for n in self.new:
            sid = n.row["subtitle_id"]
            if sid in existing and sid not in gone:
                raise _bad(f"AddSubtitles: the media already has a subtitle `{sid}`.")
        if len(existing) - len(gone) + len(self.new) > MAX_SUBTITLES:
            raise VodError("LimitExceeded", f"A media holds at most {MAX_SUBTITLES} subtitles.")
        self.deleted = [existing[s] for s in gone]
        if gone:
            await q.remove(conn, self.file_id, gone)
        await q.add(conn, [n.row for n in self.new])
        await q.touch_media(conn, self.file_id)

    def commit_blobs(self) -> None:
        for n in self.new:
            self.service.blobs.commit(n.tmp, n.row["blob_key"])

    def discard(self) -> None:
        """Remove the staged or committed files of a change that was not recorded."""
        for n in self.new:
            n.tmp.unlink(missing_ok=True)
            self.service.blobs.delete(n.row["blob_key"])

    def added(self) -> list[dict[str, Any]]:
        return [subtitle_item(n.row, self.service.public_url) for n in self.new]


class SubtitleService:
    def __init__(
        self, db: Database, blobs: BlobStore, settings: Settings, templates: TemplateService
    ) -> None:
        self.db = db
        self.blobs = blobs
        self.settings = settings
        self.templates = templates
        # One change at a time per stream in this process (a lock lives while someone
        # holds or awaits it); other processes are caught by the guarded update.
        self._locks: weakref.WeakValueDictionary[tuple[str, int], asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )

    @property
    def public_url(self) -> str:
        return self.settings.resolved_public_url

    # --- ModifyMediaInfo ------------------------------------------------------------

    async def prepare(
        self,
        app_id: int,
        file_id: str,
        add: Sequence[Mapping[str, Any]],
        delete_ids: Sequence[str] | None,
        clear: bool,
    ) -> SubtitleChange | None:
        """Check the subtitle part of a ModifyMediaInfo and stage the new files."""
        if not add and not delete_ids and not clear:
            return None
        if clear and add:
            raise _bad("ClearSubtitles and AddSubtitles cannot be in one request.")
        async with self.db.read() as conn:
            media = await media_q.get(conn, app_id, file_id)
        if media is None:
            raise VodError(
                "ResourceNotFound.FileNotExist", f"The media `{file_id[:32]}` does not exist."
            )
        asked = [a["Id"] for a in add if a.get("Id")]
        if len(set(asked)) != len(asked):
            raise _bad("AddSubtitles: two subtitles have the same Id.")
        if set(asked) & set(delete_ids or ()):
            raise _bad("An Id of AddSubtitles may not also be in DeleteSubtitleIds.")
        folder = media_dir(media["app_id"], media["file_id"], media["url_token"])
        checked = [await self._check(i, a, folder) for i, a in enumerate(add)]
        new: list[NewSubtitle] = []
        try:
            for row, data in checked:
                tmp = self.blobs.temp_path()
                await asyncio.to_thread(tmp.write_bytes, data)
                new.append(NewSubtitle(row, tmp))
        except BaseException:
            for n in new:
                n.tmp.unlink(missing_ok=True)
            raise
        return SubtitleChange(self, file_id, new, list(delete_ids or []) or None, clear)

    async def _check(
        self, index: int, item: Mapping[str, Any], folder: str
    ) -> tuple[dict[str, Any], bytes]:
        where = f"AddSubtitles.{index}"
        if not _LANGUAGE.match(item["Language"]):
            raise _bad(f"{where}.Language `{item['Language'][:35]}` is not an RFC 5646 tag.")
        content = item["Content"]
        if len(content) > 4 * ((MAX_SUBTITLE_BYTES + 2) // 3):
            raise _bad(f"{where}.Content is larger than {MAX_SUBTITLE_BYTES} bytes.")
        try:
            data = base64.b64decode(content, validate=True)
        except (binascii.Error, ValueError):
            raise _bad(f"{where}.Content is not valid Base64.") from None
        if len(data) > MAX_SUBTITLE_BYTES:
            raise _bad(f"{where}.Content is larger than {MAX_SUBTITLE_BYTES} bytes.")
        fmt = item["Format"]
        try:
            await asyncio.to_thread(st.parse, data, fmt)
        except st.SubtitleError as exc:
            kind = "WebVTT" if fmt == "vtt" else "SRT"
            raise VodError(
                "InvalidParameterValue.SubtitleFormat",
                f"{where}.Content is not {kind}: {exc.message}.",
            ) from None
        sid = item.get("Id") or ids.token(4)
        row = {
            "file_id": folder.split("/")[1],
            "subtitle_id": sid,
            "name": item["Name"],
            "language": item["Language"],
            "format": fmt,
            "blob_key": f"{folder}/subtitles/{sid}-{ids.token(4)}.{fmt}",
            "size": len(data),
            "create_time": now(),
        }
        return row, data

    async def forget_deleted(self, app_id: int, change: SubtitleChange) -> None:
        """After ModifyMediaInfo committed: detach deleted subtitles from the media's
        streams, then remove their files."""
        gone = {r["subtitle_id"] for r in change.deleted}
        if gone:
            async with self.db.read() as conn:
                outs = await media_q.outputs(conn, change.file_id)
            for out in outs:
                attached = {s["Id"] for s in out["info"].get("SubtitleSet") or []}
                if out["kind"] != ads.FAMILY.name or not attached & gone:
                    continue
                try:
                    await self.attach(
                        app_id, change.file_id, "Detach", out["definition"], sorted(attached & gone)
                    )
                except VodError as exc:  # re-made or changed meanwhile: nothing to undo
                    log.warning("detaching %s from %s: %s", gone, change.file_id, exc.message)
        for r in change.deleted:
            self.blobs.delete(r["blob_key"])

    # --- AttachMediaSubtitles ---------------------------------------------------------

    async def attach(
        self,
        app_id: int,
        file_id: str,
        operation: str,
        definition: int,
        subtitle_ids: Sequence[str],
        default_id: str | None = None,
    ) -> None:
        lock = self._locks.get((file_id, definition))
        if lock is None:
            lock = self._locks[(file_id, definition)] = asyncio.Lock()
        async with lock:
            await self._attach(app_id, file_id, operation, definition, subtitle_ids, default_id)

    async def _attach(
        self,
        app_id: int,
        file_id: str,
        operation: str,
        definition: int,
        subtitle_ids: Sequence[str],
        default_id: str | None,
    ) -> None:
        rows, out = await self._stream(app_id, file_id, definition)
        info = dict(out["info"])
        attached = [s["Id"] for s in info.get("SubtitleSet") or []]
        wanted = list(dict.fromkeys(subtitle_ids))
        after, default = _next_set(operation, rows, attached, wanted, info, default_id)
        master_key = next(
            (k for k in out["blob_keys"] if url_for(self.public_url, k) == info["Url"]), None
        )
        if master_key is None or not self.blobs.exists(master_key):
            raise VodError("FailedOperation", "The adaptive stream's files are missing.")
        master = self.blobs.path(master_key)
        folder = master_key.rsplit("/", 1)[0]

        def key(path: Path) -> str:
            return f"{folder}/{path.relative_to(master.parent).as_posix()}"

        # A subtitle deleted meanwhile (its row gone) leaves the stream here too.
        carried = [
            Carried(rows[s], self.blobs.path(rows[s]["blob_key"])) for s in after if s in rows
        ]
        fresh = [c for c in carried if c.id in wanted and c.id not in attached]
        dropped = [s for s in attached if s not in after]
        try:
            written = await asyncio.to_thread(write_tracks, master, fresh)
        except st.SubtitleError as exc:
            raise VodError(
                "FailedOperation", f"The subtitle cannot be carried: {exc.message}."
            ) from None
        doomed = [f for s in dropped for f in await asyncio.to_thread(st.track_files, master, s)]
        await asyncio.to_thread(name_tracks, master, carried, default)
        doomed_keys = {key(f) for f in doomed}
        keys = [k for k in out["blob_keys"] if k not in doomed_keys]
        keys += [k for k in (key(f) for f in written) if k not in keys]
        items = [subtitle_item(c.row, self.public_url) for c in carried]
        info.pop("SubtitleSet", None)
        info.pop("DefaultSubtitleId", None)
        if items:
            info["SubtitleSet"] = items
        if default:
            info["DefaultSubtitleId"] = default
        info["Size"] = int(info.get("Size") or 0) + _size(written) - _size(doomed)
        async with self.db.tx() as conn:
            if not await q.set_output(conn, out["id"], out["create_time"], info, keys):
                raise VodError(
                    "FailedOperation",
                    "The adaptive stream was re-made meanwhile; send the request again.",
                )
            await q.touch_media(conn, file_id)
        for f in doomed:
            f.unlink(missing_ok=True)

    async def _stream(
        self, app_id: int, file_id: str, definition: int
    ) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
        """The media's subtitle rows by id, and its adaptive stream of `definition`."""
        async with self.db.read() as conn:
            media = await media_q.get(conn, app_id, file_id)
            if media is None:
                raise VodError(
                    "ResourceNotFound.FileNotExist", f"The media `{file_id[:32]}` does not exist."
                )
            rows = {r["subtitle_id"]: r for r in await q.of_media(conn, file_id)}
            outs = await media_q.outputs(conn, file_id)
        for out in outs:
            if out["kind"] == ads.FAMILY.name and out["definition"] == definition:
                return rows, out
        if await self.templates.find(app_id, ads.FAMILY.name, definition) is None:
            raise VodError(
                "InvalidParameterValue.Definition",
                f"The AdaptiveDynamicStreaming template `{definition}` does not exist.",
            )
        raise VodError(
            "InvalidParameterValue.Definition",
            f"The media has no adaptive stream of template `{definition}` "
            "(run AdaptiveDynamicStreaming first).",
        )


def _next_set(
    operation: str,
    rows: Mapping[str, Any],
    attached: list[str],
    wanted: list[str],
    info: Mapping[str, Any],
    default_id: str | None,
) -> tuple[list[str], str | None]:
    """The stream's subtitle ids and default after Attach or Detach of `wanted`."""
    if operation == "Attach":
        for sid in wanted:
            if sid not in rows:
                raise _bad(f"SubtitleIds: the media has no subtitle `{sid}`.")
        after = attached + [s for s in wanted if s not in attached]
    else:
        for sid in wanted:
            if sid not in attached:
                raise _bad(f"SubtitleIds: the subtitle `{sid}` is not attached to the stream.")
        after = [s for s in attached if s not in wanted]
    # Left out, the stream keeps its default while that is still attached.
    default = default_id or info.get("DefaultSubtitleId")
    if default is not None and default not in after:
        if default_id is not None:
            raise _bad(f"DefaultSubtitleId `{default_id}` is not among the stream's subtitles.")
        default = None
    return after, default


def _size(files: Sequence[Path]) -> int:
    return sum(f.stat().st_size for f in files if f.exists())
