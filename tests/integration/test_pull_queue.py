"""The reliable-callback queue in-process: real SQLite, real commits, real wake-ups."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from tests.events_support import emit_many, running_services
from vodflow.errors import VodError
from vodflow.store import apps as apps_q

APP = 1250000000


async def test_sixteen_cap_fresh_handles_and_confirm(tmp_path: Path) -> None:
    async with running_services(tmp_path, pull_wait_s=0.2) as s:
        q = s.events.queue
        await emit_many(s, 40)
        assert await q.count(APP) == 40
        first = await q.pull(APP)
        assert len(first) == 16
        assert len({e.handle for e in first}) == 16
        await q.confirm(APP, [e.handle for e in first])
        # Confirming again the same handles is harmless.
        await q.confirm(APP, [e.handle for e in first])
        assert await q.count(APP) == 24
        seen = {e.event_id for e in first}
        while got := await q.pull(APP, wait_s=0):
            assert not seen & {e.event_id for e in got}  # confirmed never come back
            seen |= {e.event_id for e in got}
            await q.confirm(APP, [e.handle for e in got])
        assert len(seen) == 40
        assert await q.count(APP) == 0


async def test_unconfirmed_event_comes_back_with_a_new_handle(tmp_path: Path) -> None:
    async with running_services(tmp_path, pull_wait_s=0.2, pull_visibility_s=0.6) as s:
        q = s.events.queue
        await emit_many(s, 1)
        (first,) = await q.pull(APP)
        assert await q.pull(APP, wait_s=0) == []  # leased: invisible to others
        t = time.monotonic()
        (again,) = await q.pull(APP, wait_s=3)  # a held pull catches the expiry
        assert 0.3 < time.monotonic() - t < 2.0
        assert again.event_id == first.event_id and again.handle != first.handle
        assert again.body == first.body
        # The first handle is stale now: refused, and the event stays unconfirmed.
        with pytest.raises(VodError) as info:
            await q.confirm(APP, [first.handle])
        assert info.value.code == "InvalidParameterValue"
        await q.confirm(APP, [again.handle])
        assert await q.count(APP) == 0


async def test_expired_handle_refused(tmp_path: Path) -> None:
    async with running_services(tmp_path, pull_wait_s=0.2, pull_visibility_s=0.3) as s:
        q = s.events.queue
        await emit_many(s, 2)
        got = await q.pull(APP)
        await asyncio.sleep(0.4)
        with pytest.raises(VodError) as info:
            await q.confirm(APP, [got[0].handle])
        assert "expired" in info.value.message
        assert await q.count(APP) == 2


async def test_partial_confirm_refuses_only_the_bad(tmp_path: Path) -> None:
    async with running_services(tmp_path, pull_wait_s=0.2) as s:
        q = s.events.queue
        await emit_many(s, 3)
        got = await q.pull(APP)
        forged = got[0].handle[:-1] + ("0" if got[0].handle[-1] != "0" else "1")
        with pytest.raises(VodError) as info:
            await q.confirm(APP, [got[1].handle, got[2].handle, "f" * 16 + "99999"])
        assert info.value.code == "InvalidParameterValue"
        with pytest.raises(VodError):
            await q.confirm(APP, ["not-a-handle"])
        # The good ones went through; the refused one's event is still to confirm.
        assert await q.count(APP) == 1
        await q.confirm(APP, [got[0].handle])
        assert forged != got[0].handle


async def test_idle_pull_waits_then_returns_empty(tmp_path: Path) -> None:
    async with running_services(tmp_path, pull_wait_s=1.0) as s:
        t = time.monotonic()
        assert await s.events.queue.pull(APP) == []
        assert 0.95 <= time.monotonic() - t < 2.0


async def test_commit_wakes_a_held_pull_at_once(tmp_path: Path) -> None:
    async with running_services(tmp_path, pull_wait_s=5.0) as s:
        q = s.events.queue
        lags = []
        for _ in range(2):  # measured the same way twice
            task = asyncio.create_task(q.pull(APP))
            await asyncio.sleep(0.3)
            assert not task.done()
            await emit_many(s, 1)
            committed = time.monotonic()
            got = await task
            lags.append(time.monotonic() - committed)
            assert len(got) == 1
            await q.confirm(APP, [got[0].handle])
        assert max(lags) < 0.1, lags


async def test_rolled_back_events_do_not_wake_or_exist(tmp_path: Path) -> None:
    async with running_services(tmp_path, pull_wait_s=0.6) as s:
        q = s.events.queue
        task = asyncio.create_task(q.pull(APP))
        await asyncio.sleep(0.1)
        with pytest.raises(RuntimeError):
            async with s.db.tx() as conn:
                app = await apps_q.get(conn, APP)
                from vodflow.core import events

                await events.emit(conn, app, "ProcedureStateChanged", {"TaskId": "x"})
                raise RuntimeError("abort")
        assert await task == []
        assert await q.count(APP) == 0


async def test_concurrent_pullers_get_disjoint_events(tmp_path: Path) -> None:
    async with running_services(tmp_path, pull_wait_s=0.2, pull_visibility_s=30) as s:
        q = s.events.queue
        await emit_many(s, 300)
        results = await asyncio.gather(*(q.pull(APP) for _ in range(30)))
        ids = [e.event_id for batch in results for e in batch]
        assert len(ids) == len(set(ids)) == 300


async def test_applications_are_isolated(tmp_path: Path) -> None:
    async with running_services(tmp_path, pull_wait_s=0.2) as s:
        q = s.events.queue
        other = await s.apps.create("other", "", "fileid")
        await emit_many(s, 5, app_id=other)
        await emit_many(s, 2)
        assert await q.count(other) == 5 and await q.count(APP) == 2
        mine = await q.pull(APP)
        theirs = await q.pull(other)
        assert len(mine) == 2 and len(theirs) == 5
        # A handle of another application is unknown here.
        with pytest.raises(VodError):
            await q.confirm(APP, [theirs[0].handle])
        await q.confirm(other, [theirs[0].handle])


async def test_switches_and_mode_decide_what_is_queued(tmp_path: Path) -> None:
    async with running_services(tmp_path, pull_wait_s=0.2) as s:
        q = s.events.queue
        await emit_many(s, 1, event_type="NewFileUpload")
        await emit_many(s, 1, event_type="FileDeleted")
        assert await q.count(APP) == 0  # both switches are OFF by default
        await s.events.modify_config(APP, upload_switch="ON", delete_switch="ON")
        await emit_many(s, 1, event_type="NewFileUpload")
        await emit_many(s, 1, event_type="FileDeleted")
        await emit_many(s, 1, event_type="PullComplete")
        got = await q.pull(APP)
        assert sorted(e.event_type for e in got) == ["FileDeleted", "NewFileUpload", "PullComplete"]


async def test_retention_purges_old_events(tmp_path: Path) -> None:
    async with running_services(
        tmp_path, pull_wait_s=0.2, event_retention_s=0.5, event_purge_interval_s=3600
    ) as s:
        await emit_many(s, 10)
        assert await s.events.sweeper.purge_once() == 0
        await asyncio.sleep(0.6)
        await emit_many(s, 3)
        assert await s.events.sweeper.purge_once() == 10
        assert await s.events.queue.count(APP) == 3


async def test_redeliver_requeues_a_confirmed_event(tmp_path: Path) -> None:
    async with running_services(tmp_path, pull_wait_s=0.2) as s:
        q = s.events.queue
        await emit_many(s, 1)
        (e,) = await q.pull(APP)
        await q.confirm(APP, [e.handle])
        await s.events.redeliver(APP, [e.event_id])
        (again,) = await q.pull(APP)
        assert again.event_id == e.event_id and again.handle != e.handle
        with pytest.raises(VodError):
            await s.events.redeliver(APP, [e.event_id + 1000])
