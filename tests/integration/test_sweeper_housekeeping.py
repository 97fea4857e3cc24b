"""The sweeper's housekeeping forgets expired credentials (every ApplyUpload issues one)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

from tests.mediagen import make_video
from vodflow.app import build_services
from vodflow.config import Settings
from vodflow.core.credentials import token_digest
from vodflow.core.uploads import CREDENTIAL_S
from vodflow.runtime.sweeper import Sweeper
from vodflow.store import credentials as credentials_q
from vodflow.timeutil import now


async def _chunks(path: Path) -> AsyncIterator[bytes]:
    yield path.read_bytes()


async def test_a_committed_uploads_credential_is_gone_once_expired(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path / "data", secret_id="AKID" + "x" * 32, secret_key="k" * 32
    )
    services = await build_services(settings)  # background parts not started
    try:
        app_id = settings.app_id
        ticket = await services.uploads.apply(
            app_id,
            media_type="mp4",
            media_name="clip",
            cover_type=None,
            procedure=None,
            session_context=None,
            source_context=None,
            expire_time=None,
            class_id=None,
        )
        secret_id = ticket.credential.secret_id
        clip = make_video(tmp_path / "clip.mp4", duration=1, width=160, height=120)
        key = ticket.media_key
        session = {"session_key": token_digest(ticket.session_key)}
        await services.uploads.put_object(session, key, _chunks(clip))
        await services.uploads.commit(app_id, ticket.session_key)
        sweeper = Sweeper(services.db, services.blobs, services.executor, settings.lease_s)

        await sweeper.housekeep()  # still valid: kept
        async with services.db.read() as conn:
            assert await credentials_q.get(conn, secret_id) is not None
        assert await services.credentials.lookup(secret_id) is not None

        await sweeper.housekeep(at=now() + CREDENTIAL_S + 1)  # past its expiry: gone
        async with services.db.read() as conn:
            assert await credentials_q.get(conn, secret_id) is None
        assert await services.credentials.lookup(secret_id) is None
    finally:
        await services.db.close()
