"""Queries of the event outbox: insert, the PULL queue's claims, the PUSH relay's claims.

Claims are single statements so they are race-free: on SQLite the write statement
takes the database write lock before it reads, on PostgreSQL the inner SELECT
skips rows another transaction holds (FOR UPDATE SKIP LOCKED). Both claims walk a
partial index of live rows in (visible_at | next_attempt_at) order, so their cost
does not grow with the number of events queued, in flight or done. A PULL event's
lease state is a narrow row of `pull_leases` (migration 0011): claims and
confirmations rewrite those, never the wide event row with its body. The PULL
queue's hot statements are `SqliteQueue` below (inline sqlite3) and
`store/pg_queue.py` (asyncpg itself): one text per store.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import and_, bindparam, delete, func, insert, literal, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from vodflow.status import DeliveryStatus
from vodflow.store.db import Reader, Writer
from vodflow.store.inline import prepared
from vodflow.store.schema import apps, delivery_attempts, events, pull_leases

E = events.c
L = pull_leases.c
# conn.info key: the application ids that got events in this transaction (the
# commit hook wakes their waiters; notify/wakeup.py).
PENDING_KEY = "vodflow.pending_events"


# conn.info keys, PostgreSQL only: how to announce an application's new event to the
# other processes in the event's own INSERT (a callable, app id -> NOTIFY channel and
# payload, set by notify/pg_wakeup.py: PostgreSQL sends it if and when the transaction
# commits), and the application ids so announced in this transaction (its commit
# hook announces the others, saving a round trip before the commit).
ANNOUNCE_KEY = "vodflow.announce_events"
ANNOUNCED_KEY = "vodflow.announced_events"

# Built once: every flow state change writes an event, and constructing the
# statement anew (plus its cache key) cost more CPU than executing it.
_ADD = insert(events).returning(E.id)
_ADD_LEASE = insert(pull_leases)
_ADD_ANNOUNCED = insert(events).returning(
    E.id, func.pg_notify(bindparam("notify_channel"), bindparam("notify_payload"))
)


async def add(conn: Writer, **values: Any) -> int:
    announce = conn.info.get(ANNOUNCE_KEY)
    statement: Any = _ADD
    if announce is not None:
        channel, payload = announce(values["app_id"])
        statement = _ADD_ANNOUNCED
        values = {**values, "notify_channel": channel, "notify_payload": payload}
    event_id = int((await conn.execute(statement, values)).scalar_one())
    if announce is not None:
        conn.info.setdefault(ANNOUNCED_KEY, set()).add(values["app_id"])
    return event_id


async def add_lease(conn: Writer, event_id: int, app_id: int, visible_at: float) -> None:
    """Queue a PULL event: its lease row, visible from `visible_at`."""
    values = {"event_id": event_id, "app_id": app_id, "visible_at": visible_at, "attempts": 0}
    await conn.execute(_ADD_LEASE, values)


async def add_pulls(conn: Writer, rows: Sequence[dict[str, Any]]) -> None:
    """Queue many PULL events at once (bulk loads: benches, tests): the event rows,
    then their leases, each visible from its create_time."""
    before = (await conn.execute(select(func.max(E.id)))).scalar() or 0
    await conn.execute(insert(events), list(rows))
    picked = select(E.id, E.app_id, E.create_time, literal(0)).where(
        E.id > before, E.mode == "PULL"
    )
    columns = ["event_id", "app_id", "visible_at", "attempts"]
    await conn.execute(insert(pull_leases).from_select(columns, picked))


def _for_update(stmt: Any, dialect: str) -> Any:
    return stmt.with_for_update(skip_locked=True) if dialect == "postgresql" else stmt


# ---------------------------------------------------------------- PULL queue


async def any_visible(conn: AsyncConnection, app_id: int, now: float) -> bool:
    stmt = (
        select(L.event_id)
        .where(L.app_id == app_id, L.confirmed_at.is_(None), L.visible_at <= now)
        .limit(1)
    )
    return (await conn.execute(stmt)).first() is not None


async def end_leases(conn: AsyncConnection, app_id: int, ids: Sequence[int], at: float) -> None:
    """End the leases of pulled events now: their handles expire (fault injection)."""
    stmt = (
        update(pull_leases)
        .where(L.app_id == app_id, L.event_id.in_(list(ids)), L.confirmed_at.is_(None))
        .values(visible_at=at)
    )
    await conn.execute(stmt)


# DescribeEventsState: built once, read inline on SQLite (store/inline.py). Counting
# walks the partial index of live rows: `upto` bounds that walk (the answer is then
# at most `upto`), so that a count run on the event loop's thread stays short.
_TO_PULL = (L.app_id == bindparam("app_id"), L.confirmed_at.is_(None), L.visible_at.is_not(None))
_COUNT_TO_PULL = prepared(select(func.count()).select_from(pull_leases).where(*_TO_PULL))
_COUNT_TO_PULL_UPTO = prepared(
    select(func.count()).select_from(
        select(L.event_id).where(*_TO_PULL).limit(bindparam("upto")).subquery()
    ),
    alone=True,  # DescribeEventsState's whole inline read: its own snapshot
)


async def count_to_pull(conn: Reader, app_id: int, *, upto: int | None = None) -> int:
    if upto is None:
        return int((await conn.execute(_COUNT_TO_PULL, {"app_id": app_id})).scalar_one())
    params = {"app_id": app_id, "upto": upto}
    return int((await conn.execute(_COUNT_TO_PULL_UPTO, params)).scalar_one())


# ---------------------------------------------------------------- PUSH relay


async def claim_push(
    conn: AsyncConnection,
    *,
    now: float,
    lease_until: float,
    limit: int,
    skip_apps: Iterable[int] = (),
) -> list[dict[str, Any]]:
    """Take up to `limit` due PUSH deliveries, pushing their due time past the lease."""
    cond = [E.delivery_status == DeliveryStatus.PENDING, E.next_attempt_at <= now]
    skip = list(skip_apps)
    if skip:
        cond.append(E.app_id.not_in(skip))
    pick = _for_update(
        select(E.id).where(*cond).order_by(E.next_attempt_at).limit(limit), conn.dialect.name
    )
    stmt = (
        update(events)
        .where(E.id.in_(pick.scalar_subquery()))
        .values(next_attempt_at=lease_until)
        .returning(E.id, E.app_id, E.event_type, E.body, E.attempts, E.create_time)
    )
    return [dict(r) for r in (await conn.execute(stmt)).mappings()]


async def next_push_due(conn: AsyncConnection) -> float | None:
    stmt = select(func.min(E.next_attempt_at)).where(E.delivery_status == DeliveryStatus.PENDING)
    value = (await conn.execute(stmt)).scalar()
    return float(value) if value is not None else None


async def push_apps(conn: AsyncConnection) -> set[int]:
    """The applications whose events are delivered by PUSH (the relay's filter)."""
    rows = await conn.execute(select(apps.c.id).where(apps.c.event_mode == "PUSH"))
    return {int(r[0]) for r in rows}


async def record_attempts(conn: AsyncConnection, attempts: Sequence[dict[str, Any]]) -> None:
    if attempts:
        await conn.execute(insert(delivery_attempts), list(attempts))


async def finish_push(conn: AsyncConnection, outcomes: Sequence[dict[str, Any]]) -> None:
    """Apply many delivery outcomes at once: each {id, status, attempts, next_at, done_at}."""
    if not outcomes:
        return
    stmt = (
        update(events)
        .where(E.id == bindparam("b_id"), E.delivery_status == DeliveryStatus.PENDING)
        .values(
            delivery_status=bindparam("b_status"),
            attempts=bindparam("b_attempts"),
            next_attempt_at=bindparam("b_next"),
            delivered_at=bindparam("b_done"),
        )
    )
    params = [
        {
            "b_id": o["id"],
            "b_status": o["status"],
            "b_attempts": o["attempts"],
            "b_next": o["next_at"],
            "b_done": o["done_at"],
        }
        for o in outcomes
    ]
    await conn.execute(stmt, params)


# ---------------------------------------------------------------- history


def _filters(
    app_id: int,
    *,
    event_types: Sequence[str] | None,
    status: str | None,
    start: float | None,
    end: float | None,
) -> list[Any]:
    cond: list[Any] = [E.app_id == app_id]
    if event_types:
        cond.append(E.event_type.in_(list(event_types)))
    if start is not None:
        cond.append(E.create_time >= start)
    if end is not None:
        cond.append(E.create_time < end)
    if status == "PENDING":
        cond.append(
            ((E.mode == "PUSH") & (E.delivery_status == DeliveryStatus.PENDING))
            | ((E.mode == "PULL") & L.confirmed_at.is_(None))
        )
    elif status == "DELIVERED":
        cond.append(
            ((E.mode == "PUSH") & (E.delivery_status == DeliveryStatus.DELIVERED))
            | ((E.mode == "PULL") & L.confirmed_at.is_not(None))
        )
    elif status == "FAILED":
        cond.append((E.mode == "PUSH") & (E.delivery_status == DeliveryStatus.FAILED))
    return cond


# Each event with its lease state (PULL; NULLs for PUSH): `attempts` is the PULL
# event's pull count, the PUSH event's delivery attempts.
_WITH_LEASES = events.outerjoin(pull_leases, L.event_id == E.id)
_LISTED = (
    *(c for c in events.c if c.name != "attempts"),
    L.visible_at,
    L.handle,
    L.confirmed_at,
    func.coalesce(L.attempts, E.attempts).label("attempts"),
)


async def listing(
    conn: AsyncConnection, app_id: int, *, offset: int, limit: int, **filters: Any
) -> tuple[list[dict[str, Any]], int]:
    cond = and_(*_filters(app_id, **filters))
    counted = select(func.count()).select_from(_WITH_LEASES).where(cond)
    total = (await conn.execute(counted)).scalar_one()
    stmt = (
        select(*_LISTED)
        .select_from(_WITH_LEASES)
        .where(cond)
        .order_by(E.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return [dict(r) for r in (await conn.execute(stmt)).mappings()], int(total)


async def attempts_of(conn: AsyncConnection, ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
    if not ids:
        return out
    stmt = (
        select(delivery_attempts)
        .where(delivery_attempts.c.event_id.in_(list(ids)))
        .order_by(delivery_attempts.c.id)
    )
    for r in (await conn.execute(stmt)).mappings():
        out[r["event_id"]].append(dict(r))
    return out


async def existing_ids(conn: AsyncConnection, app_id: int, ids: Sequence[int]) -> set[int]:
    stmt = select(E.id).where(E.app_id == app_id, E.id.in_(list(ids)))
    return {r[0] for r in (await conn.execute(stmt)).all()}


async def redeliver(conn: AsyncConnection, app_id: int, ids: Sequence[int], at: float) -> None:
    """Queue events again: PUSH ones for a new round of attempts, PULL ones unconfirmed."""
    base = update(events).where(E.app_id == app_id, E.id.in_(list(ids)))
    await conn.execute(
        base.where(E.mode == "PUSH").values(
            delivery_status=DeliveryStatus.PENDING,
            attempts=0,
            next_attempt_at=at,
            delivered_at=None,
        )
    )
    await conn.execute(
        update(pull_leases)
        .where(L.app_id == app_id, L.event_id.in_(list(ids)))
        .values(confirmed_at=None, visible_at=at, handle=None)
    )


# ---------------------------------------------------------------- retention


async def purge_before(conn: AsyncConnection, app_id: int, cutoff: float, batch: int) -> int:
    """Delete up to `batch` of the application's events created before `cutoff`."""
    pick = (
        select(E.id)
        .where(E.app_id == app_id, E.create_time < cutoff)
        .order_by(E.create_time)
        .limit(batch)
    )
    ids = [r[0] for r in (await conn.execute(pick)).all()]
    if not ids:
        return 0
    await conn.execute(delete(delivery_attempts).where(delivery_attempts.c.event_id.in_(ids)))
    await conn.execute(delete(pull_leases).where(L.event_id.in_(ids)))
    await conn.execute(delete(events).where(E.id.in_(ids)))
    return len(ids)


# ---------------------------------------------------------------- SQLite fast path


class InlineSqlite:
    """Hot statements on a plain sqlite3 connection, run on the event loop's thread.

    Through aiosqlite every statement costs several hops to a worker thread
    (cursor, execute, fetch, close), about 1 ms per claim on a busy 2-core machine,
    while SQLite itself answers in tens of microseconds from the partial index.
    The caller holds the Database's write lock around writes, so they never wait on
    SQLite's lock for this process's other writers (and other processes wait briefly).
    """

    def __init__(self, path: str) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute("PRAGMA busy_timeout=5000")

    def close(self) -> None:
        self.conn.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")


_PUSH_COLUMNS = ("id", "app_id", "event_type", "body", "attempts", "create_time")


class SqlitePush(InlineSqlite):
    """The push relay's claims and outcome batches inline (the same statements as
    claim_push, record_attempts and finish_push)."""

    def claim(
        self, now: float, lease_until: float, limit: int, skip_apps: Sequence[int]
    ) -> list[dict[str, Any]]:
        skip = f" AND app_id NOT IN ({','.join('?' * len(skip_apps))})" if skip_apps else ""
        rows = self.conn.execute(
            "UPDATE events SET next_attempt_at = ? WHERE id IN (SELECT id FROM events "
            f"WHERE delivery_status = 'PENDING' AND next_attempt_at <= ?{skip} "
            f"ORDER BY next_attempt_at LIMIT ?) RETURNING {', '.join(_PUSH_COLUMNS)}",
            (lease_until, now, *skip_apps, limit),
        ).fetchall()
        return [dict(zip(_PUSH_COLUMNS, r, strict=True)) for r in rows]

    def next_due(self) -> float | None:
        """The same read as next_push_due."""
        row = self.conn.execute(
            "SELECT min(next_attempt_at) FROM events WHERE delivery_status = 'PENDING'"
        ).fetchone()
        return float(row[0]) if row is not None and row[0] is not None else None

    def push_apps(self) -> set[int]:
        """The same read as push_apps."""
        rows = self.conn.execute("SELECT id FROM apps WHERE event_mode = 'PUSH'").fetchall()
        return {int(r[0]) for r in rows}

    def targets(self, app_ids: Sequence[int]) -> dict[int, tuple[str, str]]:
        """(NotificationUrl, SignKey) per application."""
        marks = ",".join("?" * len(app_ids))
        rows = self.conn.execute(
            f"SELECT id, notification_url, sign_key FROM apps WHERE id IN ({marks})",
            tuple(app_ids),
        ).fetchall()
        return {r[0]: (r[1] or "", r[2] or "") for r in rows}

    def finish(
        self, attempts: Sequence[dict[str, Any]], outcomes: Sequence[dict[str, Any]]
    ) -> None:
        if attempts:
            self.conn.executemany(
                "INSERT INTO delivery_attempts (event_id, attempt_time, url, status_code, "
                "latency_ms, error, response_head) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        a["event_id"],
                        a["attempt_time"],
                        a["url"],
                        a["status_code"],
                        a["latency_ms"],
                        a["error"],
                        a["response_head"],
                    )
                    for a in attempts
                ],
            )
        if outcomes:
            self.conn.executemany(
                "UPDATE events SET delivery_status = ?, attempts = ?, next_attempt_at = ?, "
                "delivered_at = ? WHERE id = ? AND delivery_status = 'PENDING'",
                [
                    (o["status"], o["attempts"], o["next_at"], o["done_at"], o["id"])
                    for o in outcomes
                ],
            )


class SqliteQueue(InlineSqlite):
    """The PULL queue's hot statements inline."""

    def claim(
        self, app_id: int, now: float, until: float, token: str, limit: int
    ) -> list[tuple[int, str, bytes]]:
        """Lease up to `limit` visible events: (id, event_type, body as UTF-8), by id.

        Two statements, not one transaction: the lease is the claim; the bodies are
        then read from rows no one writes. An event purged in between (retention)
        is simply not returned. The body comes as bytes (CAST AS BLOB): PullEvents
        splices it into its answer as it is, no decoding and encoding again.
        """
        ids = self.conn.execute(
            "UPDATE pull_leases SET visible_at = ?, handle = ?, attempts = attempts + 1 "
            "WHERE event_id IN (SELECT event_id FROM pull_leases WHERE app_id = ? "
            "AND confirmed_at IS NULL AND visible_at <= ? ORDER BY visible_at, event_id "
            "LIMIT ?) RETURNING event_id",
            (until, token, app_id, now, limit),
        ).fetchall()
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        return self.conn.execute(
            f"SELECT id, event_type, CAST(body AS BLOB) FROM events WHERE id IN ({marks}) "
            "ORDER BY id",
            [r[0] for r in ids],
        ).fetchall()

    def any_visible(self, app_id: int, now: float) -> bool:
        row = self.conn.execute(
            "SELECT 1 FROM pull_leases WHERE app_id = ? AND confirmed_at IS NULL "
            "AND visible_at <= ? LIMIT 1",
            (app_id, now),
        ).fetchone()
        return row is not None

    def lease_states(
        self, app_id: int, ids: Sequence[int]
    ) -> dict[int, tuple[str | None, float | None, float | None]]:
        marks = ",".join("?" * len(ids))
        rows = self.conn.execute(
            f"SELECT event_id, handle, visible_at, confirmed_at FROM pull_leases "
            f"WHERE app_id = ? AND event_id IN ({marks})",
            (app_id, *ids),
        ).fetchall()
        return {r[0]: (r[1], r[2], r[3]) for r in rows}

    def end_leases(self, app_id: int, ids: Sequence[int], at: float) -> None:
        marks = ",".join("?" * len(ids))
        self.conn.execute(
            f"UPDATE pull_leases SET visible_at = ? WHERE app_id = ? AND confirmed_at IS NULL "
            f"AND event_id IN ({marks})",
            (at, app_id, *ids),
        )

    def confirm(self, app_id: int, token: str, ids: Sequence[int], at: float) -> list[int]:
        marks = ",".join("?" * len(ids))
        rows = self.conn.execute(
            f"UPDATE pull_leases SET confirmed_at = ?, visible_at = NULL "
            f"WHERE app_id = ? AND handle = ? AND confirmed_at IS NULL AND visible_at > ? "
            f"AND event_id IN ({marks}) RETURNING event_id",
            (at, app_id, token, at, *ids),
        ).fetchall()
        return [r[0] for r in rows]
