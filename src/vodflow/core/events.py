"""The transactional outbox: events are rows written with the change causing them.

`emit` runs inside the caller's transaction; nothing is sent before it commits.
Whether the row is queued for PullEvents (PULL) or for the push relay (PUSH) is
decided here from the application's configuration at the time of the change.
After commit, the store's commit hook wakes whoever waits for this application.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from vodflow.store import events as q
from vodflow.timeutil import now
from vodflow.wire.common import dump_clean

# EventType -> the EventContent field that carries its object.
EVENT_FIELDS = {
    "NewFileUpload": "FileUploadEvent",
    "ProcedureStateChanged": "ProcedureStateChangeEvent",
    "FileDeleted": "FileDeleteEvent",
    "PullComplete": "PullCompleteEvent",
}

# Per-connection set of application ids that got events in this transaction.
PENDING_KEY = "vodflow.pending_events"


def event_content(event_type: str, payload: Mapping[str, Any]) -> dict[str, Any]:
    """Tencent's EventContent (without EventHandle), nulls omitted."""
    return {"EventType": event_type, EVENT_FIELDS[event_type]: dump_clean(dict(payload))}


def wanted(app: Mapping[str, Any], event_type: str) -> bool:
    """Whether the application's switches let this kind of event through."""
    if event_type == "NewFileUpload":
        return bool(app["upload_event_switch"] == "ON")
    if event_type == "FileDeleted":
        return bool(app["delete_event_switch"] == "ON")
    return True


async def emit(
    conn: AsyncConnection, app: Mapping[str, Any], event_type: str, payload: Mapping[str, Any]
) -> int | None:
    """Write one event to the outbox in the caller's transaction; its id, or None."""
    if not wanted(app, event_type):
        return None
    t = now()
    mode = app["event_mode"]
    body = json.dumps(event_content(event_type, payload), ensure_ascii=False, separators=(",", ":"))
    event_id = await q.add(
        conn,
        app_id=app["id"],
        event_type=event_type,
        body=body,
        mode=mode,
        create_time=t,
        visible_at=t if mode == "PULL" else None,
        delivery_status="PENDING" if mode == "PUSH" else None,
        next_attempt_at=t if mode == "PUSH" else None,
        attempts=0,
    )
    conn.info.setdefault(PENDING_KEY, set()).add(app["id"])
    return event_id
