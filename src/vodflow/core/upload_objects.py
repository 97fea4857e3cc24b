"""The object writes of upload sessions: the storage half of UploadService.

The COS-style endpoint (api/cos.py) calls these: objects stream to a temporary
file and move into place, so a reader never sees half an object and memory never
holds a whole one; multipart parts wait in the session's staging folder until
they are joined. A write is accepted only while its session is open (the
session row's lock, which CommitUpload's claim takes too).
"""

from __future__ import annotations

import asyncio
import hashlib
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
from vodflow.core.credentials import Credential
from vodflow.errors import VodError
from vodflow.status import UploadState
from vodflow.store import uploads as q
from vodflow.store.db import Database
from vodflow.timeutil import now

MAX_PARTS = 10000
KEY_PREFIX = "upload/"
STAGING_PREFIX = "uploads/"
COMMIT_DIR = ".commit"
_WRITE_CHUNK = 1024 * 1024
_PART_RE = re.compile(r"^(\d{1,5})\.([0-9a-f]{32})$")


class StorageError(Exception):
    """An object-storage refusal: a COS error code and the HTTP status it goes with."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Part:
    number: int
    etag: str  # quoted hex MD5, as COS answers it
    size: int
    mtime: float


class ObjectStorage:
    """The object-storage half of UploadService (a mixin: it shares its state)."""

    db: Database
    blobs: BlobStore
    settings: Settings
    apps: AppService

    @property
    def max_bytes(self) -> int:
        return self.settings.max_upload_bytes

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
