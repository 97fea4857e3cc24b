"""The events service: configuration, the pull queue, the relay and history, in one place.

Built by the composition root; actions and the CLI reach everything about event
notification through `services.events`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from vodflow.config import Settings
from vodflow.core import events as core
from vodflow.core.apps import AppService
from vodflow.core.faults import FaultBook
from vodflow.errors import VodError
from vodflow.notify.pg_wakeup import wakeup_backend
from vodflow.notify.pull import PullQueue
from vodflow.notify.push import PushRelay
from vodflow.notify.retention import RetentionSweeper
from vodflow.notify.wakeup import Hub
from vodflow.store import apps as apps_q
from vodflow.store import events as q
from vodflow.store.db import Database
from vodflow.timeutil import now


class EventsService:
    def __init__(
        self, db: Database, settings: Settings, apps: AppService, faults: FaultBook
    ) -> None:
        self.db = db
        self.settings = settings
        self.apps = apps
        self.hub = Hub()
        # In-process hooks on SQLite; LISTEN/NOTIFY across processes on PostgreSQL.
        self.wakeup = wakeup_backend(db.url)
        self.wakeup.attach(db.engine, self.hub)
        self.queue = PullQueue(
            db,
            self.hub,
            visibility_s=settings.pull_visibility_s,
            wait_s=settings.pull_wait_s,
            faults=faults,
        )
        self.relay = PushRelay(db, self.hub, settings, faults)
        self.sweeper = RetentionSweeper(
            db, settings.event_retention_s, settings.event_purge_interval_s
        )

    async def start(self) -> None:
        """Bind wake-ups to the running loop (the relay and sweeper start on their own)."""
        import asyncio

        self.hub.bind(asyncio.get_running_loop())
        await self.wakeup.start()

    async def stop(self) -> None:
        await self.wakeup.stop()
        self.queue.close()

    # ------------------------------------------------------------ configuration

    async def modify_config(
        self,
        app_id: int,
        *,
        mode: str | None = None,
        notification_url: str | None = None,
        upload_switch: str | None = None,
        delete_switch: str | None = None,
        sign_key: str | None = None,
    ) -> None:
        changes: dict[str, Any] = {}
        if mode is not None:
            changes["event_mode"] = mode
        if notification_url is not None:
            changes["notification_url"] = await core.check_notification_url(
                notification_url, allow_private=self.settings.allow_private_urls
            )
        if upload_switch is not None:
            changes["upload_event_switch"] = upload_switch
        if delete_switch is not None:
            changes["delete_event_switch"] = delete_switch
        if sign_key is not None:
            changes["sign_key"] = core.check_sign_key(sign_key)
        if not changes:
            return
        async with self.db.tx() as conn:
            await apps_q.modify(conn, app_id, update_time=now(), **changes)
        self.relay.kick()  # a new URL or key applies to pending deliveries at once

    async def config(self, app_id: int) -> dict[str, Any]:
        return await self.apps.get(app_id)

    # ------------------------------------------------------------ history

    async def deliveries(
        self, app_id: int, *, offset: int, limit: int, **filters: Any
    ) -> tuple[list[dict[str, Any]], int]:
        """Events with their attempts (newest first)."""
        async with self.db.read() as conn:
            rows, total = await q.listing(conn, app_id, offset=offset, limit=limit, **filters)
            attempts = await q.attempts_of(conn, [r["id"] for r in rows])
        for r in rows:
            r["attempt_log"] = attempts.get(r["id"], [])
        return rows, total

    async def redeliver(self, app_id: int, event_ids: Sequence[int]) -> None:
        ids = list(dict.fromkeys(event_ids))
        async with self.db.tx() as conn:
            found = await q.existing_ids(conn, app_id, ids)
            missing = [i for i in ids if i not in found]
            if missing:
                raise VodError(
                    "InvalidParameterValue",
                    f"The event ids {missing[:5]} do not exist in this application.",
                )
            await q.redeliver(conn, app_id, ids, now())
            conn.info.setdefault(q.PENDING_KEY, set()).add(app_id)
        # Its PUSH events may be of an application that has since left PUSH mode.
        self.relay.kick()
