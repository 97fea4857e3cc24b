"""The PULL queue's hot statements on PostgreSQL, sent by asyncpg itself.

Through SQLAlchemy a claim cost four round trips (the pool's pre-ping, BEGIN, the
statement, COMMIT) and about 2 ms of Python per request; here it is one prepared
statement in autocommit (a single statement is its own transaction, and the claim
and the confirmation are each one statement), on a few connections of the
queue's own (at most VODFLOW_DB_POOL_SIZE; nothing here leaves session state
behind, so a connection needs no reset between statements). These are the only
PostgreSQL texts of these statements: SQLite has its own in `events.SqliteQueue`,
and `bench/pg_drain.py` imports these to measure raw asyncpg running exactly them.

The claim walks `ix_pull_leases_live` (app_id, visible_at, event_id) in order, which
is the ORDER BY, so its plan needs no statistics (migrations 0009, 0011).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import asyncpg

# $1 until, $2 token, $3 app_id, $4 now, $5 limit -> (id, event_type, body as UTF-8
# bytes). The lease is the narrow pull_leases row; the event row is only read.
CLAIM = (
    "WITH leased AS (UPDATE pull_leases SET visible_at = $1, handle = $2, "
    "attempts = attempts + 1 WHERE event_id IN (SELECT event_id FROM pull_leases "
    "WHERE app_id = $3 AND confirmed_at IS NULL AND visible_at <= $4 "
    "ORDER BY visible_at, event_id LIMIT $5 FOR UPDATE SKIP LOCKED) RETURNING event_id) "
    "SELECT e.id, e.event_type, convert_to(e.body, 'UTF8') FROM leased "
    "JOIN events e ON e.id = leased.event_id"
)
# $1 at, $2 app_id, $3 token, $4 ids -> id of each event confirmed now
CONFIRM = (
    "UPDATE pull_leases SET confirmed_at = $1, visible_at = NULL "
    "WHERE app_id = $2 AND handle = $3 AND confirmed_at IS NULL AND visible_at > $1 "
    "AND event_id = ANY($4::bigint[]) RETURNING event_id"
)
# $1 app_id, $2 ids -> (id, handle, visible_at, confirmed_at)
LEASE_STATES = (
    "SELECT event_id, handle, visible_at, confirmed_at FROM pull_leases "
    "WHERE app_id = $1 AND event_id = ANY($2::bigint[])"
)

# A connection that died (PostgreSQL restarted, a backend terminated) fails one
# statement and is dropped; the statement is sent once more on a new one. A
# claim whose answer was lost leaves its events leased until their window ends,
# as a client that never confirmed would; a confirmation is idempotent.
# A backend terminated while its connection was idle may also surface as a
# client-side error (InterfaceError, InternalClientError) on the next statement.
_RETRIED = (
    asyncpg.exceptions.InterfaceError,
    asyncpg.exceptions.InternalClientError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.AdminShutdownError,
    ConnectionError,
)


class PgQueue:
    """The claim, confirmation and lease look-up of the PULL queue on PostgreSQL."""

    def __init__(self, dsn: str, size: int) -> None:
        self.dsn = dsn
        self.size = max(1, size)
        # A pool of the plainest kind: idle connections, most recent first, and a
        # semaphore bounding those in use. asyncpg's own Pool spent more CPU per
        # statement than the statement's own client side (a task per release, the
        # reset call), and nothing here needs what it adds. Opened on first use:
        # workers, which build the queue but never pull, open nothing.
        self._idle: list[asyncpg.Connection] = []
        self._slots: asyncio.Semaphore | None = None
        self._closed = False

    async def _fetch(self, sql: str, *args: Any) -> list[Any]:
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.size)
        async with self._slots:
            conn = await self._take()
            try:
                try:
                    rows = await conn.fetch(sql, *args)
                except _RETRIED:
                    conn.terminate()
                    conn = await self._connect()
                    rows = await conn.fetch(sql, *args)
            except asyncpg.PostgresError:
                self._give_back(conn)  # the server refused the statement: still usable
                raise
            except BaseException:
                conn.terminate()  # cut off mid-statement (cancelled, lost): not reusable
                raise
            self._give_back(conn)
            return list(rows)

    async def _take(self) -> asyncpg.Connection:
        while self._idle:
            conn = self._idle.pop()
            if not conn.is_closed():
                return conn
        return await self._connect()

    async def _connect(self) -> asyncpg.Connection:
        return await asyncpg.connect(self.dsn, timeout=10)

    def _give_back(self, conn: asyncpg.Connection) -> None:
        if self._closed or conn.is_closed():
            conn.terminate()
        else:
            self._idle.append(conn)

    def close(self) -> None:
        self._closed = True
        while self._idle:
            self._idle.pop().terminate()

    async def claim(
        self, app_id: int, now: float, until: float, token: str, limit: int
    ) -> list[tuple[int, str, bytes]]:
        rows = await self._fetch(CLAIM, until, token, app_id, now, limit)
        return sorted((r[0], r[1], r[2]) for r in rows)

    async def confirm(self, app_id: int, token: str, ids: Sequence[int], at: float) -> list[int]:
        return [r[0] for r in await self._fetch(CONFIRM, at, app_id, token, list(ids))]

    async def lease_states(
        self, app_id: int, ids: Sequence[int]
    ) -> dict[int, tuple[str | None, float | None, float | None]]:
        rows = await self._fetch(LEASE_STATES, app_id, list(ids))
        return {r[0]: (r[1], r[2], r[3]) for r in rows}
