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
    """Waiters per application, plus listeners for every application (the relay).

    A commit wakes ONE waiter of its application (the oldest not yet woken), not all
    of them: with thousands of PullEvents held, waking them all would make every one
    of them claim at once to find, all but one, nothing. The woken waiter hands the
    wake on when it may not have taken everything there is: it leaves with a wake it
    did not act on (timed out, cancelled, or woken again while claiming), or it took
    a full batch (`wake_one` from the queue). Listeners (the push relay) are all
    called for every notice.
    """

    def __init__(self) -> None:
        # Per application, its waiters oldest first (a dict as an ordered set).
        self._waiters: dict[int, dict[asyncio.Event, None]] = {}
        self._listeners: list[Callable[[set[int]], None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    @contextlib.contextmanager
    def waiter(self, app_id: int) -> Iterator[asyncio.Event]:
        """An Event set by a commit of an event of `app_id`; register before reading.

        The holder clears it before each read; if it is set when the holder leaves,
        the wake was not acted on and goes to the next waiter.
        """
        ev = asyncio.Event()
        self._waiters.setdefault(app_id, {})[ev] = None
        try:
            yield ev
        finally:
            group = self._waiters.get(app_id)
            if group is not None:
                group.pop(ev, None)
                if not group:
                    del self._waiters[app_id]
            if ev.is_set():
                self.wake_one(app_id)

    def waiting(self, app_id: int) -> bool:
        return bool(self._waiters.get(app_id))

    def wake_one(self, app_id: int) -> None:
        """Wake the oldest waiter of `app_id` not already woken (none if all are)."""
        for ev in self._waiters.get(app_id, ()):
            if not ev.is_set():
                ev.set()
                return

    def wake_waiters(self, app_id: int) -> None:
        """A wake for the waiters of one application only (not the listeners)."""
        self.wake_one(app_id)

    def notify(self, app_ids: Iterable[int]) -> None:
        """Wake a waiter of each of these applications, and every listener (on the hub's loop)."""
        ids = set(app_ids)
        for app_id in ids:
            self.wake_one(app_id)
        for callback in self._listeners:
            callback(ids)

    def listen(self, callback: Callable[[set[int]], None]) -> None:
        self._listeners.append(callback)

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
