"""Server-Sent Events of task flows: the browser's list and flow pages move by themselves.

The stream reads the tasks through the API's own DescribeTasks and DescribeTaskDetail
(so what it shows is what the API answers) about once a second, and sends a frame
only when something changed. A stream lives at most MAX_S; EventSource reconnects.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from vodflow import ids
from vodflow.api import envelope
from vodflow.api.server import dispatch
from vodflow.console import session
from vodflow.core.credentials import Credential
from vodflow.errors import VodError

if TYPE_CHECKING:
    from vodflow.services import Services

TICK_S = 0.5
MAX_S = 300.0
LIST_LIMIT = 20
LIVE = {"WAITING", "PROCESSING"}


async def _call(
    services: Services, cred: Credential, action: str, raw: dict[str, Any]
) -> dict[str, Any]:
    """`cred`: the session; calls run as its acting credential, on its own rate budget."""
    acting = session.acting(cred, services.credentials)
    result = await dispatch(
        services, acting, action, raw, ids.request_id(), limit_key=cred.secret_id
    )
    return envelope.as_dict(result)


async def _snapshot(
    services: Services, cred: Credential, sub_app: int | None, task_id: str | None
) -> dict[str, Any]:
    scope = {} if sub_app is None else {"SubAppId": sub_app}
    if task_id:
        detail = await _call(services, cred, "DescribeTaskDetail", {**scope, "TaskId": task_id})
        return {"TaskId": task_id, "Detail": detail}
    listing = await _call(services, cred, "DescribeTasks", {**scope, "Limit": LIST_LIMIT})
    tasks = listing.get("TaskSet", [])
    for task in tasks:
        if task.get("Status") in LIVE:
            detail = await _call(
                services, cred, "DescribeTaskDetail", {**scope, "TaskId": task["TaskId"]}
            )
            task["Detail"] = detail
    return {"TaskSet": tasks}


def _frame(data: dict[str, Any], event: str = "message") -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


async def live_stream(request: Request, services: Services, cred: Credential) -> Response:
    sub_raw = request.query_params.get("SubAppId", "")
    sub_app = int(sub_raw) if sub_raw.isdigit() and len(sub_raw) < 19 else None
    task_id = request.query_params.get("TaskId", "")[:128] or None

    async def frames() -> AsyncIterator[bytes]:
        last = ""
        until = time.monotonic() + MAX_S
        yield b"retry: 1000\n\n"
        while time.monotonic() < until:
            if await session.current(request, services.credentials) is None:
                yield _frame({"Code": "AuthFailure.SessionExpired"}, "error")
                return
            try:
                snap = await _snapshot(services, cred, sub_app, task_id)
            except VodError as exc:
                yield _frame({"Code": exc.code, "Message": exc.message}, "error")
                return
            text = json.dumps(snap, sort_keys=True)
            if text != last:
                last = text
                yield _frame(snap)
            else:
                yield b": tick\n\n"
            if await request.is_disconnected():
                return
            await asyncio.sleep(TICK_S)

    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(frames(), media_type="text/event-stream", headers=headers)
