"""The database handle: one engine, write transactions, read connections.

SQLite (the embedded default) runs in WAL mode so readers never wait for the
writer; writes from this process are serialised by an asyncio lock instead of by
SQLite's busy-waiting, which keeps latency flat under concurrent requests (with a
fast lane for the event queues' inline statements: store/writelock.py).
PostgreSQL needs no such lock: row claims there use FOR UPDATE SKIP LOCKED.

Short reads of the hot API actions (`Database.read_inline`) run on SQLite without
aiosqlite: the same SQLAlchemy statements, compiled once, execute on the event
loop's thread over a plain sqlite3 connection (store/inline.py). The short write
transactions of a task flow's life (`Database.tx_inline`: starting it, claiming a
subtask, recording its end) likewise run on the event loop's thread, through
SQLAlchemy's synchronous pysqlite driver: the same statements, types and hooks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import CursorResult, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.util import await_

from vodflow.store import inline
from vodflow.store.inline import InlineReader
from vodflow.store.writelock import WriteLock

log = logging.getLogger("vodflow.store")


# Idle inline connections kept for the next read (more are opened when reads overlap).
INLINE_IDLE_MAX = 8


class InlineWriter:
    """A write transaction on the event loop's thread (SQLite): the part of
    AsyncConnection the store's functions use, over a synchronous Connection.

    Through aiosqlite each statement of a transaction costs four hops to its worker
    thread (cursor, execute, fetch, close); on a busy 2-core machine a hop can cost a
    GIL switch interval, so a flow's dozen statements cost milliseconds of waiting
    and thread switches. Here a statement costs SQLAlchemy's execution and SQLite's.
    """

    def __init__(self, conn: Connection) -> None:
        self.sync = conn

    @property
    def dialect(self) -> Any:
        return self.sync.dialect

    @property
    def info(self) -> dict[Any, Any]:
        return self.sync.info

    async def execute(self, statement: Any, parameters: Any = None) -> CursorResult[Any]:
        return self.sync.execute(statement, parameters)


# What the store's functions accept: any connection reads, a transaction writes.
Reader = AsyncConnection | InlineReader | InlineWriter
Writer = AsyncConnection | InlineWriter


class Database:
    def __init__(self, url: str, *, pool_size: int = 5, max_overflow: int = 15) -> None:
        self.url = url
        self.pool_size = pool_size
        self.is_sqlite = url.startswith("sqlite")
        self.engine: AsyncEngine = _make_engine(url, pool_size, max_overflow)
        self._write_lock = WriteLock() if self.is_sqlite else None
        self._inline_path = _inline_path(url) if self.is_sqlite else None
        self._inline_idle: list[sqlite3.Connection] = []
        self._inline_engine = (
            _inline_engine(self._inline_path, self.engine) if self._inline_path else None
        )

    @asynccontextmanager
    async def tx(self) -> AsyncIterator[AsyncConnection]:
        """One write transaction: committed on success, rolled back on error."""
        async with self.write_lock():
            conn = await self.engine.connect()
            try:
                trans = await conn.begin()
                try:
                    yield conn
                except BaseException:
                    # Shielded: a task cancelled mid-transaction must still roll back,
                    # or SQLite's write lock stays with an idle pooled connection.
                    await asyncio.shield(_quietly(trans.rollback()))
                    raise
                await trans.commit()
            finally:
                await asyncio.shield(_quietly(conn.close()))

    @asynccontextmanager
    async def tx_inline(self) -> AsyncIterator[Writer]:
        """A short write transaction run on the event loop's thread (SQLite), else `tx`.

        For the few indexed statements of a flow's hot path only (start, claim,
        finish): nothing else runs on the loop while they execute. Same write lock,
        same statements, and the same commit hooks as `tx` (see `_inline_engine`).
        """
        if self._inline_engine is None:
            async with self.tx() as conn:
                yield conn
            return
        async with self.write_lock():
            with self._inline_engine.connect() as sync:
                trans = sync.begin()
                try:
                    yield InlineWriter(sync)
                except BaseException:
                    trans.rollback()
                    raise
                trans.commit()

    def write_lock(self, *, urgent: bool = False) -> contextlib.AbstractAsyncContextManager[Any]:
        """This process's SQLite write lock (nothing on PostgreSQL); `urgent` goes first.

        Held by `tx`, and around the inline statements of the event queues, which
        take it urgent (store/writelock.py).
        """
        if self._write_lock is None:
            return contextlib.nullcontext()
        return self._write_lock.hold(urgent=urgent)

    @property
    def sqlite_path(self) -> str:
        return str(self.engine.url.database)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.connect() as conn:
            yield conn

    def read_inline(self) -> contextlib.AbstractAsyncContextManager[Reader]:
        """A short read: inline on SQLite (`InlineReader`), else the same as `read`.

        For the cheap lookups of hot API actions only (a few indexed rows): the
        statements run on the event loop's thread, so a long scan would stall it.
        """
        if self._inline_path is None:
            return self.engine.connect()
        return _InlineRead(self._inline_idle, self._inline_path)

    async def close(self) -> None:
        while self._inline_idle:
            self._inline_idle.pop().close()
        if self._inline_engine is not None:
            self._inline_engine.dispose()
        await self.engine.dispose()


class _InlineRead:
    """`read_inline` on SQLite: an idle connection (or a new one), returned after the
    read (a class, not a generator: this runs on every API request)."""

    __slots__ = ("idle", "path", "raw", "reader")

    def __init__(self, idle: list[sqlite3.Connection], path: str) -> None:
        self.idle = idle
        self.path = path

    async def __aenter__(self) -> InlineReader:
        self.raw = self.idle.pop() if self.idle else inline.connect(self.path)
        self.reader = InlineReader(self.raw)
        return self.reader

    async def __aexit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        if exc_type is None:
            try:
                self.reader.end()  # ends the snapshot: the next read sees later commits
            except BaseException:
                self.raw.close()
                raise
            if len(self.idle) < INLINE_IDLE_MAX:
                self.idle.append(self.raw)
                return
        self.raw.close()  # rolls back; a connection in doubt is not kept


def asyncpg_dsn(url: str) -> str:
    """The plain `postgresql://` DSN asyncpg takes, from the SQLAlchemy URL."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


