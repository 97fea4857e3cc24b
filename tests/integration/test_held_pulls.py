"""Many held PullEvents: a commit wakes one of them, never all; nothing is lost on the way.

Real SQLite, real commits, real wake-ups (tests/events_support.running_services).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.events_support import emit_many, running_services
from vodflow.notify.pull import MAX_EVENTS, PulledEvent
from vodflow.notify.wakeup import Hub

APP = 1250000000
HELD = 200


async def _settled(
    tasks: list[asyncio.Task[list[PulledEvent]]], done: int, timeout: float = 60.0
) -> None:
    """Wait until `done` of the tasks are done (generous: a shared, loaded machine)."""
    async with asyncio.timeout(timeout):
        while sum(t.done() for t in tasks) < done:
            await asyncio.sleep(0.02)


async def _held(
    s: object, tasks: list[asyncio.Task[list[PulledEvent]]], timeout: float = 60.0
) -> None:
    hub: Hub = s.events.hub  # type: ignore[attr-defined]
    async with asyncio.timeout(timeout):
        while len(hub._waiters.get(APP, ())) < len(tasks):
            await asyncio.sleep(0.02)


async def test_a_commit_wakes_one_held_pull_not_all(tmp_path: Path) -> None:
    async with running_services(tmp_path, pull_wait_s=120) as s:
        q = s.events.queue
        tasks = [asyncio.create_task(q.pull(APP)) for _ in range(HELD)]
        try:
            await _held(s, tasks)
            await emit_many(s, 1)
            await _settled(tasks, 1)
            await asyncio.sleep(0.5)  # time for any stray wake-up to show
            done = [t for t in tasks if t.done()]
            assert len(done) == 1
            (got,) = done[0].result()
            # The others are still held, and none of them is woken (claiming for nothing).
            assert len(s.events.hub._waiters[APP]) == HELD - 1
            assert not any(ev.is_set() for ev in s.events.hub._waiters[APP])
            await q.confirm(APP, [got.handle])
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


async def test_many_held_pulls_all_answered_and_nothing_lost(tmp_path: Path) -> None:
    """Commits one after another and a commit of more than one batch: every event reaches
    one held pull, each at most once, each pull at most MAX_EVENTS; the rest time out empty."""
    async with running_services(tmp_path, pull_wait_s=8, pull_visibility_s=300) as s:
        q = s.events.queue
        tasks = [asyncio.create_task(q.pull(APP)) for _ in range(HELD)]
        await _held(s, tasks)
        for i in range(20):  # 20 commits of one event, as fast as they come
            await emit_many(s, 1, start=i)
        await emit_many(s, 5 * MAX_EVENTS + 3, start=100)  # one commit, six batches
        results = await asyncio.gather(*tasks)  # every held pull is answered
        ids = [e.event_id for batch in results for e in batch]
        assert len(ids) == len(set(ids)) == 20 + 5 * MAX_EVENTS + 3
        assert all(len(batch) <= MAX_EVENTS for batch in results)
        assert sum(1 for batch in results if not batch) >= HELD - 20 - 6
        assert s.events.hub._waiters.get(APP) is None  # every waiter left


def test_hub_wakes_the_oldest_and_hands_on_a_wake_not_acted_on() -> None:
    hub = Hub()
    enter = [hub.waiter(APP) for _ in range(3)]
    a, b, c = (cm.__enter__() for cm in enter)
    hub.notify({APP})
    assert a.is_set() and not b.is_set() and not c.is_set()  # one: the oldest
    hub.notify({APP})
    assert b.is_set() and not c.is_set()  # `a` is woken already: the next one
    b.clear()  # `b` acts on its wake (it reads) ...
    enter[1].__exit__(None, None, None)  # ... and leaves: nothing to hand on
    assert not c.is_set()
    enter[0].__exit__(None, None, None)  # `a` leaves with a wake it did not act on
    assert c.is_set()  # handed on
    enter[2].__exit__(None, None, None)
    assert not hub.waiting(APP)


async def test_a_cancelled_woken_pull_hands_its_wake_on(tmp_path: Path) -> None:
    async with running_services(tmp_path, pull_wait_s=120) as s:
        q = s.events.queue
        first = asyncio.create_task(q.pull(APP))
        await _held(s, [first])
        second = asyncio.create_task(q.pull(APP))
        await _held(s, [first, second])

        # An event commits, the oldest pull is woken, and its client goes away before it
        # claims (hub listeners run right after the wake): the next held pull gets it.
        def cancel_first(_ids: set[int]) -> None:
            first.cancel()

        s.events.hub.listen(cancel_first)
        await emit_many(s, 1)
        got = await asyncio.wait_for(second, 60)
        assert len(got) == 1
        assert first.cancelled()


async def test_pulls_arriving_together_at_an_empty_queue_look_once(tmp_path: Path) -> None:
    """No claim transaction each: one shared look for visible events (on PostgreSQL each
    claim would take a pool connection; 10,000 at once timed the pool out)."""
    async with running_services(tmp_path, pull_wait_s=120) as s:
        q = s.events.queue
        statements: list[str] = []
        assert q._fast is not None
        q._fast.conn.set_trace_callback(statements.append)
        tasks = [asyncio.create_task(q.pull(APP)) for _ in range(HELD)]
        try:
            await _held(s, tasks)
            claims = [x for x in statements if x.lstrip().startswith("UPDATE pull_leases")]
            looks = [x for x in statements if x.lstrip().startswith("SELECT 1 FROM pull_leases")]
            assert claims == [] and 1 <= len(looks) < 10
            await emit_many(s, 1)  # a commit: the woken pull claims at once
            await _settled(tasks, 1)
            (got,) = next(t for t in tasks if t.done()).result()
            await q.confirm(APP, [got.handle])
        finally:
            q._fast.conn.set_trace_callback(None)
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
