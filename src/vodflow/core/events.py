"""The transactional outbox: events are rows written with the change causing them.

`emit` runs inside the caller's transaction; nothing is sent before it commits.
Whether the row is queued for PullEvents (PULL) or for the push relay (PUSH) is
decided here from the application's configuration at the time of the change.
After commit, the store's commit hook wakes whoever waits for this application.
EventHandles and push signing are delivery's (notify/handles.py, notify/signing.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from vodflow import net_policy
from vodflow.errors import invalid_value
from vodflow.status import DeliveryStatus
from vodflow.store import events as q
from vodflow.store.db import Writer
from vodflow.timeutil import now
from vodflow.wire.common import dump_clean
from vodflow.wire.events import EVENT_FIELDS, MAX_URL_LEN


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
    conn: Writer, app: Mapping[str, Any], event_type: str, payload: Mapping[str, Any]
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
        delivery_status=DeliveryStatus.PENDING if mode == "PUSH" else None,
        next_attempt_at=t if mode == "PUSH" else None,
        attempts=0,
    )
    if mode == "PULL":
        await q.add_lease(conn, event_id, app["id"], t)
    conn.info.setdefault(q.PENDING_KEY, set()).add(app["id"])
    return event_id


# ------------------------------------------------------------------ configuration

SIGN_KEY_RE = re.compile(r"^[A-Za-z0-9]{0,32}$")


def check_sign_key(value: str) -> str:
    if not SIGN_KEY_RE.match(value):
        raise invalid_value("SignKey", "letters and digits only, at most 32 characters")
    return value


async def check_notification_url(url: str, *, allow_private: bool) -> str:
    """An http(s) URL with a host; private, loopback and link-local hosts refused."""
    if url == "":
        return url
    if len(url) > MAX_URL_LEN:
        raise invalid_value("NotificationUrl", f"at most {MAX_URL_LEN} characters")
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise invalid_value("NotificationUrl", "not a valid URL") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise invalid_value("NotificationUrl", "an http:// or https:// URL with a host")
    if any(c.isspace() or ord(c) < 32 for c in url):
        raise invalid_value("NotificationUrl", "no spaces or control characters")
    if parts.username or parts.password:
        raise invalid_value("NotificationUrl", "no user name or password in the URL")
    if allow_private:
        return url
    try:
        await net_policy.resolve_allowed(parts.hostname, port, allow_private=False, timeout=5.0)
    except (net_policy.AddressRefused, net_policy.Unresolvable):
        raise invalid_value(
            "NotificationUrl",
            "the host must resolve to public addresses only (private, loopback and "
            "link-local hosts are refused unless VODFLOW_ALLOW_PRIVATE_URLS=1)",
        ) from None
    return url
