"""Upload sessions: ApplyUpload, CommitUpload (the object writes: core/upload_objects.py).

ApplyUpload opens a session with object keys chosen here (never from user
input) and a temporary 'cos' credential good for that session only. The bytes
arrive through the COS-style endpoint (api/cos.py), which calls the storage
methods of ObjectStorage. CommitUpload turns the staged object into media
through the library.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
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
from vodflow.core.fault_kinds import COMMIT_UPLOAD_FAIL
from vodflow.core.faults import FaultBook, upload_error
from vodflow.core.library import LibraryService, MediaRecord, MediaRefused
from vodflow.core.media_info import normalise_media_type
from vodflow.core.task_options import FlowOptions
from vodflow.core.upload_objects import (
    KEY_PREFIX,
    ObjectStorage,
    commit_key,
    staging_key,
)
from vodflow.errors import VodError
from vodflow.owners import OWNER, owner_dead
from vodflow.status import UploadState
from vodflow.store import uploads as q
from vodflow.store.db import Database
from vodflow.timeutil import now, parse_iso

log = logging.getLogger("vodflow.uploads")

CREDENTIAL_S = 3600.0  # the TempCertificate, as Tencent's: about one hour
SESSION_S = 24 * 3600.0  # the VodSessionKey: commit within a day
COVER_TYPES = frozenset({"jpg", "jpeg", "png", "gif", "webp", "bmp"})
# How long a CommitUpload may run before a retry (on another replica) may take it
# over; a commit whose process died on this host is taken over at once.
COMMIT_CLAIM_S = 900.0


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


class UploadService(ObjectStorage):
    def __init__(
        self,
        db: Database,
        blobs: BlobStore,
        settings: Settings,
        library: LibraryService,
        credentials: CredentialService,
        apps: AppService,
        faults: FaultBook,
    ) -> None:
        self.db = db
        self.blobs = blobs
        self.settings = settings
        self.library = library
        self.credentials = credentials
        self.apps = apps
        self.faults = faults

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
        if self.faults.enabled:
            await upload_error(self.faults, COMMIT_UPLOAD_FAIL, app_id, {"Action": "CommitUpload"})
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
