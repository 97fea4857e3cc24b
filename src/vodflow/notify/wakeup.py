"""Wake-ups after commit: a held PullEvents, or the push relay, learns of new events at once.

`core.events.emit` adds the application id to `conn.info[PENDING_KEY]` inside the
transaction. The engine's "commit" listener moves that set aside, and the pool's
"checkin" listener (which runs after the commit has reached the database) hands it
to the hub, so a woken reader always sees the rows. A rollback drops the set.

The hub only knows application ids; where they come from is a backend. The local
backend (this process's own commits) is all the embedded deployment needs. On
PostgreSQL, `notify.pg_wakeup.PgWakeup` adds the other processes (API replicas,
Celery workers): each commit that wrote events also sends a NOTIFY, and every
replica's LISTEN task calls `Hub.notify` for them (`pg_wakeup.wakeup_backend`
picks the backend from the database URL).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol

from sqlalchemy import event
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from vodflow.store.events import PENDING_KEY

COMMITTED_KEY = "vodflow.committed_events"


class Hub:
    """Waiters per application, plus listeners for every application (the relay)."""

    def __init__(self) -> None:
        self._waiters: dict[int, set[asyncio.Event]] = {}
        self._listeners: list[Callable[[set[int]], None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    @contextlib.contextmanager
    def waiter(self, app_id: int) -> Iterator[asyncio.Event]:
        """An Event set by the next commit of an event of `app_id`; register before reading."""
        ev = asyncio.Event()
        self._waiters.setdefault(app_id, set()).add(ev)
        try:
            yield ev
        finally:
            group = self._waiters.get(app_id)
            if group is not None:
                group.discard(ev)
                if not group:
                    del self._waiters[app_id]

    def waiting(self, app_id: int) -> bool:
        return bool(self._waiters.get(app_id))

    def wake_waiters(self, app_id: int) -> None:
        """Wake the waiters of one application only (not the listeners)."""
        for ev in self._waiters.get(app_id, ()):
            ev.set()

    def listen(self, callback: Callable[[set[int]], None]) -> None:
        self._listeners.append(callback)

    def notify(self, app_ids: Iterable[int]) -> None:
        """Wake everyone waiting for these applications (call on the hub's loop)."""
        ids = set(app_ids)
        for app_id in ids:
            for ev in self._waiters.get(app_id, ()):
                ev.set()
        for callback in self._listeners:
            callback(ids)

    def notify_threadsafe(self, app_ids: Iterable[int]) -> None:
        loop = self._loop
        ids = set(app_ids)
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self.notify(ids)
        else:
            loop.call_soon_threadsafe(self.notify, ids)


class WakeupBackend(Protocol):
    """Where commit notices come from; `attach` wires them into the hub."""

    def attach(self, engine: AsyncEngine, hub: Hub) -> None: ...


class LocalBackend:
    """This process's own commits, from SQLAlchemy engine and pool events."""

    def attach(self, engine: AsyncEngine, hub: Hub) -> None:
        sync_engine = engine.sync_engine

        @event.listens_for(sync_engine, "commit")
        def _on_commit(conn: Any) -> None:
            pending = conn.info.pop(PENDING_KEY, None)
            if pending:
                conn.info.setdefault(COMMITTED_KEY, set()).update(pending)

        @event.listens_for(sync_engine, "rollback")
        def _on_rollback(conn: Any) -> None:
            # Never raise here: an exception in this hook aborts the rollback itself
            # and leaves SQLite's write lock held. An invalidated connection has no
            # reachable info; its stale ids would only cause a harmless extra wake-up.
            with contextlib.suppress(SQLAlchemyError):
                conn.info.pop(PENDING_KEY, None)

        @event.listens_for(sync_engine, "checkin")
        def _on_checkin(_dbapi_conn: Any, record: Any) -> None:
            committed = record.info.pop(COMMITTED_KEY, None)
            if committed:
                hub.notify_threadsafe(committed)
