"""Upload sessions: ApplyUpload, the object-storage writes, CommitUpload.

ApplyUpload opens a session with object keys chosen here (never from user
input) and a temporary 'cos' credential good for that session only. The bytes
arrive through the COS-style endpoint (api/cos.py), which calls the storage
methods below; they stream to a temporary file and move it into place, so a
reader never sees half an object and memory never holds a whole one.
CommitUpload turns the staged object into media through the library.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import re
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vodflow import ids
from vodflow.blobstore import BlobStore
from vodflow.config import Settings
from vodflow.core.apps import AppService
from vodflow.core.credentials import (
    DIGEST_PREFIX,
    Credential,
    CredentialService,
    token_digest,
)
from vodflow.core.library import LibraryService, MediaRecord, MediaRefused
from vodflow.core.media_info import normalise_media_type
from vodflow.core.task_options import FlowOptions
from vodflow.errors import VodError
from vodflow.owners import OWNER, owner_dead
from vodflow.status import UploadState
from vodflow.store import uploads as q
from vodflow.store.db import Database
from vodflow.timeutil import now, parse_iso

log = logging.getLogger("vodflow.uploads")

CREDENTIAL_S = 3600.0  # the TempCertificate, as Tencent's: about one hour
SESSION_S = 24 * 3600.0  # the VodSessionKey: commit within a day
MAX_PARTS = 10000
COVER_TYPES = frozenset({"jpg", "jpeg", "png", "gif", "webp", "bmp"})
KEY_PREFIX = "upload/"
STAGING_PREFIX = "uploads/"
_WRITE_CHUNK = 1024 * 1024
# How long a CommitUpload may run before a retry (on another replica) may take it
# over; a commit whose process died on this host is taken over at once.
COMMIT_CLAIM_S = 900.0
COMMIT_DIR = ".commit"
_PART_RE = re.compile(r"^(\d{1,5})\.([0-9a-f]{32})$")


class StorageError(Exception):
    """An object-storage refusal: a COS error code and the HTTP status it goes with."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message


def bad_session() -> VodError:
    return VodError(
        "InvalidParameterValue.VodSessionKey",
        "The VodSessionKey is unknown, expired, already committed or of another application.",
    )


@dataclass(frozen=True)
class UploadTicket:
    """What ApplyUpload hands out: the session, its object keys and its credential."""

    app_id: int
    session_key: str
    media_key: str
    cover_key: str | None
    credential: Credential


@dataclass(frozen=True)
class Part:
    number: int
    etag: str  # quoted hex MD5, as COS answers it
    size: int
    mtime: float