# SQLSTATEs worth a retry: connection exceptions (08...), serialization failure,
# deadlock, the server shutting down or terminating the backend (57P0x), too many
# connections, cannot connect now, a database not accepting connections (55000).
_TRANSIENT_STATES = ("08", "40001", "40P01", "57P01", "57P02", "57P03", "53300", "55000")


def is_transient(exc: BaseException) -> bool:
    """Whether a database error may pass if the transaction is simply tried again."""
    if isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError, ConnectionError)):
        return True
    if isinstance(exc, (OSError, TimeoutError)):
        return True
    if isinstance(exc, sa_exc.DBAPIError):
        if exc.connection_invalidated:
            return True
        for err in (exc.orig, getattr(exc.orig, "__cause__", None)):
            state = str(getattr(err, "sqlstate", "") or getattr(err, "pgcode", "") or "")
            if state and state.startswith(_TRANSIENT_STATES):
                return True
    return False


async def _quietly(step: Awaitable[None]) -> None:
    """Run a clean-up step whose own failure must not hide the original error."""
    try:
        await step
    except Exception:
        log.warning("database clean-up step failed", exc_info=True)


def _make_engine(url: str, pool_size: int, max_overflow: int) -> AsyncEngine:
    if not url.startswith("sqlite"):
        # Every replica and worker has its own pool (VODFLOW_DB_POOL_SIZE and
        # VODFLOW_DB_MAX_OVERFLOW): size them so that every process fits under
        # PostgreSQL's max_connections (docs/operations.md).
        pg = create_async_engine(
            url, pool_size=pool_size, max_overflow=max_overflow, pool_pre_ping=True
        )
        if pg.dialect.driver == "asyncpg":
            pg.sync_engine.dialect.do_ping = _ping_asyncpg  # type: ignore[method-assign,assignment]
        return pg
    engine = create_async_engine(url, connect_args={"timeout": 30})
    _set_up_sqlite(engine.sync_engine, busy_timeout_ms=30_000)
    return engine


def _ping_asyncpg(dbapi_conn: Any) -> bool:
    """The pool's pre-ping on asyncpg in one round trip, not three.

    SQLAlchemy's pings in a transaction of its own (BEGIN, a prepared `;`, ROLLBACK:
    the statement must not be parsed and run on different servers behind pgbouncer in
    transaction mode). One simple-protocol query is one message, one round trip,
    and needs no transaction for that. Failures are translated as SQLAlchemy's are,
    so a dead connection is replaced just the same.
    """
    try:
        await_(dbapi_conn._connection.execute("SELECT 1"))
    except Exception as error:
        dbapi_conn._handle_exception(error)
    return True


def _set_up_sqlite(engine: Engine, *, busy_timeout_ms: int) -> None:
    """WAL, foreign keys, and transactions begun by SQLAlchemy, on every connection."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide where transactions begin.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN")


def _inline_engine(path: str, main: AsyncEngine) -> Engine:
    """The synchronous engine of `tx_inline`, on the same SQLite file as `main`.

    Connections are set up as `main`'s are (WAL, foreign keys, SQLAlchemy-managed
    BEGIN), and `main`'s commit, rollback and check-in listeners (the event
    wake-ups of notify/wakeup.py, attached to `main` whenever they are) are called
    for these connections too, so an event committed here wakes its waiters alike.
    The busy timeout is the other inline connections' (5 s, store/inline.py): the
    event loop waits for no writer of this process (the write lock orders them),
    only, briefly, for another process's.
    """
    # One transaction at a time (the write lock); a Celery task's loop may run on
    # another thread than the last one's.
    engine = create_engine(
        f"sqlite:///{path}",
        pool_size=1,
        max_overflow=4,
        connect_args={"timeout": 5, "check_same_thread": False},
    )
    sync_main = main.sync_engine
    _set_up_sqlite(engine, busy_timeout_ms=5_000)

    @event.listens_for(engine, "commit")
    def _on_commit(conn: Any) -> None:
        sync_main.dispatch.commit(conn)

    @event.listens_for(engine, "rollback")
    def _on_rollback(conn: Any) -> None:
        sync_main.dispatch.rollback(conn)

    @event.listens_for(engine, "checkin")
    def _on_checkin(dbapi_conn: Any, record: Any) -> None:
        sync_main.pool.dispatch.checkin(dbapi_conn, record)

    return engine


def _inline_path(url: str) -> str | None:
    """The SQLite file of `read_inline` (None for an in-memory database: each
    connection would be a database of its own)."""
    database = make_url(url).database
    return None if database in (None, "", ":memory:") else database
