"""The reliable-callback queue: PullEvents (long poll), ConfirmEvents, DescribeEventsState.

A pull leases up to 16 visible events in one statement: their visibility moves
`visibility_s` into the future and they get a fresh handle token, so concurrent
pullers never see the same visible event and an unconfirmed one comes back by
itself when its lease runs out. A handle is valid while its lease lasts.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import NamedTuple

from vodflow import metrics
from vodflow.core import fault_kinds, faults
from vodflow.core.faults import FaultBook
from vodflow.errors import VodError
from vodflow.notify.handles import make_handle, new_token, parse_handle
from vodflow.notify.wakeup import Hub
from vodflow.store import events as q
from vodflow.store.db import Database, asyncpg_dsn
from vodflow.store.pg_queue import PgQueue
from vodflow.timeutil import now
from vodflow.wire.common import INT64_MAX

log = logging.getLogger("vodflow.pull")

MAX_EVENTS = 16
# How often the held PullEvents of one application look for events no wake-up
# announced (a lease that ran out, a notice lost with a LISTEN connection): one
# look for all of them, however many are held (`PullQueue._watch`).
POLL_S = 1.0
# DescribeEventsState counts inline (on the event loop's thread, store/inline.py) up
# to this many events, a fraction of a millisecond; a longer backlog is counted
# again off the loop's thread, so that counting it never stalls other requests.
INLINE_COUNT_MAX = 5000


class PulledEvent(NamedTuple):
    """One event of a pull. A NamedTuple, not a frozen dataclass: a pull makes 16 of
    them, and a frozen dataclass's __init__ (object.__setattr__ per field) cost
    several times as much."""

    event_id: int
    handle: str
    event_type: str
    # EventContent JSON without EventHandle, UTF-8: spliced into PullEvents' answer
    # as it is stored, never decoded.
    body: bytes


States = dict[int, tuple[str | None, float | None, float | None]]


class PullQueue:
    def __init__(
        self, db: Database, hub: Hub, *, visibility_s: float, wait_s: float, faults: FaultBook
    ) -> None:
        self.db = db
        self.hub = hub
        self.visibility_s = visibility_s
        self.wait_s = wait_s
        self.faults = faults
        # PullDuplicate: events already handed out, handed out again by the next pull.
        self._again: dict[int, list[PulledEvent]] = {}
        # The hot statements: inline sqlite3 (SqliteQueue), or asyncpg itself (PgQueue).
        self._fast = q.SqliteQueue(db.sqlite_path) if db.is_sqlite else None
        self._pg = None if db.is_sqlite else PgQueue(asyncpg_dsn(db.url), db.pool_size)
        # Held pulls per application, and the one safety poll each such application has.
        self._held: dict[int, int] = {}
        self._watchers: dict[int, asyncio.Task[None]] = {}
        # Applications whose last claim found events: a new pull claims at once. Any
        # other new pull first looks whether anything is visible, in one read shared
        # by all the pulls arriving meanwhile (`_visible_shared`): thousands of
        # consumers coming back together to an empty queue cost one read, not
        # thousands of claim transactions queueing for the pool (PostgreSQL).
        self._busy: set[int] = set()
        self._looking: dict[int, asyncio.Future[bool]] = {}

    def close(self) -> None:
        for watcher in self._watchers.values():
            watcher.cancel()
        self._watchers.clear()
        if self._fast is not None:
            self._fast.close()
            self._fast = None
        if self._pg is not None:
            self._pg.close()

    async def _claim(self, app_id: int, limit: int) -> list[PulledEvent]:
        token = new_token()
        t = now()
        until = t + self.visibility_s
        if self._fast is not None:
            async with self.db.write_lock(urgent=True):
                rows = self._fast.claim(app_id, t, until, token, limit)
        else:
            assert self._pg is not None
            rows = await self._pg.claim(app_id, t, until, token, limit)
        pulled = [PulledEvent(i, make_handle(token, i), et, body) for i, et, body in rows]
        if pulled and self.faults.enabled:
            await self._apply_faults(app_id, pulled)
        return pulled

    async def _apply_faults(self, app_id: int, pulled: list[PulledEvent]) -> None:
        """PullDuplicate: the next pull hands the event out again, same handle (an
        at-least-once queue may); PullHandleExpire: the lease ends now, so confirming
        with this handle is refused as expired and the event comes back."""
        expire: list[int] = []
        for e in pulled:
            aim = faults.event_target(e.event_id, e.event_type, e.body.decode(), None)
            rule = await self.faults.fire(app_id, fault_kinds.PULL_KINDS, aim)
            if rule is not None and rule.kind == fault_kinds.PULL_DUPLICATE:
                self._again.setdefault(app_id, []).append(e)
            elif rule is not None:
                expire.append(e.event_id)
        if not expire:
            return
        t = now()
        if self._fast is not None:
            async with self.db.write_lock(urgent=True):
                self._fast.end_leases(app_id, expire, t)
        else:
            async with self.db.tx() as conn:
                await q.end_leases(conn, app_id, expire, t)

    async def _any_visible(self, app_id: int) -> bool:
        if self._fast is not None:
            return self._fast.any_visible(app_id, now())
        async with self.db.read() as conn:
            return await q.any_visible(conn, app_id, now())

    async def _visible_shared(self, app_id: int) -> bool:
        """`_any_visible`, one read at a time per application for every pull asking.

        A pull joining a read under way is registered as a waiter already, so an
        event committed after that read began wakes it (or another held pull).
        """
        look = self._looking.get(app_id)
        if look is None:
            look = asyncio.ensure_future(self._any_visible(app_id))
            self._looking[app_id] = look
            look.add_done_callback(lambda f: self._looked(app_id, f))
        return await asyncio.shield(look)

    def _looked(self, app_id: int, look: asyncio.Future[bool]) -> None:
        if self._looking.get(app_id) is look:
            del self._looking[app_id]
        if not look.cancelled():
            look.exception()  # retrieved: a failed read is each asking pull's error

    async def pull(
        self, app_id: int, limit: int = MAX_EVENTS, wait_s: float | None = None
    ) -> list[PulledEvent]:
        """Events at once if any are visible; else wait for a commit, at most `wait_s`."""
        limit = max(1, min(limit, MAX_EVENTS))
        deadline = time.monotonic() + (self.wait_s if wait_s is None else wait_s)
        if self._again and (again := self._again.pop(app_id, [])):
            if again[limit:]:
                self._again[app_id] = again[limit:]
            room = limit - len(again[:limit])
            return again[:limit] + (await self._claim(app_id, room) if room else [])
        # Registered before reading, so a commit between the read and the wait is not
        # lost; cleared before each read, so that a wake still set when we leave is one
        # this pull did not act on, and the hub hands it to the next waiter.
        with self.hub.waiter(app_id) as woken:
            look_first = app_id not in self._busy
            while True:
                woken.clear()
                if look_first and not await self._visible_shared(app_id):
                    got = []  # nothing to claim: no transaction, no pool connection
                else:
                    got = await self._claim(app_id, limit)
                look_first = False  # woken by a notice: claim at once
                if not got:
                    self._busy.discard(app_id)
                else:
                    self._busy.add(app_id)
                    if len(got) == limit:  # there may be more: the next waiter looks
                        self.hub.wake_one(app_id)
                    return got
                with metrics.PULLS_HELD.track_inprogress():
                    if not await self._hold(app_id, woken, deadline):
                        return []

    async def _hold(self, app_id: int, woken: asyncio.Event, deadline: float) -> bool:
        """Wait for a wake-up (True), or the deadline (False).

        A commit wakes one held pull (the hub); leases running out and notices lost
        with a LISTEN connection do not, so the application's one safety poll looks
        for visible events every POLL_S on behalf of all its held pulls.
        """
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        self._enter(app_id)
        try:
            # asyncio.timeout, not wait_for: no task of its own per held pull, and a
            # cancellation (the client went away) is never swallowed by a wake.
            async with asyncio.timeout(remaining):
                await woken.wait()
            return True
        except TimeoutError:
            return False
        finally:
            self._leave(app_id)

    def _enter(self, app_id: int) -> None:
        self._held[app_id] = self._held.get(app_id, 0) + 1
        watcher = self._watchers.get(app_id)
        if watcher is None or watcher.done():
            self._watchers[app_id] = asyncio.create_task(
                self._watch(app_id), name=f"vodflow-pull-watch-{app_id}"
            )

    def _leave(self, app_id: int) -> None:
        left = self._held.get(app_id, 1) - 1
        if left > 0:
            self._held[app_id] = left
            return
        self._held.pop(app_id, None)
        watcher = self._watchers.pop(app_id, None)
        if watcher is not None:
            watcher.cancel()

    async def _watch(self, app_id: int) -> None:
        while True:
            await asyncio.sleep(POLL_S)
            try:
                visible = await self._any_visible(app_id)
            except Exception as exc:  # the database hiccuped: look again next time
                log.warning("safety poll of application %s failed: %s", app_id, exc)
                continue
            if visible:
                self.hub.wake_waiters(app_id)

    async def confirm(self, app_id: int, handles: Sequence[str]) -> None:
        """Confirm the events of these handles.

        Good handles are confirmed in one statement. If any handle is unknown, of
        another application, superseded by a later pull or past its window, the call
        is refused naming them (the good ones stay confirmed: confirming is
        idempotent, so a client may simply confirm again what it still holds).
        """
        by_token: dict[str, list[int]] = {}
        bad: list[str] = []
        for h in handles:
            p = parse_handle(h)
            if p is None or p[0] > INT64_MAX:  # a forged id no row can have
                bad.append(h)
            else:
                by_token.setdefault(p[1], []).append(p[0])
        if bad:
            raise _refused(bad, "is not an EventHandle vodflow issued")
        t = now()
        done: set[int] = set()
        if self._fast is not None:
            async with self.db.write_lock(urgent=True):
                for token, ids in by_token.items():
                    done.update(self._fast.confirm(app_id, token, ids, t))
        else:
            assert self._pg is not None
            for token, ids in by_token.items():
                done.update(await self._pg.confirm(app_id, token, ids, t))
        missing = {i: tok for tok, ids in by_token.items() for i in ids if i not in done}
        if not missing:
            return
        if self._fast is not None:
            states = self._fast.lease_states(app_id, list(missing))
        else:
            assert self._pg is not None
            states = await self._pg.lease_states(app_id, list(missing))
        _check(missing, states)

    async def count(self, app_id: int) -> int:
        async with self.db.read_inline() as inline:
            counted = await q.count_to_pull(inline, app_id, upto=INLINE_COUNT_MAX)
        if counted < INLINE_COUNT_MAX:
            return counted
        async with self.db.read() as conn:
            return await q.count_to_pull(conn, app_id)


def _check(missing: dict[int, str], states: States) -> None:
    """Refuse the handles that were not confirmed now, unless confirmed before with them."""
    expired: list[str] = []
    unknown: list[str] = []
    for event_id, token in missing.items():
        state = states.get(event_id)
        handle = make_handle(token, event_id)
        if state is None or state[0] != token:
            unknown.append(handle)
        elif state[2] is None:
            expired.append(handle)
    if unknown:
        raise _refused(unknown, "is unknown, superseded by a later pull, or not yours")
    if expired:
        raise _refused(expired, "expired: it was not confirmed within its window")


def _refused(handles: list[str], why: str) -> VodError:
    shown = ", ".join(h[:64] for h in handles[:3]) + (" ..." if len(handles) > 3 else "")
    return VodError(
        "InvalidParameterValue",
        f"EventHandle {shown} {why}. Other handles of the call were confirmed; "
        "events of refused handles come back to PullEvents.",
    )
