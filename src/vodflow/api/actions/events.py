"""Event notification: ModifyEventConfig, DescribeEventConfig, PullEvents, ConfirmEvents,
DescribeEventsState, and the vodflow extensions DescribeEventDeliveries, RedeliverEvents."""

from __future__ import annotations

from typing import Any

from vodflow.api.envelope import RawPayload
from vodflow.api.registry import Context, action
from vodflow.errors import invalid_value
from vodflow.notify.service import EventsService
from vodflow.status import DeliveryStatus
from vodflow.timeutil import iso, parse_iso
from vodflow.wire.events import (
    ConfirmEventsRequest,
    DescribeEventConfigRequest,
    DescribeEventDeliveriesRequest,
    DescribeEventsStateRequest,
    ModifyEventConfigRequest,
    PullEventsRequest,
    RedeliverEventsRequest,
)


def _events(ctx: Context) -> EventsService:
    return ctx.services.events


@action()
async def ModifyEventConfig(ctx: Context, req: ModifyEventConfigRequest) -> dict[str, Any]:
    await _events(ctx).modify_config(
        ctx.app_id,
        mode=req.Mode,
        notification_url=req.NotificationUrl,
        upload_switch=req.UploadMediaCompleteEventSwitch,
        delete_switch=req.DeleteMediaCompleteEventSwitch,
        sign_key=req.SignKey,
    )
    return {}


@action()
async def DescribeEventConfig(ctx: Context, req: DescribeEventConfigRequest) -> dict[str, Any]:
    app = await _events(ctx).config(ctx.app_id)
    return {
        "Mode": app["event_mode"],
        "NotificationUrl": app["notification_url"],
        "UploadMediaCompleteEventSwitch": app["upload_event_switch"],
        "DeleteMediaCompleteEventSwitch": app["delete_event_switch"],
        "PersistenceCompleteEventSwitch": "OFF",
    }


@action()
async def PullEvents(ctx: Context, req: PullEventsRequest) -> RawPayload:
    pulled = await _events(ctx).queue.pull(ctx.app_id)
    # Stored bodies are compact EventContent objects (UTF-8 bytes, as read from the
    # store): splice the handle in front.
    items = b",".join(b'{"EventHandle":"%s",%s' % (e.handle.encode(), e.body[1:]) for e in pulled)
    return RawPayload(b'"EventSet":[%s]' % items)


@action()
async def ConfirmEvents(ctx: Context, req: ConfirmEventsRequest) -> dict[str, Any]:
    await _events(ctx).queue.confirm(ctx.app_id, req.EventHandles)
    return {}


@action()
async def DescribeEventsState(ctx: Context, req: DescribeEventsStateRequest) -> dict[str, Any]:
    return {"CountOfEventsToPull": await _events(ctx).queue.count(ctx.app_id)}


def _status(row: dict[str, Any]) -> str:
    if row["mode"] == "PUSH":
        return str(row["delivery_status"])
    return DeliveryStatus.DELIVERED if row["confirmed_at"] is not None else DeliveryStatus.PENDING


def _attempt(a: dict[str, Any]) -> dict[str, Any]:
    out = {
        "Time": iso(a["attempt_time"]),
        "Url": a["url"],
        "StatusCode": a["status_code"],
        "LatencyMs": a["latency_ms"],
        "Error": a["error"],
        "ResponseHead": a["response_head"],
    }
    return {k: v for k, v in out.items() if v is not None}


@action(extension=True)
async def DescribeEventDeliveries(
    ctx: Context, req: DescribeEventDeliveriesRequest
) -> dict[str, Any]:
    start = parse_iso(req.StartTime, "StartTime") if req.StartTime else None
    end = parse_iso(req.EndTime, "EndTime") if req.EndTime else None
    if start is not None and end is not None and end < start:
        raise invalid_value("EndTime", "earlier than StartTime")
    rows, total = await _events(ctx).deliveries(
        ctx.app_id,
        offset=req.Offset,
        limit=req.Limit,
        event_types=req.EventTypes,
        status=req.Status,
        start=start,
        end=end,
    )
    items = []
    for r in rows:
        item = {
            "EventId": r["id"],
            "EventType": r["event_type"],
            "Mode": r["mode"],
            "Status": _status(r),
            "CreateTime": iso(r["create_time"]),
            "Attempts": r["attempts"],
            "NextAttemptTime": iso(r["next_attempt_at"]) if r["mode"] == "PUSH" else None,
            "DeliveredTime": iso(r["delivered_at"] or r["confirmed_at"]),
            "AttemptSet": [_attempt(a) for a in r["attempt_log"]],
        }
        items.append({k: v for k, v in item.items() if v is not None})
    return {"TotalCount": total, "EventDeliverySet": items}


@action(extension=True)
async def RedeliverEvents(ctx: Context, req: RedeliverEventsRequest) -> dict[str, Any]:
    await _events(ctx).redeliver(ctx.app_id, req.EventIds)
    return {}
