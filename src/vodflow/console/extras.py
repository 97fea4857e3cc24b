"""Console views the API has no action for; they read the same services the actions do.

- ConsolePeekEvents: the PULL backlog with each event's body, without pulling it
  (PullEvents would lease the events and hide them from the app for a while).
- ConsoleTaskEvents: the ProcedureStateChanged events of one task flow, exactly as
  stored and delivered.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import Field, ValidationError

from vodflow.api import envelope
from vodflow.api.server import resolve_app
from vodflow.core.credentials import Credential
from vodflow.timeutil import iso
from vodflow.wire.common import Request, Str

if TYPE_CHECKING:
    from vodflow.services import Services

Extra = Callable[["Services", Credential, dict[str, Any]], Awaitable[dict[str, Any]]]


class PeekRequest(Request):
    SubAppId: int | None = None
    Offset: int = Field(default=0, ge=0, le=100_000)
    Limit: int = Field(default=20, ge=1, le=100)


class TaskEventsRequest(Request):
    SubAppId: int | None = None
    TaskId: Str = Field(min_length=1, max_length=128)


T = TypeVar("T", bound=Request)


def _parse(model: type[T], raw: dict[str, Any]) -> T:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise envelope.from_validation(exc) from None


def _item(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "EventId": row["id"],
        "EventType": row["event_type"],
        "Mode": row["mode"],
        "CreateTime": iso(row["create_time"]),
        "Pulled": row["attempts"],
        "EventContent": json.loads(row["body"]),
    }


async def peek_events(
    services: Services, credential: Credential, raw: dict[str, Any]
) -> dict[str, Any]:
    req = _parse(PeekRequest, raw)
    app_id = await resolve_app(services, credential, req.SubAppId, False)
    rows, _total = await services.events.deliveries(
        app_id,
        offset=req.Offset,
        limit=req.Limit,
        status="PENDING",
        event_types=None,
        start=None,
        end=None,
    )
    pull = [r for r in rows if r["mode"] == "PULL"]
    backlog = await services.events.queue.count(app_id)
    return {"CountOfEventsToPull": backlog, "EventSet": [_item(r) for r in pull]}


async def task_events(
    services: Services, credential: Credential, raw: dict[str, Any]
) -> dict[str, Any]:
    req = _parse(TaskEventsRequest, raw)
    app_id = await resolve_app(services, credential, req.SubAppId, False)
    rows, _total = await services.events.deliveries(
        app_id,
        offset=0,
        limit=100,
        event_types=["ProcedureStateChanged"],
        status=None,
        start=None,
        end=None,
    )
    mine = []
    for r in rows:
        body = json.loads(r["body"])
        if (body.get("ProcedureStateChangeEvent") or {}).get("TaskId") == req.TaskId:
            mine.append(_item(r))
    return {"EventSet": mine}


EXTRAS: dict[str, Extra] = {
    "ConsolePeekEvents": peek_events,
    "ConsoleTaskEvents": task_events,
}