class UploadService:
    def __init__(
        self,
        db: Database,
        blobs: BlobStore,
        settings: Settings,
        library: LibraryService,
        credentials: CredentialService,
        apps: AppService,
    ) -> None:
        self.db = db
        self.blobs = blobs
        self.settings = settings
        self.library = library
        self.credentials = credentials
        self.apps = apps

    @property
    def max_bytes(self) -> int:
        return self.settings.max_upload_bytes

    # --- ApplyUpload / CommitUpload -------------------------------------------

    async def apply(
        self,
        app_id: int,
        *,
        media_type: str,
        media_name: str | None,
        cover_type: str | None,
        procedure: str | None,
        session_context: str | None,
        source_context: str | None,
        expire_time: str | None,
        class_id: int | None,
        task_priority: int | None = None,
        task_notify_mode: str | None = None,
    ) -> UploadTicket:
        media_type = normalise_media_type(media_type)
        cover = None
        if cover_type:
            cover = cover_type.strip().lower().lstrip(".")
            if cover not in COVER_TYPES:
                raise VodError(
                    "InvalidParameterValue.CoverType",
                    f"CoverType must be one of {', '.join(sorted(COVER_TYPES))}.",
                )
        expires = parse_expire_time(expire_time)
        FlowOptions.of(  # checked now, used at commit
            priority=task_priority, notify_mode=task_notify_mode, session_context=session_context
        )
        await self.library.check_procedure(app_id, procedure)
        await self.library.check_class(app_id, class_id)

        session_key = ids.token(32)
        stored_key = token_digest(session_key)  # the database keeps only the digest
        folder = f"{KEY_PREFIX}{ids.token(12)}"
        media_key = f"{folder}/{ids.token(6)}.{media_type}"
        cover_key = f"{folder}/cover.{cover}" if cover else None
        cred = await self.credentials.issue(
            scope="cos", duration_s=CREDENTIAL_S, app_id=app_id, session_key=stored_key
        )
        t = now()
        async with self.db.tx() as conn:
            await q.add_session(
                conn,
                session_key=stored_key,
                app_id=app_id,
                media_type=media_type,
                media_name=media_name or "",
                cover_type=cover,
                procedure=procedure or None,
                session_context=session_context or None,
                source_context=source_context or None,
                class_id=class_id or 0,
                media_expire_time=expires,
                task_priority=task_priority,
                task_notify_mode=task_notify_mode,
                media_key=media_key,
                cover_key=cover_key,
                state=UploadState.PENDING,
                create_time=t,
                expires_at=t + SESSION_S,
            )
        return UploadTicket(app_id, session_key, media_key, cover_key, cred)

    async def resume(self, app_id: int, vod_session_key: str) -> UploadTicket:
        """A fresh credential for an open session (a client resuming an upload)."""
        session_key = token_digest(vod_session_key)
        async with self.db.read() as conn:
            session = await q.get_session(conn, session_key)
        if (
            session is None
            or session["app_id"] != app_id
            or session["expires_at"] < now()
            or session["state"] != UploadState.PENDING
        ):
            raise bad_session()
        cred = await self.credentials.issue(
            scope="cos", duration_s=CREDENTIAL_S, app_id=app_id, session_key=session_key
        )
        return UploadTicket(
            app_id, vod_session_key, session["media_key"], session["cover_key"], cred
        )

    async def commit(self, app_id: int, vod_session_key: str) -> MediaRecord:
        """Make the uploaded object media; a session commits at most once.

        The commit is claimed first (state COMMITTING, with its owner and a deadline):
        writes to the session stop there (`_place_object`). Then the staged objects
        are set aside (`.commit/` of the session's folder) and that very file is
        probed and linked into the library, so a late write cannot swap the bytes
        after the probe. A commit cut short (kill -9) leaves its claim and the set-aside
        file: a retry takes over once its owner is gone or its claim expired.
        """
        t = now()
        async with self.db.tx() as conn:
            session_key = token_digest(vod_session_key)
            session = await q.get_session(conn, session_key)
            if session is None and not vod_session_key.startswith(DIGEST_PREFIX):
                # A session opened before keys were stored as digests (at most 24 h).
                session_key = vod_session_key
                session = await q.get_session(conn, session_key)
            if session is None or session["app_id"] != app_id or session["expires_at"] < t:
                raise bad_session()
            stale = session["commit_owner"] if owner_dead(session["commit_owner"]) else None
            if not await q.claim_commit(
                conn, session_key, OWNER, t + COMMIT_CLAIM_S, t, stale_owner=stale
            ):
                raise bad_session()
        media_path = await asyncio.to_thread(self._set_aside, session["media_key"])
        if media_path is None:
            await self._unclaim(session_key, UploadState.PENDING)
            raise VodError(
                "ResourceNotFound.FileNotExist",
                f"Nothing was uploaded to /{session['media_key']} yet; upload it, then commit.",
            )
        cover_path = None
        if session["cover_key"]:
            cover_path = await asyncio.to_thread(self._set_aside, session["cover_key"])

        async def mark_committed(conn: Any, record: MediaRecord) -> None:
            if not await q.transition(
                conn,
                session_key,
                UploadState.COMMITTING,
                UploadState.COMMITTED,
                file_id=record.file_id,
                commit_owner=None,
                commit_until=None,
                owner=OWNER,
            ):
                raise bad_session()  # taken over meanwhile: that commit wins

        try:
            record = await self.library.add_media(
                app_id,
                media_path,
                name=session["media_name"],
                media_type=session["media_type"],
                class_id=session["class_id"],
                expire_time=session["media_expire_time"],
                source_info={
                    "SourceType": "Upload",
                    "SourceContext": session["source_context"] or "",
                },
                cover_src=cover_path,
                procedure=session["procedure"],
                flow_options=FlowOptions.of(
                    priority=session["task_priority"],
                    notify_mode=session["task_notify_mode"],
                    session_context=session["session_context"],
                ),
                conn_hook=mark_committed,
                link=True,
            )
        except MediaRefused:
            # Refused bytes are not kept: the session ends and its objects go.
            await self._unclaim(session_key, UploadState.FAILED)
            self.drop_staging(session["media_key"])
            raise
        except BaseException:
            await asyncio.shield(self._give_back(session, session_key))
            raise
        self.drop_staging(session["media_key"])
        return record

    async def _give_back(self, session: dict[str, Any], session_key: str) -> None:
        """After a failed commit: the objects back in place, the session open again;
        unless another commit took the claim over meanwhile (its files, then)."""
        async with self.db.read() as conn:
            row = await q.get_session(conn, session_key)
        if row is None or row["commit_owner"] != OWNER:
            return
        for key in (session["media_key"], session["cover_key"]):
            if key:
                await asyncio.to_thread(self._put_back, key)
        await self._unclaim(session_key, UploadState.PENDING)

    async def _unclaim(self, session_key: str, to_state: str) -> None:
        async with self.db.tx() as conn:
            await q.transition(
                conn,
                session_key,
                UploadState.COMMITTING,
                to_state,
                commit_owner=None,
                commit_until=None,
                owner=OWNER,
            )

    def _set_aside(self, object_key: str) -> Path | None:
        """Move a staged object where no write reaches it; the file the commit uses.

        A newer object (written before the commit was claimed) replaces one set aside
        by an earlier, interrupted commit.
        """
        aside = self.blobs.path(commit_key(object_key))
        staged = self.blobs.path(staging_key(object_key))
        if staged.is_file():
            aside.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged, aside)
        return aside if aside.is_file() else None

    def _put_back(self, object_key: str) -> None:
        """Undo `_set_aside` after a failed commit, unless a newer object is staged."""
        aside = self.blobs.path(commit_key(object_key))
        staged = self.blobs.path(staging_key(object_key))
        with contextlib.suppress(OSError):
            if aside.is_file() and not staged.exists():
                os.replace(aside, staged)

    def drop_staging(self, media_key: str) -> None:
        """Remove every staged object and part of a session's folder."""
        folder = staging_key(media_key).rsplit("/", 1)[0]
        self.blobs.delete_prefix(folder)

    async def sweep(self) -> int:
        """Forget sessions past their expiry, with whatever they staged."""
        async with self.db.read() as conn:
            stale = await q.expired_sessions(conn, now())
        for session in stale:
            self.drop_staging(session["media_key"])
            async with self.db.tx() as conn:
                await q.remove_session(conn, session["session_key"])
        return len(stale)

    # --- object storage ------------------------------------------------------

    async def session_for(self, credential: Credential, key: str) -> dict[str, Any]:
        """The open session a 'cos' credential may write `key` of, or a refusal."""
        if credential.scope != "cos" or not credential.session_key:
            raise StorageError(403, "AccessDenied", "This credential cannot write objects.")
        async with self.db.read() as conn:
            session = await q.get_session(conn, credential.session_key)
        if session is None or session["expires_at"] < now():
            raise StorageError(403, "AccessDenied", "The upload session has expired.")
        if session["state"] != UploadState.PENDING:
            raise StorageError(403, "AccessDenied", "The upload session is already committed.")
        await self.check_app(session["app_id"])
        if key not in {session["media_key"], session["cover_key"]}:
            raise StorageError(
                403, "AccessDenied", "This credential is not good for this object key."
            )
        return session

    async def check_app(self, app_id: int) -> None:
        """A disabled (or destroyed) application accepts no bytes, as it takes no calls."""
        try:
            await self.apps.resolve(app_id)
        except VodError:
            raise StorageError(
                403, "AccessDenied", f"The application {app_id} is disabled."
            ) from None

    async def put_object(
        self, session: dict[str, Any], key: str, chunks: AsyncIterator[bytes]
    ) -> tuple[str, int]:
        """Simple PUT: the whole object in one request. Returns (quoted ETag, size)."""
        limit = self.limit_for(key)
        tmp, size, md5 = await self._receive(chunks, limit)
        await self._place_object(session, tmp, key)
        return f'"{md5}"', size

    async def _place_object(self, session: dict[str, Any], tmp: Path, key: str) -> None:
        """Put a received object in place, only while its session is still open.

        Checked and moved under the session row's lock, which CommitUpload's claim
        takes too: a write that ends after the commit started is refused, never
        swapped in under the commit's probe.
        """
        try:
            async with self.db.tx() as conn:
                if await q.lock_state(conn, session["session_key"]) != UploadState.PENDING:
                    raise StorageError(
                        403, "AccessDenied", "The upload session is already committed."
                    )
                await asyncio.to_thread(self.blobs.commit, tmp, staging_key(key))
        finally:
            tmp.unlink(missing_ok=True)

    async def head_object(self, key: str) -> tuple[int, str, float] | None:
        path = self.blobs.path(staging_key(key))
        if not path.is_file():
            return None
        md5 = await asyncio.to_thread(_file_md5, path)
        stat = path.stat()
        return stat.st_size, f'"{md5}"', stat.st_mtime

    async def initiate(self, session: dict[str, Any], key: str) -> str:
        upload_id = ids.token(16)
        async with self.db.tx() as conn:
            await q.add_multipart(
                conn,
                upload_id=upload_id,
                session_key=session["session_key"],
                object_key=key,
                create_time=now(),
            )
        return upload_id

    async def multipart(self, session: dict[str, Any], key: str, upload_id: str) -> dict[str, Any]:
        async with self.db.read() as conn:
            row = await q.get_multipart(conn, upload_id[:64], session["session_key"])
        if row is None or row["object_key"] != key:
            raise StorageError(404, "NoSuchUpload", "The multipart upload does not exist.")
        return row

    async def list_uploads(self, credential: Credential) -> list[dict[str, Any]]:
        """The multipart uploads in progress of a 'cos' credential's session."""
        if credential.scope != "cos" or not credential.session_key:
            return []
        if credential.app_id is not None:
            await self.check_app(credential.app_id)
        async with self.db.read() as conn:
            return await q.list_multipart(conn, credential.session_key)

    async def put_part(
        self, key: str, upload_id: str, number: int, chunks: AsyncIterator[bytes]
    ) -> str:
        if not 1 <= number <= MAX_PARTS:
            raise StorageError(400, "InvalidArgument", f"partNumber must be 1..{MAX_PARTS}.")
        folder = self._parts_dir(key, upload_id)
        others = sum(p.size for p in self.parts(key, upload_id) if p.number != number)
        limit = self.limit_for(key) - others
        if limit < 0:
            raise StorageError(400, "EntityTooLarge", "The upload exceeds the maximum size.")
        tmp, _size, md5 = await self._receive(chunks, limit)
        for old in self.parts(key, upload_id):
            if old.number == number:
                self.blobs.delete(f"{folder}/{old.number}.{old.etag.strip(chr(34))}")
        await asyncio.to_thread(self.blobs.commit, tmp, f"{folder}/{number}.{md5}")
        return f'"{md5}"'

    def parts(self, key: str, upload_id: str) -> list[Part]:
        folder = self.blobs.path(self._parts_dir(key, upload_id))
        found: list[Part] = []
        if not folder.is_dir():
            return found
        for entry in os.scandir(folder):
            m = _PART_RE.match(entry.name)
            if m and entry.is_file():
                stat = entry.stat()
                found.append(Part(int(m[1]), f'"{m[2]}"', stat.st_size, stat.st_mtime))
        return sorted(found, key=lambda p: p.number)

    async def complete(
        self, session: dict[str, Any], key: str, upload_id: str, wanted: list[tuple[int, str]]
    ) -> tuple[str, int]:
        """Join the listed parts, in order, into the object. Returns (ETag, size)."""
        if not wanted:
            raise StorageError(400, "MalformedXML", "The part list is empty.")
        numbers = [n for n, _ in wanted]
        if numbers != sorted(set(numbers)):
            raise StorageError(400, "InvalidPartOrder", "Parts must be listed in ascending order.")
        have = {p.number: p for p in self.parts(key, upload_id)}
        folder = self._parts_dir(key, upload_id)
        paths: list[Path] = []
        digests = hashlib.md5(usedforsecurity=False)
        for number, etag in wanted:
            part = have.get(number)
            if part is None or part.etag.strip('"') != etag.strip().strip('"').lower():
                raise StorageError(400, "InvalidPart", f"Part {number} is missing or differs.")
            paths.append(self.blobs.path(f"{folder}/{number}.{part.etag.strip(chr(34))}"))
            digests.update(bytes.fromhex(part.etag.strip('"')))
        if sum(have[n].size for n in numbers) > self.limit_for(key):
            # Parts sent at the same time each fit, their sum does not: this upload
            # can never complete, so it goes with its parts rather than wait for the
            # session sweeper.
            await self.abort(key, upload_id)
            raise StorageError(400, "EntityTooLarge", "The upload exceeds the maximum size.")
        tmp = self.blobs.temp_path()
        try:
            size = await asyncio.to_thread(_concat, paths, tmp)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        await self._place_object(session, tmp, key)
        await self.abort(key, upload_id)
        return f'"{digests.hexdigest()}-{len(wanted)}"', size

    async def abort(self, key: str, upload_id: str) -> None:
        self.blobs.delete_prefix(self._parts_dir(key, upload_id))
        async with self.db.tx() as conn:
            await q.remove_multipart(conn, upload_id)

    def limit_for(self, key: str) -> int:
        # Covers are images: a far smaller bound than media.
        return min(self.max_bytes, 10 * 1024 * 1024) if "/cover." in key else self.max_bytes

    def _parts_dir(self, key: str, upload_id: str) -> str:
        folder = staging_key(key).rsplit("/", 1)[0]
        return f"{folder}/parts/{upload_id}"

    async def _receive(self, chunks: AsyncIterator[bytes], limit: int) -> tuple[Path, int, str]:
        """Stream to a temporary file, refusing more than `limit` bytes."""
        tmp = self.blobs.temp_path()
        digest = hashlib.md5(usedforsecurity=False)
        size = 0
        buf = bytearray()
        try:
            with open(tmp, "wb") as fh:
                async for chunk in chunks:
                    size += len(chunk)
                    if size > limit:
                        raise StorageError(
                            400,
                            "EntityTooLarge",
                            f"The object exceeds the maximum upload size of {limit} bytes.",
                        )
                    buf += chunk
                    if len(buf) >= _WRITE_CHUNK:
                        await asyncio.to_thread(_write, fh, digest, bytes(buf))
                        buf.clear()
                if buf:
                    await asyncio.to_thread(_write, fh, digest, bytes(buf))
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return tmp, size, digest.hexdigest()


