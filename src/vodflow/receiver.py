"""Verify a normal callback (PUSH) on your own server: `verify(body, sign_key)`.

vodflow (like Tencent VOD) signs each POST when the application has a SignKey:
the JSON body carries `T` (unix time at which the notification expires, sent as
now + 600) and `Sign` = lowercase hex MD5 of SignKey + T. Check both: the Sign
proves the sender knows the key, T stops replays of old notifications.

    from vodflow.receiver import verify, InvalidCallback
    event = verify(request_body_bytes, "MySignKey1")   # raises InvalidCallback
    if event["EventType"] == "ProcedureStateChanged": ...

Delivery is at least once and in no promised order: deduplicate on the event's
own ids (TaskId, FileId) or the `X-Vodflow-Event-Id` header.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

# T is sent as now + 600; allow a little clock skew on top of that.
MAX_T_AHEAD_S = 600 + 300


class InvalidCallback(ValueError):
    """The body is not a well-formed, correctly signed, unexpired notification."""


def expected_sign(sign_key: str, t: int | str) -> str:
    return hashlib.md5(f"{sign_key}{t}".encode(), usedforsecurity=False).hexdigest()


def verify(
    body: bytes | str | dict[str, Any], sign_key: str, now: float | None = None
) -> dict[str, Any]:
    """The event (EventType + its object, without T and Sign) of a valid notification.

    With an empty `sign_key` only the shape is checked (for apps without a key).
    """
    if isinstance(body, dict):
        event = dict(body)
    else:
        try:
            event = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise InvalidCallback("the body is not JSON") from exc
    if not isinstance(event, dict) or not isinstance(event.get("EventType"), str):
        raise InvalidCallback("the body is not an event (no EventType)")
    t = event.pop("T", None)
    sign = event.pop("Sign", None)
    if not sign_key:
        return event
    if isinstance(t, bool) or not isinstance(t, int | str) or not str(t).isdigit():
        raise InvalidCallback("T is missing or not a unix time")
    if not isinstance(sign, str) or not hmac.compare_digest(sign, expected_sign(sign_key, t)):
        raise InvalidCallback("Sign does not match the SignKey")
    current = time.time() if now is None else now
    if int(t) < current:
        raise InvalidCallback("the notification expired (T is in the past): a replay?")
    if int(t) > current + MAX_T_AHEAD_S:
        raise InvalidCallback("T is too far in the future")
    return event
