"""The reliable-callback queue: PullEvents (long poll), ConfirmEvents, DescribeEventsState.

A pull leases up to 16 visible events in one statement: their visibility moves
`visibility_s` into the future and they get a fresh handle token, so concurrent
pullers never see the same visible event and an unconfirmed one comes back by
itself when its lease runs out. A handle is valid while its lease lasts.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass

from vodflow.core import events as core
from vodflow.errors import VodError
from vodflow.notify.wakeup import Hub
from vodflow.store import events as q
from vodflow.store.db import Database
from vodflow.timeutil import now

MAX_EVENTS = 16
# How often a held PullEvents looks for events no wake-up announced.
POLL_S = 0.5


@dataclass(frozen=True)
class PulledEvent:
    event_id: int
    handle: str
    event_type: str
    body: str  # EventContent JSON without EventHandle


class PullQueue:
    def __init__(self, db: Database, hub: Hub, *, visibility_s: float, wait_s: float) -> None:
        self.db = db
        self.hub = hub
        self.visibility_s = visibility_s
        self.wait_s = wait_s

    async def _claim(self, app_id: int, limit: int) -> list[PulledEvent]:
        token = core.new_token()
        t = now()
        async with self.db.tx() as conn:
            rows = await q.claim_pull(
                conn, app_id, now=t, until=t + self.visibility_s, token=token, limit=limit
            )
        return [PulledEvent(i, core.make_handle(token, i), et, body) for i, et, body in rows]

    async def pull(
        self, app_id: int, limit: int = MAX_EVENTS, wait_s: float | None = None
    ) -> list[PulledEvent]:
        """Events at once if any are visible; else wait for a commit, at most `wait_s`."""
        limit = max(1, min(limit, MAX_EVENTS))
        deadline = time.monotonic() + (self.wait_s if wait_s is None else wait_s)
        while True:
            # Register before reading, so a commit between the read and the wait is not lost.
            with self.hub.waiter(app_id) as woken:
                got = await self._claim(app_id, limit)
                if got:
                    return got
                while True:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return []
                    try:
                        await asyncio.wait_for(woken.wait(), min(remaining, POLL_S))
                        break
                    except TimeoutError:
                        # Leases running out, and commits of other processes (workers),
                        # do not wake us: look for them now and then.
                        if await self._any_visible(app_id):
                            break

    async def _any_visible(self, app_id: int) -> bool:
        async with self.db.read() as conn:
            return await q.any_visible(conn, app_id, now())

    async def confirm(self, app_id: int, handles: Sequence[str]) -> None:
        """Confirm all handles or none: unknown, foreign or expired ones are refused.

        Confirming the same handle twice is harmless (the second is a no-op).
        """
        parsed: dict[int, str] = {}
        bad: list[str] = []
        for h in handles:
            p = core.parse_handle(h)
            if p is None:
                bad.append(h)
            else:
                parsed[p[0]] = p[1]
        if bad:
            raise _refused(bad, "is not an EventHandle vodflow issued")
        if not parsed:
            return
        t = now()
        async with self.db.tx() as conn:
            states = await q.lease_states(conn, app_id, list(parsed))
            expired: list[str] = []
            unknown: list[str] = []
            to_confirm: list[int] = []
            for event_id, token in parsed.items():
                state = states.get(event_id)
                handle = core.make_handle(token, event_id)
                if state is None or state[0] != token:
                    unknown.append(handle)
                elif state[2] is not None:
                    continue  # already confirmed with this very handle
                elif state[1] is None or state[1] <= t:
                    expired.append(handle)
                else:
                    to_confirm.append(event_id)
            if unknown:
                raise _refused(unknown, "is unknown, superseded by a later pull, or not yours")
            if expired:
                raise _refused(expired, "expired: it was not confirmed within its window")
            await q.confirm(conn, to_confirm, t)

    async def count(self, app_id: int) -> int:
        async with self.db.read() as conn:
            return await q.count_to_pull(conn, app_id)


def _refused(handles: list[str], why: str) -> VodError:
    shown = ", ".join(h[:64] for h in handles[:3]) + (" ..." if len(handles) > 3 else "")
    return VodError(
        "InvalidParameterValue",
        f"EventHandle {shown} {why}; nothing was confirmed. Pull the events again.",
    )