def staging_key(object_key: str) -> str:
    """Blob key where an object of an upload session waits for CommitUpload."""
    return STAGING_PREFIX + object_key.removeprefix(KEY_PREFIX)


def commit_key(object_key: str) -> str:
    """Blob key where CommitUpload sets an object aside (beyond any write's reach)."""
    folder, _, name = staging_key(object_key).rpartition("/")
    return f"{folder}/{COMMIT_DIR}/{name}"


def parse_expire_time(value: str | None) -> float | None:
    if not value:
        return None
    try:
        expires = parse_iso(value, "ExpireTime")
    except VodError:
        raise VodError(
            "InvalidParameterValue.ExpireTime",
            "ExpireTime must be ISO 8601, e.g. 2030-01-01T00:00:00Z.",
        ) from None
    if expires <= now():
        raise VodError("InvalidParameterValue.ExpireTime", "ExpireTime must be in the future.")
    return expires


def _write(fh: Any, digest: Any, data: bytes) -> None:
    fh.write(data)
    digest.update(data)


def _concat(paths: list[Path], dest: Path) -> int:
    size = 0
    with open(dest, "wb") as out:
        for path in paths:
            with open(path, "rb") as src:
                shutil.copyfileobj(src, out, _WRITE_CHUNK)
            size += path.stat().st_size
    return size


def _file_md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as fh:
        while chunk := fh.read(_WRITE_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
