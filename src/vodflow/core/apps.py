"""Applications (SubAppId): every resource belongs to exactly one.

The default application has the account AppId as its SubAppId and always exists;
applications created later are numbered from 1500000001 like Tencent's.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from sqlalchemy.exc import IntegrityError

from vodflow.errors import VodError
from vodflow.store import apps as q
from vodflow.store.db import Database
from vodflow.timeutil import now

FIRST_SUB_APP_ID = 1500000000
# Every API request resolves its application; a short-lived cache of the status keeps
# that off the database (changes made here drop it at once; other processes' after
# at most this long).
STATUS_TTL_S = 1.0


class AppService:
    def __init__(self, db: Database, default_app_id: int) -> None:
        self.db = db
        self.default_app_id = default_app_id
        self._status: dict[int, tuple[float, str | None]] = {}
        self._reading: dict[int, asyncio.Future[str | None]] = {}
        self._changes = 0

    async def ensure_default(self) -> None:
        try:
            async with self.db.tx() as conn:
                if await q.get(conn, self.default_app_id) is None:
                    await q.create(conn, **_new_app(self.default_app_id, "default", "", "fileid"))
        except IntegrityError:
            pass  # another process (replica, worker) starting at the same time created it

    async def resolve(self, sub_app_id: int | None, *, allow_disabled: bool = False) -> int:
        """The application a request acts on; refuses unknown or disabled ones."""
        app_id = self.default_app_id if sub_app_id is None else sub_app_id
        hit = self._status.get(app_id)  # fresh: no coroutine (every API request is here)
        if hit is not None and hit[0] > time.monotonic():
            status = hit[1]
        else:
            status = await self._cached_status(app_id)
        if status is None or status == "Destroyed":
            raise VodError(
                "InvalidParameterValue.SubAppId", f"The application `{app_id}` does not exist."
            )
        if status == "Off" and not allow_disabled:
            raise VodError(
                "UnauthorizedOperation",
                f"The application `{app_id}` is disabled; enable it with ModifySubAppIdStatus.",
            )
        return app_id

    async def _cached_status(self, app_id: int) -> str | None:
        hit = self._status.get(app_id)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        # Single flight: however many requests find the entry stale at once (thousands
        # of PullEvents coming back together), one of them reads it for all.
        flight = self._reading.get(app_id)
        if flight is None:
            flight = asyncio.ensure_future(self._read_status(app_id, self._changes))
            self._reading[app_id] = flight
            flight.add_done_callback(lambda f: self._landed(app_id, f))
        # shield: a request cancelled while waiting does not cancel the others' read.
        return await asyncio.shield(flight)

    async def _read_status(self, app_id: int, changes: int) -> str | None:
        t = time.monotonic()
        async with self.db.read_inline() as conn:
            app = await q.get(conn, app_id)
        status = app["status"] if app else None
        if changes == self._changes:  # no change made here since the read began
            if len(self._status) > 10_000:
                self._status.clear()
            self._status[app_id] = (t + STATUS_TTL_S, status)
        return status

    def _landed(self, app_id: int, flight: asyncio.Future[str | None]) -> None:
        if self._reading.get(app_id) is flight:
            del self._reading[app_id]
        if not flight.cancelled():
            flight.exception()  # retrieved: a failed read is each waiter's error, not a log line

    def _forget(self, app_id: int) -> None:
        """Drop the cached status after a change made here; reads under way do not store."""
        self._changes += 1
        self._status.pop(app_id, None)
        self._reading.pop(app_id, None)

    async def get(self, app_id: int) -> dict[str, Any]:
        async with self.db.read() as conn:
            app = await q.get(conn, app_id)
        if app is None:
            raise VodError("InvalidParameterValue.SubAppId", f"Unknown application `{app_id}`.")
        return app

    async def create(self, name: str, description: str, mode: str) -> int:
        async with self.db.tx() as conn:
            app_id = await q.next_id(conn, FIRST_SUB_APP_ID)
            await q.create(conn, **_new_app(app_id, name, description, mode))
        self._forget(app_id)
        return app_id

    async def listing(
        self, name: str | None, offset: int, limit: int
    ) -> tuple[list[dict[str, Any]], int]:
        async with self.db.read() as conn:
            return await q.listing(conn, name=name, offset=offset, limit=limit)

    async def modify(self, app_id: int, **values: Any) -> None:
        changes = {k: v for k, v in values.items() if v is not None}
        if not changes:
            return
        async with self.db.tx() as conn:
            await q.modify(conn, app_id, update_time=now(), **changes)
        self._forget(app_id)

    async def set_status(self, app_id: int, status: str) -> None:
        if app_id == self.default_app_id and status != "On":
            raise VodError(
                "UnsupportedOperation", "The default application cannot be disabled or destroyed."
            )
        async with self.db.tx() as conn:
            await q.modify(conn, app_id, status=status, update_time=now())
        self._forget(app_id)


def _new_app(app_id: int, name: str, description: str, mode: str) -> dict[str, Any]:
    """A new application: enabled, events pulled (reliable callback), switches off."""
    t = now()
    return {
        "id": app_id,
        "name": name,
        "description": description,
        "status": "On",
        "mode": mode,
        "create_time": t,
        "update_time": t,
        "event_mode": "PULL",
        "notification_url": "",
        "upload_event_switch": "OFF",
        "delete_event_switch": "OFF",
        "sign_key": "",
    }
