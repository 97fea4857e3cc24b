"""The application status behind every request: one read for many requests, fresh after changes.

Real SQLite; the statements the engine runs are counted from its own events.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from tests.events_support import running_services
from vodflow.errors import VodError

APP = 1250000000


def _count_app_reads(services: Any) -> list[str]:
    """Reads of the apps table, through the engine or inline (plain sqlite3, store/inline.py)."""
    seen: list[str] = []

    def _seen(statement: str) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "FROM apps" in statement:
            seen.append(statement)

    @event.listens_for(services.db.engine.sync_engine, "before_cursor_execute")
    def _engine(_conn: Any, _cursor: Any, statement: str, *_a: Any) -> None:
        _seen(statement)

    # The inline readers kept idle for reuse (one is enough for reads one at a time).
    for raw in services.db._inline_idle:
        raw.set_trace_callback(_seen)
    return seen


async def test_many_requests_finding_it_stale_read_it_once(tmp_path: Path) -> None:
    async with running_services(tmp_path) as s:
        await s.apps.resolve(None)  # an inline reader exists and is idle
        reads = _count_app_reads(s)
        for _ in range(2):  # twice: a stale entry, then an expired one, behave alike
            s.apps._status.clear()
            answers = await asyncio.gather(*(s.apps.resolve(None) for _ in range(500)))
            assert answers == [APP] * 500
        assert len(reads) == 2


async def test_a_change_made_here_is_seen_at_once_even_during_a_read(tmp_path: Path) -> None:
    async with running_services(tmp_path) as s:
        new = await s.apps.create("second", "", "fileid")
        assert await s.apps.resolve(new) == new
        s.apps._status.clear()
        reading = asyncio.gather(*(s.apps.resolve(new) for _ in range(50)), return_exceptions=True)
        await asyncio.sleep(0)  # the read has begun (it may see the change or not)
        await s.apps.set_status(new, "Off")
        await reading
        with pytest.raises(VodError) as info:
            await s.apps.resolve(new)  # after it: refused, not the read's stale "On"
        assert info.value.code == "UnauthorizedOperation"
        assert await s.apps.resolve(new, allow_disabled=True) == new


async def test_an_unknown_application_is_refused_to_every_waiter(tmp_path: Path) -> None:
    async with running_services(tmp_path) as s:
        s.apps._status.clear()
        with pytest.raises(VodError):
            await asyncio.gather(*(s.apps.resolve(1599999999) for _ in range(20)))
        assert not s.apps._reading
        assert await s.apps.resolve(None) == APP
