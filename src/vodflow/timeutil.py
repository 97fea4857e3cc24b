"""Tencent's time format: ISO 8601 in UTC with a Z, second precision."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from functools import lru_cache

from vodflow.errors import invalid_value


def now() -> float:
    return time.time()


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return _iso(ts)


# strftime costs microseconds and a read answers several times (create, begin, finish
# of a task and of each subtask) for rows read again and again: remember recent ones.
@lru_cache(maxsize=8192)
def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(value: str, field: str) -> float:
    """Parse an ISO 8601 time as Tencent accepts it (Z or an offset)."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise invalid_value(field, "expected ISO 8601 time, e.g. 2019-01-09T16:36:22Z") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()
