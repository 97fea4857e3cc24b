"""The write lock's two lanes: urgent waiters first, FIFO within a lane, cancellation safe."""

from __future__ import annotations

import asyncio

import pytest

from vodflow.store.writelock import WriteLock


async def test_urgent_waiters_go_before_queued_ordinary_ones() -> None:
    lock = WriteLock()
    order: list[str] = []

    async def take(name: str, urgent: bool) -> None:
        async with lock.hold(urgent=urgent):
            order.append(name)
            await asyncio.sleep(0)

    async with lock.hold():
        tasks = [
            asyncio.create_task(take(name, name.startswith("u")))
            for name in ("n1", "n2", "u1", "n3", "u2")
        ]
        await asyncio.sleep(0)  # all queued behind the holder
        assert order == []
    await asyncio.gather(*tasks)
    assert order == ["u1", "u2", "n1", "n2", "n3"]
    assert not lock.locked()


async def test_a_cancelled_waiter_is_skipped_and_an_error_releases() -> None:
    lock = WriteLock()
    got: list[str] = []

    async def take(name: str) -> None:
        async with lock.hold():
            got.append(name)

    async def fail() -> None:
        async with lock.hold(urgent=True):
            raise RuntimeError("boom")

    async with lock.hold():
        gone = asyncio.create_task(take("gone"))
        failing = asyncio.create_task(fail())
        kept = asyncio.create_task(take("kept"))
        await asyncio.sleep(0)
        gone.cancel()
        await asyncio.sleep(0)
    with pytest.raises(RuntimeError):
        await failing
    await kept
    assert got == ["kept"] and gone.cancelled()
    assert not lock.locked()


async def test_cancelled_right_after_being_granted_passes_the_lock_on() -> None:
    lock = WriteLock()
    got: list[str] = []

    async def take(name: str) -> None:
        async with lock.hold():
            got.append(name)

    holder = lock.hold()
    await holder.__aenter__()
    first = asyncio.create_task(take("first"))
    second = asyncio.create_task(take("second"))
    await asyncio.sleep(0)
    await holder.__aexit__(None, None, None)  # grants `first`...
    first.cancel()  # ...which is cancelled before it runs
    await asyncio.gather(first, second, return_exceptions=True)
    assert got == ["second"] and first.cancelled()
    assert not lock.locked()
