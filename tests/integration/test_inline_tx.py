"""`Database.tx_inline` (a flow's own transactions on SQLite, on the event loop's thread)
commits, rolls back and wakes event waiters exactly as `tx` does.

Its connections are not the async engine's, so the commit hooks that wake held
PullEvents and the push relay (notify/wakeup.py, attached to the async engine) are
called for them by store/db.py: an event committed inline must wake, one rolled back
must not, and the write lock must be free again after either.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.events_support import running_services, seed_task
from vodflow.app import Services
from vodflow.core import events
from vodflow.store import apps as apps_q
from vodflow.store.schema import events as events_table


@pytest.fixture
async def services(tmp_path: Path) -> AsyncIterator[Services]:
    async with running_services(tmp_path / "data") as s:
        yield s


async def count_events(services: Services) -> int:
    async with services.db.read() as conn:
        return int((await conn.execute(select(func.count()).select_from(events_table))).scalar())


async def test_an_event_committed_inline_wakes_and_one_rolled_back_does_not(
    services: Services,
) -> None:
    app_id = services.settings.app_id
    hub = services.events.hub
    before = await count_events(services)
    notices: list[set[int]] = []
    hub.listen(notices.append)

    with hub.waiter(app_id) as woken:
        with pytest.raises(RuntimeError):
            async with services.db.tx_inline() as conn:
                app = await apps_q.get(conn, app_id)
                assert app is not None
                await events.emit(conn, app, "ProcedureStateChanged", seed_task(1))
                raise RuntimeError("rolled back")
        assert not woken.is_set() and notices == []
        assert await count_events(services) == before

        async with services.db.tx_inline() as conn:  # the write lock is free again
            app = await apps_q.get(conn, app_id)
            assert app is not None
            await events.emit(conn, app, "ProcedureStateChanged", seed_task(2))
        async with asyncio.timeout(5):
            await woken.wait()
    assert {app_id} in notices
    assert await count_events(services) == before + 1


async def test_inline_and_ordinary_transactions_take_turns(services: Services) -> None:
    """Both hold the one write lock: interleaved, every write lands, none is refused."""
    app_id = services.settings.app_id

    async def write(n: int, inline: bool) -> None:
        tx = services.db.tx_inline() if inline else services.db.tx()
        async with tx as conn:
            app = await apps_q.get(conn, app_id)
            assert app is not None
            await events.emit(conn, app, "ProcedureStateChanged", seed_task(n))
            await asyncio.sleep(0)  # let the other kind queue behind this one

    before = await count_events(services)
    await asyncio.gather(*(write(n, n % 2 == 0) for n in range(40)))
    assert await count_events(services) == before + 40
