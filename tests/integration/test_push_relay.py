"""The normal-callback relay in-process, delivering to real HTTP receivers on loopback."""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path

from tests.events_support import emit_many, receiver, running_services, wait_for
from vodflow.receiver import verify

APP = 1250000000
FAST = (0.2, 0.2, 0.2, 0.2, 0.2)


async def history(s, **filters):  # type: ignore[no-untyped-def]
    base = {"event_types": None, "status": None, "start": None, "end": None}
    rows, _ = await s.events.deliveries(APP, offset=0, limit=100, **(base | filters))
    return rows


async def test_500_three_times_then_200_is_delivered_after_four_attempts(tmp_path: Path) -> None:
    async with running_services(tmp_path, push_schedule_s=FAST) as s:
        with receiver(script=[500, 500, 500]) as rec:
            await s.events.modify_config(
                APP, mode="PUSH", notification_url=rec.url, sign_key="Key42"
            )
            before = time.time()
            await emit_many(s, 1)
            await wait_for(lambda: rec.bodies)
            body = rec.bodies[0]
            assert rec.hits == 4
            assert "EventHandle" not in body
            assert int(before) + 600 <= body["T"] <= time.time() + 600
            assert verify(body, "Key42")["EventType"] == "ProcedureStateChanged"
            assert rec.headers[0]["content-type"] == "application/json"
            await asyncio.sleep(0.3)  # the outcome is recorded just after the answer
            (row,) = await history(s)
            assert row["delivery_status"] == "DELIVERED" and row["attempts"] == 4
            codes = [a["status_code"] for a in row["attempt_log"]]
            assert codes == [500, 500, 500, 200]
            assert all(a["latency_ms"] is not None for a in row["attempt_log"])
            assert row["attempt_log"][0]["response_head"] == "nope"
            assert row["attempt_log"][-1]["error"] is None


async def test_a_receiver_that_is_down_gets_the_event_when_back(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/cb"
    async with running_services(tmp_path, push_schedule_s=(0.3,) * 20) as s:
        await s.events.modify_config(APP, mode="PUSH", notification_url=url)
        await emit_many(s, 3)
        await asyncio.sleep(1.0)  # several refused attempts
        rows = await history(s)
        assert all(r["delivery_status"] == "PENDING" and r["attempts"] >= 2 for r in rows)
        assert "ConnectError" in rows[0]["attempt_log"][0]["error"]
        # The receiver comes up on that very port.
        with receiver(port=port) as rec:
            await wait_for(lambda: len(rec.bodies) == 3)


async def test_gives_up_after_the_schedule_and_redeliver_restarts(tmp_path: Path) -> None:
    async with running_services(tmp_path, push_schedule_s=(0.1, 0.1)) as s:
        with receiver(default=503) as rec:
            await s.events.modify_config(APP, mode="PUSH", notification_url=rec.url)
            await emit_many(s, 1)
            await wait_for(lambda: rec.hits == 3)
            await asyncio.sleep(0.3)
            (row,) = await history(s, status="FAILED")
            assert row["attempts"] == 3
            rec.default = 200
            await s.events.redeliver(APP, [row["id"]])
            await wait_for(lambda: len(rec.bodies) == 1)
            await asyncio.sleep(0.2)
            assert (await history(s, status="DELIVERED"))[0]["id"] == row["id"]


async def test_a_slow_receiver_does_not_delay_others(tmp_path: Path) -> None:
    async with running_services(tmp_path, push_per_url=2, push_timeout_s=5.0) as s:
        other = await s.apps.create("fast", "", "fileid")
        with receiver(delay_s=2.0) as slow, receiver() as fast:
            await s.events.modify_config(APP, mode="PUSH", notification_url=slow.url)
            await s.events.modify_config(other, mode="PUSH", notification_url=fast.url)
            await emit_many(s, 20)  # the slow one's backlog, claimed first
            t = time.monotonic()
            await emit_many(s, 20, app_id=other)
            await wait_for(lambda: len(fast.bodies) == 20, timeout=10)
            elapsed = time.monotonic() - t
            # The slow URL's backlog needs 20 s; the fast one did not wait for it.
            assert elapsed < 5.0
            # And the slow URL never had more than its cap (2) in flight.
            assert slow.hits <= 2 * (int(elapsed // 2.0) + 1)


async def test_private_url_refused_at_delivery_when_not_allowed(tmp_path: Path) -> None:
    async with running_services(tmp_path, push_schedule_s=(5,)) as s:
        with receiver() as rec:
            await s.events.modify_config(APP, mode="PUSH", notification_url=rec.url)
            # The operator turns private URLs off after the URL was accepted.
            s.events.relay.settings = s.events.relay.settings.with_overrides(
                allow_private_urls=False
            )
            await emit_many(s, 1)
            await asyncio.sleep(0.5)
            (row,) = await history(s)
            assert rec.hits == 0
            assert "private" in row["attempt_log"][0]["error"]


async def test_no_url_is_an_attempt_that_fails_and_is_retried(tmp_path: Path) -> None:
    async with running_services(tmp_path, push_schedule_s=(0.2,) * 10) as s:
        await s.events.modify_config(APP, mode="PUSH")
        await emit_many(s, 1)
        await asyncio.sleep(0.4)
        (row,) = await history(s)
        assert row["delivery_status"] == "PENDING"
        assert row["attempt_log"][0]["error"] == "the application has no NotificationUrl"
        with receiver() as rec:
            await s.events.modify_config(APP, notification_url=rec.url)
            await wait_for(lambda: rec.bodies)


async def test_many_deliveries_in_flight(tmp_path: Path) -> None:
    async with running_services(tmp_path) as s:
        with receiver(delay_s=0.5) as rec:
            await s.events.modify_config(APP, mode="PUSH", notification_url=rec.url)
            await emit_many(s, 16)
            t = time.monotonic()
            await wait_for(lambda: len(rec.bodies) == 16)
            assert time.monotonic() - t < 4.0  # 16 x 0.5 s in parallel, not 8 s in a row
