"""EventHandles: opaque to the app, the pull's random token followed by the event id."""

from __future__ import annotations

import re
import secrets

HANDLE_TOKEN_LEN = 16
_HEX = re.compile(r"^[0-9a-f]+$")


def new_token() -> str:
    """The random part of the EventHandles of one pull (fresh on every pull)."""
    return secrets.token_hex(HANDLE_TOKEN_LEN // 2)


def make_handle(token: str, event_id: int) -> str:
    """An opaque EventHandle: the pull's token followed by the event id in hex."""
    return f"{token}{event_id:x}"


def parse_handle(handle: str) -> tuple[int, str] | None:
    """(event id, token) of a handle vodflow made, or None for anything else."""
    if len(handle) <= HANDLE_TOKEN_LEN or len(handle) > 64 or not _HEX.match(handle):
        return None
    return int(handle[HANDLE_TOKEN_LEN:], 16), handle[:HANDLE_TOKEN_LEN]
