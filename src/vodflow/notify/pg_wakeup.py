"""Wake-ups across processes through PostgreSQL LISTEN/NOTIFY (scaled deployment).

A PullEvents held by one API replica must wake when a Celery worker, or another
replica, commits an event of its application. The event's own INSERT carries
`pg_notify('vodflow_events', '<origin>:<app id>')` (store/events.py, offered the
notice by this backend: no round trip of its own before the commit); for the
applications a transaction marks without writing an event (`conn.info[PENDING_KEY]`,
a redelivery) this backend adds one just before the commit. PostgreSQL delivers a
NOTIFY only when (and only if) its transaction commits, so a woken reader always
finds the rows, and a rollback sends nothing.

Every process that runs the API keeps one dedicated connection LISTENing and hands
the application ids to its `Hub`; its own notices (same origin) are skipped, since
the local backend already woke it without the round trip. When the listening
connection drops, it reconnects and wakes every waiter once, because notices sent
meanwhile are lost (a spurious wake costs one empty read; a lost one, a whole wait).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from typing import Any

import asyncpg
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from vodflow.notify.wakeup import Hub, LocalBackend
from vodflow.periodic import cancel_and_wait
from vodflow.store.db import asyncpg_dsn
from vodflow.store.events import ANNOUNCE_KEY, ANNOUNCED_KEY, PENDING_KEY

log = logging.getLogger("vodflow.wakeup")

CHANNEL = "vodflow_events"
KEEPALIVE_S = 5.0
MAX_BACKOFF_S = 5.0
# NOTIFY payloads are limited to 8000 bytes; past this many ids, wake everyone.
MAX_IDS = 500
ALL = "*"


def encode(origin: str, app_ids: set[int]) -> str:
    body = ALL if len(app_ids) > MAX_IDS else ",".join(str(i) for i in sorted(app_ids))
    return f"{origin}:{body}"


def decode(payload: str) -> tuple[str, set[int] | None]:
    """(origin, app ids); None means every application."""
    origin, _, body = payload.partition(":")
    if body == ALL:
        return origin, None
    return origin, {int(x) for x in body.split(",") if x.strip().isdigit()}


class PgWakeup:
    """WakeupBackend for PostgreSQL; also a background part (start/stop its listener)."""

    def __init__(self, url: str, *, keepalive_s: float = KEEPALIVE_S) -> None:
        self.dsn = asyncpg_dsn(url)
        self.keepalive_s = keepalive_s
        self.origin = secrets.token_hex(8)
        self.hub: Hub | None = None
        self._task: asyncio.Task[None] | None = None
        self._listening = asyncio.Event()

    # ------------------------------------------------------------ sending

    def attach(self, engine: AsyncEngine, hub: Hub) -> None:
        self.hub = hub

        # An event's INSERT announces it itself (store/events.py): no round trip of
        # its own before the commit, which is what a waiter in another process waits on.
        @event.listens_for(engine.sync_engine.pool, "checkout")
        def _offer(_dbapi_conn: Any, record: Any, _proxy: Any) -> None:
            record.info[ANNOUNCE_KEY] = self._one

        @event.listens_for(engine.sync_engine, "begin")
        def _fresh(conn: Any) -> None:
            conn.info.pop(ANNOUNCED_KEY, None)

        # Registered before the local backend's listener, which takes the ids away.
        @event.listens_for(engine.sync_engine, "commit")
        def _announce(conn: Any) -> None:
            pending = conn.info.get(PENDING_KEY)
            announced = conn.info.pop(ANNOUNCED_KEY, None)
            rest = set(pending) - announced if pending and announced else pending
            if rest:  # marked without an INSERT of events (a redelivery)
                conn.exec_driver_sql(
                    "SELECT pg_notify($1, $2)", (CHANNEL, encode(self.origin, set(rest)))
                )

        LocalBackend().attach(engine, hub)

    def _one(self, app_id: int) -> tuple[str, str]:
        """The NOTIFY of one application's new event (store/events.ANNOUNCE_KEY)."""
        return CHANNEL, encode(self.origin, {app_id})

    # ------------------------------------------------------------ listening

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen(), name="vodflow-pg-listen")
        # Be listening before the replica reports ready (a failure keeps retrying).
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._listening.wait(), 10.0)

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None

    @property
    def listening(self) -> bool:
        return self._listening.is_set()

    async def _listen(self) -> None:
        backoff = 0.2
        connected_before = False
        while True:
            conn: asyncpg.Connection | None = None
            try:
                conn = await asyncpg.connect(self.dsn, timeout=10)
                await conn.add_listener(CHANNEL, self._on_notify)
                self._listening.set()
                if connected_before:
                    self._wake_all()  # notices sent while we were away are lost
                connected_before = True
                backoff = 0.2
                while True:
                    await asyncio.sleep(self.keepalive_s)
                    await asyncio.wait_for(conn.execute("SELECT 1"), self.keepalive_s)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._listening.clear()
                log.warning("LISTEN connection lost (%s); retrying in %.1f s", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(MAX_BACKOFF_S, backoff * 2)
            finally:
                if conn is not None:
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(conn.close(), 2.0)

    def _on_notify(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        if self.hub is None:
            return
        try:
            origin, ids = decode(payload)
        except ValueError:
            return
        if origin == self.origin:
            return
        if ids is None:
            self._wake_all()
        elif ids:
            self.hub.notify(ids)

    def _wake_all(self) -> None:
        if self.hub is not None:
            # Every application someone waits for; the hub's listeners (relay) as well.
            self.hub.notify(set(getattr(self.hub, "_waiters", {})) or {0})


class LocalWakeup(LocalBackend):
    """The embedded deployment's backend with the same start/stop as PgWakeup."""

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None


def wakeup_backend(database_url: str) -> PgWakeup | LocalWakeup:
    """LISTEN/NOTIFY on PostgreSQL (several processes); in-process hooks on SQLite."""
    if make_url(database_url).get_backend_name() == "postgresql":
        return PgWakeup(database_url)
    return LocalWakeup()
